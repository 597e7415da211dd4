// `linklab run` writes the torch-free policy artefact into every checkpoint and the finished
// run folder, and it acts like the trained agent of the last checkpoint.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "agents/agent.h"
#include "core/files.h"
#include "envs/registry.h"
#include "experiments/config.h"
#include "models/policy.h"

namespace linklab::experiments {
namespace {

namespace fs = std::filesystem;

// Runs the CLI with `args`, output folder `out`; returns the one run folder it made.
std::string RunCliInto(const std::string& out, const std::string& args) {
  fs::remove_all(out);
  const std::string cmd = std::string(LINKLAB_BINARY) + " run --set experiment.output=" + out +
                          " --set experiment.name=p --set train.progress=false " + args + " > " +
                          out + ".log 2>&1";
  const int status = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << core::ReadFile(out + ".log");
  std::vector<std::string> runs;
  for (const auto& e : fs::directory_iterator(out + "/p")) runs.push_back(e.path());
  EXPECT_EQ(runs.size(), 1u);
  return runs.empty() ? "" : runs.front();
}

TEST(RunPolicy, FinishedRunAndCheckpointsWriteTheArtefact) {
  const std::string dir = RunCliInto(
      ::testing::TempDir() + "/policy_run_ppo",
      "--set agent.algo=ppo --set env.id=Pendulum-v1 --set env.num_envs=2 "
      "--set env.normalize_obs=true --set agent.num_steps=64 --set train.total_steps=1024 "
      "--set train.checkpoint_every=512 --set eval.episodes=1");
  ASSERT_FALSE(dir.empty());
  for (const char* sub : {"", "/checkpoints/step_512", "/checkpoints/step_1024"}) {
    EXPECT_TRUE(fs::exists(dir + sub + "/policy.bin")) << sub;
  }
  const models::Policy policy = models::Policy::Load(dir + "/policy.bin");
  const models::PolicyArtefact& a = policy.artefact();
  EXPECT_EQ(a.agent, "ppo");
  EXPECT_EQ(a.metadata.at("env"), "Pendulum-v1");
  EXPECT_EQ(a.metadata.at("step"), "1024");
  EXPECT_FALSE(a.metadata.at("git_commit").empty());
  EXPECT_EQ(a.head.kind, models::ActionHead::Kind::kGaussianMean);
  ASSERT_TRUE(a.normalizer.has_value());
  // The run's policy is the last checkpoint's (only the creation time may differ).
  const models::PolicyArtefact last = models::ReadPolicy(dir + "/checkpoints/step_1024/policy.bin");
  EXPECT_EQ(last.params, a.params);
  EXPECT_EQ(last.normalizer->mean, a.normalizer->mean);
  EXPECT_EQ(last.normalizer->var, a.normalizer->var);
  EXPECT_NE(models::ReadPolicy(dir + "/checkpoints/step_512/policy.bin").params, a.params);

  // The agent and env of the last checkpoint, restored as --resume does, act the same.
  const ExperimentConfig config = LoadExperiment(dir + "/config.ini");
  auto env =
      envs::MakeVectorEnv(config.env_id(), config.env_params, envs::VectorOptionsFrom(config.env));
  const agents::AgentContext ctx{env->single_observation_space(), env->single_action_space(),
                                 env->num_envs(), config.train.Int("total_steps"), config.seed()};
  auto agent = agents::MakeAgent(config.algo(), config.agent, ctx);
  agent->Load(dir + "/checkpoints/step_1024");
  env->LoadState(core::ReadFile(dir + "/checkpoints/step_1024/env_state.bin"));
  EXPECT_EQ(a.normalizer->mean, envs::FindObsNormalizer(*env)->stats().mean());
  core::Rng rng(3);
  envs::Array raw;
  for (int i = 0; i < 32; ++i) {
    const envs::Array x = env->single_observation_space().Sample(rng);
    raw.insert(raw.end(), x.begin(), x.end());
  }
  envs::Array seen = raw;
  envs::FindObsNormalizer(*env)->Apply(seen.data(), 32);
  const envs::Array want = agent->Act(seen, 32, false);
  const envs::Array got = policy.Act(raw, 32);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << i;
}

TEST(RunPolicy, RandomBaselineSaysWhyThereIsNoArtefact) {
  const std::string dir = RunCliInto(::testing::TempDir() + "/policy_run_random",
                                     "--set train.total_steps=200 --set eval.episodes=0");
  ASSERT_FALSE(dir.empty());
  EXPECT_FALSE(fs::exists(dir + "/policy.bin"));
  EXPECT_NE(core::ReadFile(dir + "/policy.unavailable").find("random baseline"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir + "/checkpoints/step_200/policy.unavailable"));
}

}  // namespace
}  // namespace linklab::experiments
