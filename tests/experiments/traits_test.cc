// Registry traits of every scenario and agent are filled and truthful, `linklab list` shows
// them, and checkpoints read the env's snapshot trait.

#include <gtest/gtest.h>

#include <filesystem>

#include "agents/agent.h"
#include "core/files.h"
#include "experiments/list.h"
#include "experiments/run.h"
#include "sim/scenario.h"
#include "tests/own_process_env.h"

namespace linklab::experiments {
namespace {

namespace fs = std::filesystem;

core::EntryTraits ScenarioTraits(const std::string& spec) {
  const core::Spec parsed = core::Spec::Parse(spec, "test");
  const auto& entry = sim::ScenarioRegistry().Find(parsed.name());
  return entry.Traits(core::Params::Resolve(entry.params, parsed.Values(), "test"));
}

TEST(ScenarioTraits, Ns3NeedsItsOwnProcessFluidDoesNotNeitherSnapshots) {
  ASSERT_FALSE(sim::ScenarioRegistry().Names().empty());
  for (const std::string& name : sim::ScenarioRegistry().Names()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(sim::ScenarioRegistry().Find(name).traits) << "registered without traits";
    const core::EntryTraits ns3 = ScenarioTraits(name + "(backend=ns3)");
    const core::EntryTraits fluid = ScenarioTraits(name + "(backend=fluid)");
    EXPECT_TRUE(ns3.own_process);
    EXPECT_FALSE(fluid.own_process);
    // Scenario has no state save on either backend.
    EXPECT_FALSE(ns3.snapshot);
    EXPECT_FALSE(fluid.snapshot);
    // The default backend is ns-3.
    EXPECT_TRUE(ScenarioTraits(name).own_process);
    // The fluid model is the fast one (README: hundreds of times faster).
    EXPECT_GT(fluid.cost_us_per_step, 0.0);
    EXPECT_GT(ns3.cost_us_per_step, 10 * fluid.cost_us_per_step);
  }
  // Finer fluid steps cost more on the access paths.
  EXPECT_GT(ScenarioTraits("tethered(backend=fluid,fluid_dt_ms=5)").cost_us_per_step,
            ScenarioTraits("tethered(backend=fluid)").cost_us_per_step);
}

TEST(AgentTraits, EveryAgentHasThemAndNoneNeedsItsOwnProcess) {
  for (const auto* e : agents::AgentRegistry().Entries()) {
    SCOPED_TRACE(e->name);
    ASSERT_TRUE(e->traits);
    const core::EntryTraits t = e->Traits(core::Params::Resolve(e->params, {}, e->name));
    EXPECT_TRUE(t.snapshot);  // Save/Load round trips: tests/agents/agents_test.cc
    EXPECT_FALSE(t.own_process);
    EXPECT_GT(t.cost_us_per_step, 0.0);
  }
}

TEST(ListTraits, EveryEntryShowsItsTraits) {
  const std::string envs = ListRegistered("envs");
  EXPECT_NE(envs.find("  CartPole-v1\n      Gymnasium CartPole-v1: balance a pole on a cart "
                      "(Discrete(2), +1 per step)\n      snapshot: yes, own process: no, ~0.06 "
                      "us/step (defaults)\n"),
            std::string::npos)
      << envs;
  const std::string scenarios = ListRegistered("scenarios");
  EXPECT_NE(scenarios.find("snapshot: no, own process: yes, ~14000 us/simulated s (defaults)"),
            std::string::npos)
      << scenarios;
  EXPECT_EQ(ListRegistered("scenarios").find("traits not given"), std::string::npos);
  EXPECT_EQ(ListRegistered("agents").find("traits not given"), std::string::npos);
}

// A run on an env that needs its own process and cannot be snapshotted: sync with 2 envs runs
// in workers, checkpoints keep the model and say they cannot resume (from the trait), and
// --resume refuses them.
TEST(RunTraits, OwnProcessEnvWithoutSnapshotsRunsAndIsNotResumable) {
  linklab::testing::RegisterOwnProcessEnv();
  const std::string out = ::testing::TempDir() + "/traits_own_process";
  fs::remove_all(out);
  const ExperimentConfig c = ResolveExperiment(
      {},
      {"experiment.output=" + out, "experiment.name=t", "env.id=test-OwnProcess-v0",
       "env.num_envs=2", "env.vectorization=sync", "agent.algo=random", "train.total_steps=200",
       "train.checkpoint_every=100", "train.progress=false", "eval.episodes=2", "eval.num_envs=2"},
      "");
  ::testing::internal::CaptureStderr();
  const RunResult r = RunExperiment(c);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("needs a process of its own"), std::string::npos) << err;
  EXPECT_EQ(linklab::testing::OwnProcessEnv::live(), 0);  // nothing ran in this process
  for (const char* step : {"step_100", "step_200"}) {
    const std::string dir = r.dir + "/checkpoints/" + step;
    EXPECT_FALSE(fs::exists(dir + "/env_state.bin")) << dir;
    ASSERT_TRUE(fs::exists(dir + "/env_state.unavailable")) << dir;
    EXPECT_NE(core::ReadFile(dir + "/env_state.unavailable").find("cannot be snapshotted"),
              std::string::npos);
    EXPECT_TRUE(fs::exists(dir + "/trainer_state.bin")) << dir;
  }
  try {
    ResumeExperiment(r.dir);
    ADD_FAILURE() << "resumed a run whose env cannot be snapshotted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be snapshotted"), std::string::npos) << e.what();
  }
}

// With one env, training runs in this process; evaluation then runs in workers, which must not
// inherit the training env's simulation.
TEST(RunTraits, OwnProcessEnvWithOneEnvTrainsHereAndEvaluatesInWorkers) {
  linklab::testing::RegisterOwnProcessEnv();
  const std::string out = ::testing::TempDir() + "/traits_own_process_one";
  fs::remove_all(out);
  const RunResult r = RunExperiment(ResolveExperiment(
      {},
      {"experiment.output=" + out, "experiment.name=t", "env.id=test-OwnProcess-v0",
       "env.num_envs=1", "agent.algo=random", "train.total_steps=100", "train.progress=false",
       "eval.episodes=2", "eval.num_envs=1"},
      ""));
  EXPECT_EQ(r.summary["eval"]["episodes"].get<int64_t>(), 2);
  EXPECT_EQ(linklab::testing::OwnProcessEnv::live(), 0);
}

TEST(RunTraits, SnapshotEnvsWriteTheirState) {
  const std::string out = ::testing::TempDir() + "/traits_snapshot";
  fs::remove_all(out);
  const RunResult r = RunExperiment(ResolveExperiment(
      {},
      {"experiment.output=" + out, "experiment.name=t", "env.id=CartPole-v1", "agent.algo=random",
       "train.total_steps=200", "train.progress=false", "eval.episodes=0"},
      ""));
  EXPECT_TRUE(fs::exists(r.dir + "/checkpoints/step_200/env_state.bin"));
  EXPECT_FALSE(fs::exists(r.dir + "/checkpoints/step_200/env_state.unavailable"));
}

}  // namespace
}  // namespace linklab::experiments
