// Registry traits as vector envs read them: an env that needs a process of its own, asked for
// with vectorization = sync, runs in worker processes instead, and says so.

#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

#include "envs/registry.h"
#include "tests/own_process_env.h"

namespace linklab::envs {
namespace {

using linklab::testing::kOwnProcessEnv;

class OwnProcessTraits : public ::testing::Test {
 protected:
  void SetUp() override { linklab::testing::RegisterOwnProcessEnv(); }
  core::Params Params() { return ResolveEnvParams(kOwnProcessEnv, {}, "test"); }
};

TEST_F(OwnProcessTraits, TheFakeReallyAllowsOneInstancePerProcess) {
  auto a = MakeEnv(kOwnProcessEnv);
  EXPECT_THROW(MakeEnv(kOwnProcessEnv), std::runtime_error);
  // So a plain SyncVectorEnv of two cannot be built in one process.
  EnvFactory factory = [this] { return MakeEnv(kOwnProcessEnv, Params()); };
  a.reset();
  EXPECT_THROW(SyncVectorEnv(factory, 2), std::runtime_error);
}

TEST_F(OwnProcessTraits, SyncWithSeveralEnvsRunsAsProcessWithAMessage) {
  VectorOptions opts;
  opts.num_envs = 3;
  opts.mode = "sync";
  std::string note;
  EXPECT_EQ(EffectiveVectorMode(kOwnProcessEnv, Params(), opts, &note), "process");
  EXPECT_NE(note.find("needs a process of its own"), std::string::npos) << note;

  ::testing::internal::CaptureStderr();
  auto env = MakeVectorEnv(kOwnProcessEnv, Params(), opts);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("vectorization = sync with num_envs = 3 runs as process"), std::string::npos)
      << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;  // one line
  EXPECT_NE(dynamic_cast<ProcessVectorEnv*>(env.get()), nullptr);
  // Every sub-env runs in a worker of its own, none in this process.
  EXPECT_EQ(linklab::testing::OwnProcessEnv::live(), 0);
  const VectorStep& r = env->Reset(1);
  std::set<float> pids;
  for (int i = 0; i < 3; ++i) pids.insert(r.obs[2 * i]);
  EXPECT_EQ(pids.size(), 3u);
  EXPECT_EQ(pids.count(static_cast<float>(::getpid())), 0u);
  const VectorStep& s = env->Step({1, 0, 1});
  EXPECT_EQ(s.reward, (std::vector<double>{1, 0, 1}));
}

TEST_F(OwnProcessTraits, WrappersStayAroundTheSwitchedEnv) {
  VectorOptions opts;
  opts.num_envs = 2;
  opts.normalize_obs = true;
  opts.normalize_reward = true;
  ::testing::internal::CaptureStderr();
  auto env = MakeVectorEnv(kOwnProcessEnv, Params(), opts);
  ::testing::internal::GetCapturedStderr();
  ASSERT_NE(FindObsNormalizer(*env), nullptr);
  ASSERT_NE(FindRewardScaler(*env), nullptr);
  auto& scaler = dynamic_cast<VectorWrapper&>(FindObsNormalizer(*env)->inner());
  EXPECT_NE(dynamic_cast<ProcessVectorEnv*>(&scaler.inner()), nullptr);
}

TEST_F(OwnProcessTraits, OneEnvOrProcessModeIsLeftAlone) {
  VectorOptions one;
  one.num_envs = 1;
  std::string note = "x";
  EXPECT_EQ(EffectiveVectorMode(kOwnProcessEnv, Params(), one, &note), "sync");
  EXPECT_EQ(note, "");
  ::testing::internal::CaptureStderr();
  auto env = MakeVectorEnv(kOwnProcessEnv, Params(), one);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_NE(dynamic_cast<SyncVectorEnv*>(env.get()), nullptr);
  env.reset();

  VectorOptions process;
  process.num_envs = 2;
  process.mode = "process";
  ::testing::internal::CaptureStderr();
  env = MakeVectorEnv(kOwnProcessEnv, Params(), process);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_NE(dynamic_cast<ProcessVectorEnv*>(env.get()), nullptr);
}

TEST(EnvTraits, SyncStaysSyncForEnvsThatShareAProcess) {
  const core::Params params = ResolveEnvParams("CartPole-v1", {}, "test");
  VectorOptions opts;
  opts.num_envs = 8;
  EXPECT_EQ(EffectiveVectorMode("CartPole-v1", params, opts), "sync");
  ::testing::internal::CaptureStderr();
  auto env = MakeVectorEnv("CartPole-v1", params, opts);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_NE(dynamic_cast<SyncVectorEnv*>(env.get()), nullptr);
}

TEST(EnvTraits, RegisteringWithoutTraitsIsRefused) {
  EnvRegistryType registry("env");
  EXPECT_THROW(RegisterEnv(
                   registry, "NoTraits-v0", "", {}, 0,
                   [](const core::Params&) { return std::unique_ptr<Env>(); }, nullptr),
               std::logic_error);
  // An entry added without traits answers the conservative defaults.
  core::Registry<int> plain("widget");
  plain.Add({"w", "", {}, 1});
  const core::EntryTraits t = plain.Find("w").Traits(core::Params::Resolve({}, {}, "w"));
  EXPECT_FALSE(t.snapshot);
  EXPECT_FALSE(t.own_process);
  EXPECT_EQ(t.cost_us_per_step, 0.0);
}

}  // namespace
}  // namespace linklab::envs
