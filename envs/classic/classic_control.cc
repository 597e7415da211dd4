#include "envs/classic/classic_control.h"

#include <cfloat>
#include <cmath>

#include "envs/registry.h"

namespace linklab::envs::classic {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

// ---------------------------------------------------------------------------------------------
// CartPole-v1

namespace cartpole {
constexpr double kGravity = 9.8, kMassCart = 1.0, kMassPole = 0.1;
constexpr double kTotalMass = kMassPole + kMassCart;
constexpr double kLength = 0.5;  // half the pole's length
constexpr double kPoleMassLength = kMassPole * kLength;
constexpr double kForceMag = 10.0, kTau = 0.02;
constexpr double kThetaThreshold = 12 * 2 * kPi / 360, kXThreshold = 2.4;
}  // namespace cartpole

CartPole::CartPole() {
  using namespace cartpole;
  const double big = FLT_MAX;
  obs_space_ = Space::Box({-kXThreshold * 2, -big, -kThetaThreshold * 2, -big},
                          {kXThreshold * 2, big, kThetaThreshold * 2, big});
  act_space_ = Space::Discrete(2);
}

Array CartPole::Observation() const {
  return {static_cast<float>(state_[0]), static_cast<float>(state_[1]),
          static_cast<float>(state_[2]), static_cast<float>(state_[3])};
}

ResetResult CartPole::DoReset(core::Rng& rng) {
  for (auto& s : state_) s = rng.Uniform(-0.05, 0.05);
  return {Observation(), {}};
}

StepResult CartPole::DoStep(const Array& action) {
  using namespace cartpole;
  auto [x, x_dot, theta, theta_dot] = state_;
  const double force = action[0] == 1.0f ? kForceMag : -kForceMag;
  const double costheta = std::cos(theta), sintheta = std::sin(theta);
  const double temp = (force + kPoleMassLength * theta_dot * theta_dot * sintheta) / kTotalMass;
  const double thetaacc = (kGravity * sintheta - costheta * temp) /
                          (kLength * (4.0 / 3.0 - kMassPole * costheta * costheta / kTotalMass));
  const double xacc = temp - kPoleMassLength * thetaacc * costheta / kTotalMass;
  // Explicit Euler: positions move with the old velocities.
  x = x + kTau * x_dot;
  x_dot = x_dot + kTau * xacc;
  theta = theta + kTau * theta_dot;
  theta_dot = theta_dot + kTau * thetaacc;
  state_ = {x, x_dot, theta, theta_dot};
  StepResult r;
  r.terminated =
      x < -kXThreshold || x > kXThreshold || theta < -kThetaThreshold || theta > kThetaThreshold;
  r.reward = 1.0;  // also on the terminating step, as in Gymnasium
  r.obs = Observation();
  return r;
}

// ---------------------------------------------------------------------------------------------
// Acrobot-v1

namespace acrobot {
constexpr double kDt = 0.2;
constexpr double kLink1 = 1.0, kMass1 = 1.0, kMass2 = 1.0;
constexpr double kCom1 = 0.5, kCom2 = 0.5, kMoi = 1.0, kGravity = 9.8;
constexpr double kMaxVel1 = 4 * kPi, kMaxVel2 = 9 * kPi;
constexpr double kTorques[3] = {-1.0, 0.0, 1.0};

double Wrap(double x, double m, double big_m) {
  const double diff = big_m - m;
  while (x > big_m) x -= diff;
  while (x < m) x += diff;
  return x;
}
}  // namespace acrobot

Acrobot::Acrobot() {
  using namespace acrobot;
  obs_space_ = Space::Box({-1, -1, -1, -1, -kMaxVel1, -kMaxVel2}, {1, 1, 1, 1, kMaxVel1, kMaxVel2});
  act_space_ = Space::Discrete(3);
}

Array Acrobot::Observation() const {
  const auto& s = state_;
  return {static_cast<float>(std::cos(s[0])), static_cast<float>(std::sin(s[0])),
          static_cast<float>(std::cos(s[1])), static_cast<float>(std::sin(s[1])),
          static_cast<float>(s[2]),           static_cast<float>(s[3])};
}

ResetResult Acrobot::DoReset(core::Rng& rng) {
  // Gymnasium draws the initial state as float32.
  for (auto& s : state_) s = static_cast<float>(rng.Uniform(-0.1, 0.1));
  return {Observation(), {}};
}

std::array<double, 4> Acrobot::Derivatives(const std::array<double, 4>& s, double a) {
  using namespace acrobot;
  const double m1 = kMass1, m2 = kMass2, l1 = kLink1, lc1 = kCom1, lc2 = kCom2;
  const double i1 = kMoi, i2 = kMoi, g = kGravity;
  const double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
  const double d1 =
      m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * std::cos(theta2)) + i1 + i2;
  const double d2 = m2 * (lc2 * lc2 + l1 * lc2 * std::cos(theta2)) + i2;
  const double phi2 = m2 * lc2 * g * std::cos(theta1 + theta2 - kPi / 2.0);
  const double phi1 = -m2 * l1 * lc2 * dtheta2 * dtheta2 * std::sin(theta2) -
                      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * std::sin(theta2) +
                      (m1 * lc1 + m2 * l1) * g * std::cos(theta1 - kPi / 2) + phi2;
  // "book" dynamics (Sutton & Barto), Gymnasium's default.
  const double ddtheta2 =
      (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 * dtheta1 * std::sin(theta2) - phi2) /
      (m2 * lc2 * lc2 + i2 - d2 * d2 / d1);
  const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
  return {dtheta1, dtheta2, ddtheta1, ddtheta2};
}

