// The classic-control ports held to Gymnasium's equations from known states. Expected values
// come from a plain-Python transcription of gymnasium/envs/classic_control (float64), kept
// separate from the C++ port; the first CartPole case is also worked by hand in the comment.

#include "envs/classic/classic_control.h"

#include <gtest/gtest.h>

#include <cmath>

namespace linklab::envs::classic {
namespace {

constexpr double kTol = 1e-12;
constexpr double kPi = 3.14159265358979323846;

template <size_t N>
void ExpectState(const std::array<double, N>& got, const std::array<double, N>& want) {
  for (size_t i = 0; i < N; ++i) EXPECT_NEAR(got[i], want[i], kTol) << "element " << i;
}

TEST(CartPole, PushRightFromRest) {
  // temp = 10/1.1; thetaacc = -temp / (0.5 (4/3 - 0.1/1.1)) = -14.634146...;
  // xacc = temp - 0.05 thetaacc / 1.1 = 9.756097...; Euler with tau = 0.02.
  CartPole env;
  env.Reset(0);
  env.set_state({0, 0, 0, 0});
  const StepResult r = env.Step({1.0f});
  ExpectState(env.state(), {0.0, 0.1951219512195122, 0.0, -0.29268292682926828});
  EXPECT_EQ(r.reward, 1.0);
  EXPECT_FALSE(r.terminated);
  EXPECT_FLOAT_EQ(r.obs[1], 0.1951219512195122f);
}

TEST(CartPole, KnownStates) {
  CartPole env;
  env.Reset(0);
  env.set_state({0.1, -0.5, 0.05, 0.3});
  env.Step({0.0f});
  ExpectState(env.state(),
              {0.090000000000000011, -0.69579765464396259, 0.056, 0.60802331360615147});
  env.Reset(0);
  env.set_state({-1.0, 2.0, -0.15, -1.2});
  env.Step({1.0f});
  ExpectState(env.state(), {-0.96, 2.1967096752986648, -0.174, -1.5356860674755026});
}

TEST(CartPole, TerminatesPastThresholdsWithRewardOne) {
  CartPole env;
  env.Reset(0);
  env.set_state({2.39, 1.0, 0.0, 0.0});  // x moves to 2.41 > 2.4
  StepResult r = env.Step({1.0f});
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 1.0);
  env.Reset(0);
  env.set_state({0.0, 0.0, 0.2, 0.5});  // theta 0.21 > 12 degrees (0.2094)
  r = env.Step({0.0f});
  EXPECT_TRUE(r.terminated);
}

TEST(CartPole, ResetDrawsFromPlusMinusFiveHundredths) {
  CartPole env;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const ResetResult r = env.Reset(seed);
    for (float v : r.obs) {
      EXPECT_GE(v, -0.05f);
      EXPECT_LE(v, 0.05f);
    }
  }
}

TEST(Acrobot, RungeKuttaStepFromKnownStates) {
  Acrobot env;
  env.Reset(0);
  env.set_state({0, 0, 0, 0});
  StepResult r = env.Step({2.0f});
  ExpectState(env.state(), {-0.013262967177227795, 0.034287229347385442, -0.12866185280996106,
                            0.33450108998660194});
  EXPECT_EQ(r.reward, -1.0);
  EXPECT_FALSE(r.terminated);

  env.Reset(0);
  env.set_state({0.05, -0.08, 0.02, 0.01});
  env.Step({0.0f});
  ExpectState(env.state(), {0.059556389082230876, -0.099366264535858076, 0.072910010131736411,
                            -0.1986145812387213});
}

