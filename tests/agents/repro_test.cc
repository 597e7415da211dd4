// Short reproductions of the reference results (label `repro`): fixed-seed runs that must
// learn. The full reference runs live in experiments/reference/ and results/reference/.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/metrics.h"
#include "datasets/metrics_file.h"
#include "experiments/run.h"

namespace linklab::experiments {
namespace {

RunResult RunShort(const std::string& config, std::vector<std::string> sets) {
  const std::string out = ::testing::TempDir() + "/repro_" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::remove_all(out);
  sets.push_back("experiment.output=" + out);
  sets.push_back("train.progress=false");
  sets.push_back("eval.episodes=20");
  return RunExperiment(LoadExperiment(std::string(LINKLAB_SOURCE_DIR) + "/" + config, sets));
}

// The training return over the last 100 episodes and the evaluation return.
std::pair<double, double> Returns(const RunResult& r) {
  const auto log = datasets::ReadMetrics(r.dir + "/metrics.h5");
  const auto& train = log.Get("train/episodes").Column("return");
  double sum = 0;
  const size_t n = std::min<size_t>(100, train.size());
  for (size_t i = train.size() - n; i < train.size(); ++i) sum += train[i];
  const auto& eval = log.Get("eval/episodes").Column("return");
  double esum = 0;
  for (double v : eval) esum += v;
  return {sum / n, esum / eval.size()};
}

// PPO on CartPole-v1 within 50k env steps: the trained (greedy) policy balances for at least
// 195 steps on average over 20 evaluation episodes (the old CartPole-v0 "solved" bar), and
// training returns are far above random play (~22).
TEST(Repro, PpoCartPoleLearnsWithin50kSteps) {
  const RunResult r = RunShort("experiments/reference/ppo_cartpole.ini",
                               {"train.total_steps=50000", "experiment.seed=1"});
  const auto [train, eval] = Returns(r);
  EXPECT_GE(eval, 195.0);
  EXPECT_GE(train, 120.0);
}

// DQN on CartPole-v1 within 50k env steps, with a faster schedule than the reference config.
TEST(Repro, DqnCartPoleLearnsWithin50kSteps) {
  const RunResult r =
      RunShort("experiments/reference/dqn_cartpole.ini",
               {"train.total_steps=50000", "experiment.seed=1", "agent.learning_starts=1000",
                "agent.exploration_fraction=0.2", "agent.learning_rate=0.001",
                "agent.target_update_interval=250", "agent.train_frequency=4"});
  const auto [train, eval] = Returns(r);
  EXPECT_GE(eval, 195.0);
  EXPECT_GE(train, 150.0);
}

}  // namespace
}  // namespace linklab::experiments