StepResult Acrobot::DoStep(const Array& action) {
  using namespace acrobot;
  const double torque = kTorques[static_cast<int>(action[0])];
  // One classical RK4 step over [0, dt].
  const auto& y0 = state_;
  auto add = [](const std::array<double, 4>& y, double h, const std::array<double, 4>& k) {
    return std::array<double, 4>{y[0] + h * k[0], y[1] + h * k[1], y[2] + h * k[2],
                                 y[3] + h * k[3]};
  };
  const double dt = kDt, dt2 = kDt / 2.0;
  const auto k1 = Derivatives(y0, torque);
  const auto k2 = Derivatives(add(y0, dt2, k1), torque);
  const auto k3 = Derivatives(add(y0, dt2, k2), torque);
  const auto k4 = Derivatives(add(y0, dt, k3), torque);
  std::array<double, 4> ns;
  for (int i = 0; i < 4; ++i) ns[i] = y0[i] + dt / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
  ns[0] = Wrap(ns[0], -kPi, kPi);
  ns[1] = Wrap(ns[1], -kPi, kPi);
  ns[2] = std::min(std::max(ns[2], -kMaxVel1), kMaxVel1);
  ns[3] = std::min(std::max(ns[3], -kMaxVel2), kMaxVel2);
  state_ = ns;
  StepResult r;
  r.terminated = -std::cos(ns[0]) - std::cos(ns[1] + ns[0]) > 1.0;
  r.reward = r.terminated ? 0.0 : -1.0;
  r.obs = Observation();
  return r;
}

// ---------------------------------------------------------------------------------------------
// MountainCar-v0

namespace mountain_car {
constexpr double kMinPosition = -1.2, kMaxPosition = 0.6, kMaxSpeed = 0.07;
constexpr double kGoalPosition = 0.5, kGoalVelocity = 0.0, kForce = 0.001, kGravity = 0.0025;
}  // namespace mountain_car

MountainCar::MountainCar() {
  using namespace mountain_car;
  obs_space_ = Space::Box({kMinPosition, -kMaxSpeed}, {kMaxPosition, kMaxSpeed});
  act_space_ = Space::Discrete(3);
}

ResetResult MountainCar::DoReset(core::Rng& rng) {
  state_ = {rng.Uniform(-0.6, -0.4), 0.0};
  return {{static_cast<float>(state_[0]), static_cast<float>(state_[1])}, {}};
}

