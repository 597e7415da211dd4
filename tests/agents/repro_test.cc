// Short reproductions of the reference results (label `repro`): runs that must learn on any
// x86-64 machine. libtorch and OpenBLAS pick other kernels on other CPUs, so float results,
// and with them RL trajectories, differ across machines: each test runs three seeds and holds
// the median to the bar, with budgets at which every seed cleared it by a wide margin under
// ATEN_CPU_CAPABILITY=default, avx2 and avx512 and OPENBLAS_CORETYPE=Haswell and Zen. The full
// reference runs live in experiments/reference/ and results/reference/.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "core/metrics.h"
#include "datasets/metrics_file.h"
#include "experiments/run.h"

namespace linklab::experiments {
namespace {

struct Returns {
  double train = 0;  // mean training return over the last 100 episodes
  double eval = 0;   // mean greedy evaluation return
};

Returns RunShort(const std::string& config, std::vector<std::string> sets, int seed) {
  const std::string out = ::testing::TempDir() + "/repro_" +
                          ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                          std::to_string(seed);
  std::filesystem::remove_all(out);
  sets.push_back("experiment.output=" + out);
  sets.push_back("experiment.seed=" + std::to_string(seed));
  sets.push_back("train.progress=false");
  sets.push_back("eval.episodes=20");
  const RunResult r =
      RunExperiment(LoadExperiment(std::string(LINKLAB_SOURCE_DIR) + "/" + config, sets));
  const auto log = datasets::ReadMetrics(r.dir + "/metrics.h5");
  const auto& train = log.Get("train/episodes").Column("return");
  const auto& eval = log.Get("eval/episodes").Column("return");
  Returns out_returns;
  const size_t n = std::min<size_t>(100, train.size());
  for (size_t i = train.size() - n; i < train.size(); ++i) out_returns.train += train[i] / n;
  for (double v : eval) out_returns.eval += v / eval.size();
  std::filesystem::remove_all(out);
  return out_returns;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs seeds 1, 2 and 3 and returns the median training and evaluation returns.
Returns MedianOverSeeds(const std::string& config, const std::vector<std::string>& sets) {
  std::vector<double> train, eval;
  for (int seed = 1; seed <= 3; ++seed) {
    const Returns r = RunShort(config, sets, seed);
    std::printf("seed %d: last-100 training return %.2f, evaluation return %.2f\n", seed, r.train,
                r.eval);
    train.push_back(r.train);
    eval.push_back(r.eval);
  }
  return {Median(train), Median(eval)};
}

// PPO on CartPole-v1 within 100k env steps: the trained (greedy) policy balances for at least
// 195 steps on average over 20 evaluation episodes (the old CartPole-v0 "solved" bar), and
// training returns are far above random play (~22). Every seed reached 500 in the checks above;
// at 50k steps two seeds in five stayed near 130 on some kernels.
TEST(Repro, PpoCartPoleLearnsWithin100kSteps) {
  const Returns r =
      MedianOverSeeds("experiments/reference/ppo_cartpole.ini", {"train.total_steps=100000"});
  EXPECT_GE(r.eval, 195.0);
  EXPECT_GE(r.train, 150.0);
}

// DQN on CartPole-v1 within 50k env steps, with a faster schedule than the reference config.
TEST(Repro, DqnCartPoleLearnsWithin50kSteps) {
  const Returns r = MedianOverSeeds(
      "experiments/reference/dqn_cartpole.ini",
      {"train.total_steps=50000", "agent.learning_starts=1000", "agent.exploration_fraction=0.2",
       "agent.learning_rate=0.001", "agent.target_update_interval=250", "agent.train_frequency=4"});
  EXPECT_GE(r.eval, 195.0);
  EXPECT_GE(r.train, 150.0);
}

}  // namespace
}  // namespace linklab::experiments