TEST(Acrobot, WrapsAnglesAndTerminatesWithZeroReward) {
  Acrobot env;
  env.Reset(0);
  env.set_state({3.0, 0.1, 5.0, -8.0});  // theta1 passes pi and wraps
  StepResult r = env.Step({1.0f});
  ExpectState(env.state(),
              {-2.2826659163683507, -1.4404683456345313, 5.1480232326231796, -7.2491906348253909});
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.reward, 0.0);
  // Observation: cos/sin of both angles and the two velocities.
  EXPECT_FLOAT_EQ(r.obs[0], static_cast<float>(std::cos(-2.2826659163683507)));
  EXPECT_FLOAT_EQ(r.obs[1], static_cast<float>(std::sin(-2.2826659163683507)));
  EXPECT_FLOAT_EQ(r.obs[5], static_cast<float>(-7.2491906348253909));
}

TEST(Acrobot, VelocitiesAreBounded) {
  Acrobot env;
  env.Reset(0);
  env.set_state({0.0, 0.0, 4 * kPi, 9 * kPi});
  env.Step({2.0f});
  EXPECT_LE(std::fabs(env.state()[2]), 4 * kPi);
  EXPECT_LE(std::fabs(env.state()[3]), 9 * kPi);
}

TEST(MountainCar, KnownStates) {
  MountainCar env;
  env.Reset(0);
  env.set_state({-0.5, 0.0});
  StepResult r = env.Step({2.0f});
  ExpectState(env.state(), {-0.49917684300416926, 0.00082315699583074275});
  EXPECT_EQ(r.reward, -1.0);
  EXPECT_FALSE(r.terminated);
  // The left wall stops the car.
  env.Reset(0);
  env.set_state({-1.19, -0.02});
  env.Step({0.0f});
  ExpectState(env.state(), {-1.2, 0.0});
  // Reaching the flag terminates.
  env.Reset(0);
  env.set_state({0.49, 0.02});
  r = env.Step({2.0f});
  ExpectState(env.state(), {0.51074843566653261, 0.020748435666532672});
  EXPECT_TRUE(r.terminated);
}

TEST(MountainCar, ResetPositionRange) {
  MountainCar env;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const ResetResult r = env.Reset(seed);
    EXPECT_GE(r.obs[0], -0.6f);
    EXPECT_LE(r.obs[0], -0.4f);
    EXPECT_EQ(r.obs[1], 0.0f);
  }
}

TEST(Pendulum, KnownStatesAndCosts) {
  struct Case {
    std::array<double, 2> s;
    float u;
    std::array<double, 2> next;
    double reward;
  };
  const Case cases[] = {
      {{kPi, 0.0}, 0.0f, {3.1415926535897931, 9.1848509936051509e-17}, -9.869604401089358},
      {{0.5, -1.0}, 1.5f, {0.47922845769765759, -0.41543084604684777}, -0.35224999999999995},
      {{-3.0, 7.9}, -2.0f, {-2.6252920003022449, 7.4941599939551002}, -15.244999999999999},
      {{7.0, 0.2}, 0.25f, {7.0365119974519548, 0.73023994903909184}, -0.51788580384322414},
  };
  Pendulum env;
  for (const Case& c : cases) {
    env.Reset(0);
    env.set_state(c.s);
    const StepResult r = env.Step({c.u});
    ExpectState(env.state(), c.next);
    EXPECT_NEAR(r.reward, c.reward, kTol);
    EXPECT_FALSE(r.terminated);
  }
}

TEST(Pendulum, GravityParameterChangesDynamics) {
  Pendulum earth(9.81), moon(1.62);
  earth.Reset(0);
  moon.Reset(0);
  earth.set_state({1.0, 0.0});
  moon.set_state({1.0, 0.0});
  earth.Step({0.0f});
  moon.Step({0.0f});
  // thdot' = 3 g / 2 sin(th) dt
  EXPECT_NEAR(earth.state()[1], 1.5 * 9.81 * std::sin(1.0) * 0.05, kTol);
  EXPECT_NEAR(moon.state()[1], 1.5 * 1.62 * std::sin(1.0) * 0.05, kTol);
}

}  // namespace
}  // namespace linklab::envs::classic