StepResult MountainCar::DoStep(const Array& action) {
  using namespace mountain_car;
  auto [position, velocity] = state_;
  velocity += (action[0] - 1.0) * kForce + std::cos(3 * position) * (-kGravity);
  velocity = std::min(std::max(velocity, -kMaxSpeed), kMaxSpeed);
  position += velocity;
  position = std::min(std::max(position, kMinPosition), kMaxPosition);
  if (position == kMinPosition && velocity < 0) velocity = 0;
  state_ = {position, velocity};
  StepResult r;
  r.terminated = position >= kGoalPosition && velocity >= kGoalVelocity;
  r.reward = -1.0;
  r.obs = {static_cast<float>(position), static_cast<float>(velocity)};
  return r;
}

// ---------------------------------------------------------------------------------------------
// Pendulum-v1

namespace pendulum {
constexpr double kMaxSpeed = 8.0, kMaxTorque = 2.0, kDt = 0.05, kMass = 1.0, kLength = 1.0;

// ((x + pi) mod 2pi) - pi with Python's floored modulo.
double AngleNormalize(double x) {
  double r = std::fmod(x + kPi, 2 * kPi);
  if (r < 0) r += 2 * kPi;
  return r - kPi;
}
}  // namespace pendulum

Pendulum::Pendulum(double g) : g_(g) {
  using namespace pendulum;
  obs_space_ = Space::Box({-1.0, -1.0, -kMaxSpeed}, {1.0, 1.0, kMaxSpeed});
  act_space_ = Space::Box({-kMaxTorque}, {kMaxTorque});
}

Array Pendulum::Observation() const {
  return {static_cast<float>(std::cos(state_[0])), static_cast<float>(std::sin(state_[0])),
          static_cast<float>(state_[1])};
}

ResetResult Pendulum::DoReset(core::Rng& rng) {
  state_ = {rng.Uniform(-kPi, kPi), rng.Uniform(-1.0, 1.0)};
  return {Observation(), {}};
}

StepResult Pendulum::DoStep(const Array& action) {
  using namespace pendulum;
  const auto [th, thdot] = state_;
  const double u = std::min(std::max(static_cast<double>(action[0]), -kMaxTorque), kMaxTorque);
  const double costs =
      AngleNormalize(th) * AngleNormalize(th) + 0.1 * thdot * thdot + 0.001 * (u * u);
  double newthdot =
      thdot + (3 * g_ / (2 * kLength) * std::sin(th) + 3.0 / (kMass * kLength * kLength) * u) * kDt;
  newthdot = std::min(std::max(newthdot, -kMaxSpeed), kMaxSpeed);
  const double newth = th + newthdot * kDt;
  state_ = {newth, newthdot};
  StepResult r;
  r.reward = -costs;
  r.obs = Observation();
  return r;
}

}  // namespace linklab::envs::classic

namespace linklab::envs {

void RegisterClassicControl(EnvRegistryType& registry) {
  using namespace classic;
  // Pure functions of a small state: they snapshot, share a process, and step in well under a
  // microsecond (results/reference/bench/envs.json: 4-36 M steps/s with the wrappers).
  auto traits = [](double cost_us) {
    return core::FixedTraits({/*snapshot=*/true, /*own_process=*/false, cost_us});
  };
  RegisterEnv(
      registry, "CartPole-v1",
      "Gymnasium CartPole-v1: balance a pole on a cart (Discrete(2), +1 per step)", {}, 500,
      [](const core::Params&) { return std::make_unique<CartPole>(); }, traits(0.06));
  RegisterEnv(
      registry, "Acrobot-v1",
      "Gymnasium Acrobot-v1: swing a two-link arm up (Discrete(3), -1 per step)", {}, 500,
      [](const core::Params&) { return std::make_unique<Acrobot>(); }, traits(0.25));
  RegisterEnv(
      registry, "MountainCar-v0",
      "Gymnasium MountainCar-v0: drive an under-powered car uphill (Discrete(3))", {}, 200,
      [](const core::Params&) { return std::make_unique<MountainCar>(); }, traits(0.03));
  RegisterEnv(
      registry, "Pendulum-v1",
      "Gymnasium Pendulum-v1: swing up a pendulum with bounded torque (Box(1))",
      {core::DoubleParam("g", 10.0, "gravity (m/s^2)", 0.0, 100.0)}, 200,
      [](const core::Params& p) { return std::make_unique<Pendulum>(p.Double("g")); },
      traits(0.07));
}

}  // namespace linklab::envs
