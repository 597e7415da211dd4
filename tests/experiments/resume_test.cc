// Checkpoints resume a run exactly: stopping at a checkpoint and resuming gives the same
// metrics and the same final model as the uninterrupted run.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "core/files.h"
#include "datasets/metrics_file.h"
#include "experiments/run.h"

namespace linklab::experiments {
namespace {

namespace fs = std::filesystem;

void ExpectSameMetrics(const core::MetricsLog& a, const core::MetricsLog& b) {
  ASSERT_EQ(a.tables().size(), b.tables().size());
  for (const auto& [name, table] : a.tables()) {
    const auto& other = b.Get(name);
    ASSERT_EQ(table.columns, other.columns) << name;
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const auto& x = table.data[c];
      const auto& y = other.data[c];
      ASSERT_EQ(x.size(), y.size()) << name << "/" << table.columns[c];
      for (size_t i = 0; i < x.size(); ++i) {
        if (std::isnan(x[i]) && std::isnan(y[i])) continue;
        ASSERT_EQ(x[i], y[i]) << name << "/" << table.columns[c] << " row " << i;
      }
    }
  }
}

class Resume : public ::testing::TestWithParam<std::vector<std::string>> {};

TEST_P(Resume, ContinuesExactly) {
  // ctest runs cases in parallel: one folder per case.
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : name) c = c == '/' ? '_' : c;
  const std::string out = ::testing::TempDir() + "/resume_" + name;
  fs::remove_all(out);
  std::vector<std::string> sets = GetParam();
  sets.insert(sets.end(),
              {"experiment.output=" + out, "train.progress=false", "train.total_steps=6000",
               "train.checkpoint_every=3000", "eval.episodes=3"});
  const RunResult full = RunExperiment(ResolveExperiment({}, sets, ""));
  const core::MetricsLog full_metrics = datasets::ReadMetrics(full.dir + "/metrics.h5");
  const std::string last = full.dir + "/checkpoints/step_6000";
  ASSERT_TRUE(fs::exists(full.dir + "/checkpoints/step_3000/trainer_state.bin"));
  std::vector<std::string> model_files;
  for (const auto& e : fs::directory_iterator(last)) {
    const std::string name = e.path().filename();
    // (Optimiser files key their state by tensor address, so they differ byte-wise.)
    if (name.size() > 10 && name.substr(name.size() - 10) == "_params.pt") {
      model_files.push_back(name);
    }
  }
  std::map<std::string, std::string> before;
  for (const auto& f : model_files) before[f] = core::ReadFile(last + "/" + f);

  const RunResult resumed = ResumeExperiment(full.dir + "/checkpoints/step_3000");
  EXPECT_EQ(resumed.dir, full.dir);
  ExpectSameMetrics(full_metrics, datasets::ReadMetrics(full.dir + "/metrics.h5"));
  for (const auto& f : model_files) {
    EXPECT_TRUE(core::ReadFile(last + "/" + f) == before[f]) << f << " differs";
  }
  EXPECT_FALSE(model_files.empty());
}

std::string CaseName(const ::testing::TestParamInfo<std::vector<std::string>>& info) {
  static const char* kNames[] = {"PpoCartPole", "PpoPendulumProcessNormalised", "DqnCartPole"};
  return kNames[info.index];
}

INSTANTIATE_TEST_SUITE_P(
    Agents, Resume,
    ::testing::Values(
        std::vector<std::string>{"agent.algo=ppo", "env.num_envs=2", "agent.num_steps=100"},
        std::vector<std::string>{"agent.algo=ppo", "env.id=Pendulum-v1", "env.num_envs=2",
                                 "env.normalize_obs=true", "env.normalize_reward=true",
                                 "env.vectorization=process", "agent.num_steps=128"},
        std::vector<std::string>{"agent.algo=dqn", "agent.learning_starts=500",
                                 "agent.buffer_size=2000"}),
    CaseName);

// [train] init_from: a run starts from another run's agent. With no update in the new run
// (learning never starts) its final weights are the other run's, byte for byte; mismatches are
// errors before anything is written.
TEST(InitFrom, StartsFromTheOtherRunsAgent) {
  const std::string out = ::testing::TempDir() + "/init_from";
  fs::remove_all(out);
  const std::vector<std::string> common = {"experiment.output=" + out, "train.progress=false",
                                           "agent.algo=dqn", "eval.episodes=0"};
  auto with = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> sets = common;  // later settings win
    sets.insert(sets.end(), extra.begin(), extra.end());
    return ResolveExperiment({}, sets, "");
  };
  const RunResult first = RunExperiment(
      with({"train.total_steps=3000", "agent.learning_starts=500", "agent.buffer_size=2000"}));
  const RunResult second = RunExperiment(
      with({"train.total_steps=200", "agent.learning_starts=100000", "agent.buffer_size=2000",
            "experiment.name=second", "train.init_from=" + first.dir}));
  EXPECT_EQ(second.summary["init_from"], first.dir + "/checkpoints/step_3000");
  int compared = 0;
  for (const auto& e : fs::directory_iterator(first.dir + "/checkpoints/step_3000")) {
    const std::string name = e.path().filename();
    if (name.size() <= 10 || name.substr(name.size() - 10) != "_params.pt") continue;
    EXPECT_TRUE(core::ReadFile(e.path()) ==
                core::ReadFile(second.dir + "/checkpoints/step_200/" + name))
        << name;
    ++compared;
  }
  EXPECT_GT(compared, 0);
  const auto error = [&](std::vector<std::string> extra) {
    try {
      RunExperiment(with(extra));
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"agent.algo=ppo", "train.init_from=" + first.dir}, "trained by dqn"},
      {{"env.normalize_obs=true", "train.init_from=" + first.dir}, "normalize_obs"},
      {{"env.id=Acrobot-v1", "train.init_from=" + first.dir}, "space"},
      {{"train.init_from=" + out + "/nothing"}, "neither a checkpoint"},
  };
  for (const auto& [sets, expected] : cases) {
    const std::string message = error(sets);
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
}

TEST(Resume, RunFolderWithoutCheckpointsIsAnError) {
  const std::string dir = ::testing::TempDir() + "/empty_run";
  fs::create_directories(dir);
  EXPECT_THROW(ResumeExperiment(dir), std::invalid_argument);
}

}  // namespace
}  // namespace linklab::experiments
