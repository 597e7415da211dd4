#include <gtest/gtest.h>

#include <csignal>

#include "envs/classic/classic_control.h"
#include "envs/registry.h"

namespace linklab::envs {
namespace {

// A counter env: obs = [t], reward = action, terminates after `len` steps.
class Counter : public EnvBase {
 public:
  explicit Counter(int len) : len_(len) {}
  const Space& observation_space() const override { return obs_; }
  const Space& action_space() const override { return act_; }

 protected:
  ResetResult DoReset(core::Rng& rng) override {
    t_ = 0;
    ResetResult r{{0.0f}, {}};
    r.info.Set("reset", 1.0);
    return r;
  }
  StepResult DoStep(const Array& action) override {
    ++t_;
    StepResult r;
    r.obs = {static_cast<float>(t_)};
    r.reward = action[0];
    r.terminated = t_ >= len_;
    return r;
  }

 private:
  int len_, t_ = 0;
  Space obs_ = Space::Box({0.0}, {100.0});
  Space act_ = Space::Discrete(5);
};

TEST(SyncVectorEnv, NextStepAutoreset) {
  int k = 0;
  SyncVectorEnv env([&] { return std::make_unique<Counter>(2 + k++); }, 2);  // lengths 2 and 3
  const VectorStep& r0 = env.Reset(0);
  EXPECT_EQ(r0.obs, (Array{0, 0}));
  const VectorStep& r1 = env.Step({1, 1});
  EXPECT_EQ(r1.obs, (Array{1, 1}));
  const VectorStep& r2 = env.Step({2, 2});
  // env 0 ends here: the last observation of the episode is returned, not a reset one.
  EXPECT_EQ(r2.obs, (Array{2, 2}));
  EXPECT_EQ(r2.terminated, (std::vector<uint8_t>{1, 0}));
  EXPECT_EQ(r2.reward, (std::vector<double>{2, 2}));
  const VectorStep& r3 = env.Step({4, 3});
  // env 0 is reset on the next step: action ignored, reward 0, flags false, reset info.
  EXPECT_EQ(r3.obs, (Array{0, 3}));
  EXPECT_EQ(r3.reward, (std::vector<double>{0, 3}));
  EXPECT_EQ(r3.terminated, (std::vector<uint8_t>{0, 1}));
  EXPECT_TRUE(r3.info[0].Has("reset"));
  const VectorStep& r4 = env.Step({1, 4});
  EXPECT_EQ(r4.obs, (Array{1, 0}));
  EXPECT_EQ(r4.reward, (std::vector<double>{1, 0}));
}

TEST(VectorEnv, WrongActionCountIsAnError) {
  SyncVectorEnv env([] { return std::make_unique<Counter>(3); }, 2);
  EXPECT_THROW(env.Step({1, 1}), std::logic_error);  // before Reset
  env.Reset(0);
  EXPECT_THROW(env.Step({1}), std::invalid_argument);
}

TEST(VectorEnv, SeedsSubEnvsWithSeedPlusIndex) {
  auto params = ResolveEnvParams("CartPole-v1", {}, "test");
  VectorOptions opts;
  opts.num_envs = 3;
  auto vec = MakeVectorEnv("CartPole-v1", params, opts);
  const Array obs = vec->Reset(10).obs;
  for (int i = 0; i < 3; ++i) {
    auto single = MakeEnv("CartPole-v1");
    const Array o = single->Reset(10 + i).obs;
    EXPECT_EQ(Array(obs.begin() + 4 * i, obs.begin() + 4 * i + 4), o);
  }
}

// The process and sync vector envs give identical results, autoresets included.
TEST(ProcessVectorEnv, MatchesSyncVectorEnv) {
  auto params = ResolveEnvParams("CartPole-v1", {}, "test");
  VectorOptions sync_opts, proc_opts;
  sync_opts.num_envs = proc_opts.num_envs = 3;
  proc_opts.mode = "process";
  auto sync = MakeVectorEnv("CartPole-v1", params, sync_opts);
  auto proc = MakeVectorEnv("CartPole-v1", params, proc_opts);
  EXPECT_EQ(proc->single_observation_space(), sync->single_observation_space());
  EXPECT_EQ(proc->single_action_space(), sync->single_action_space());
  EXPECT_EQ(sync->Reset(4).obs, proc->Reset(4).obs);
  core::Rng rng(9);
  int episodes = 0;
  for (int t = 0; t < 400; ++t) {
    Array actions;
    for (int i = 0; i < 3; ++i) actions.push_back(static_cast<float>(rng.UniformInt(2)));
    const VectorStep a = sync->Step(actions);
    const VectorStep& b = proc->Step(actions);
    ASSERT_EQ(a.obs, b.obs) << "step " << t;
    ASSERT_EQ(a.reward, b.reward);
    ASSERT_EQ(a.terminated, b.terminated);
    ASSERT_EQ(a.truncated, b.truncated);
    for (int i = 0; i < 3; ++i) {
      ASSERT_EQ(a.info[i].Has("episode_return"), b.info[i].Has("episode_return"));
      if (a.info[i].Has("episode_return")) {
        // (episode_seconds is wall time and differs.)
        EXPECT_EQ(a.info[i].Get("episode_return"), b.info[i].Get("episode_return"));
        EXPECT_EQ(a.info[i].Get("episode_length"), b.info[i].Get("episode_length"));
        ++episodes;
      }
    }
  }
  EXPECT_GT(episodes, 10);
}

TEST(ProcessVectorEnv, WorkerErrorsComeBackWithTheirType) {
  ProcessVectorEnv env([] { return std::make_unique<Counter>(3); }, 2);
  env.Reset(0);
  try {
    env.Step({1, 7});  // 7 is outside Discrete(5) in env 1
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("env 1: action [7]"), std::string::npos) << e.what();
  }
  // The env stays usable after a reset.
  env.Reset(0);
  EXPECT_EQ(env.Step({1, 1}).obs, (Array{1, 1}));
}

TEST(ProcessVectorEnv, FactoryErrorIsReported) {
  EXPECT_THROW(ProcessVectorEnv(
                   []() -> std::unique_ptr<Env> { throw std::runtime_error("no trace file"); }, 2),
               std::runtime_error);
}

TEST(ProcessVectorEnv, DeadWorkerIsReported) {
  // A worker that crashes: the env's step kills its own process.
  ProcessVectorEnv crashing(
      [] {
        struct Bomb : Counter {
          Bomb() : Counter(3) {}
          StepResult DoStep(const Array&) override {
            std::raise(SIGKILL);
            return {};
          }
        };
        return std::make_unique<Bomb>();
      },
      1);
  crashing.Reset(0);
  try {
    crashing.Step({1});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("killed by signal 9"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace linklab::envs

namespace linklab::envs {
namespace {

// An env whose dynamics break: NaN in the observation at step 2, NaN reward at step 3.
class Broken : public EnvBase {
 public:
  const Space& observation_space() const override { return obs_; }
  const Space& action_space() const override { return act_; }

 protected:
  ResetResult DoReset(core::Rng&) override {
    t_ = 0;
    return {{0.0f, 0.0f}, {}};
  }
  StepResult DoStep(const Array&) override {
    ++t_;
    StepResult r;
    r.obs = {0.0f, t_ == 2 ? NAN : 0.0f};
    r.reward = t_ == 3 ? NAN : 0.0;
    return r;
  }

 private:
  int t_ = 0;
  Space obs_ = Space::Box(-1.0, 1.0, {2});
  Space act_ = Space::Discrete(2);
};

TEST(EnvBase, NonFiniteObservationsAndRewardsAreErrors) {
  Broken env;
  env.Reset(0);
  EXPECT_NO_THROW(env.Step({0}));
  try {
    env.Step({0});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "env step produced a non-finite observation element 1: [0, nan]");
  }
  try {
    env.Step({0});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "env step produced a non-finite reward (nan)");
  }
}

}  // namespace
}  // namespace linklab::envs
