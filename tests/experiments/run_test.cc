#include "experiments/run.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "datasets/metrics_file.h"

namespace linklab::experiments {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string FreshOutput(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/runs-" + name;
  fs::remove_all(dir);
  return dir;
}

TEST(RunExperiment, WritesConfigMetricsAndSummary) {
  const std::string out = FreshOutput("basic");
  const ExperimentConfig c = ResolveExperiment(
      {},
      {"experiment.output=" + out, "experiment.name=t", "experiment.seed=5",
       "train.total_steps=3000", "train.progress=false", "eval.episodes=4", "env.num_envs=2"},
      "");
  const RunResult r = RunExperiment(c);
  EXPECT_TRUE(fs::exists(r.dir + "/config.ini"));
  EXPECT_TRUE(fs::exists(r.dir + "/summary.json"));
  EXPECT_EQ(Slurp(r.dir + "/config.ini"), c.ToIni());

  datasets::Attributes attrs;
  const core::MetricsLog log = datasets::ReadMetrics(r.dir + "/metrics.h5", &attrs);
  const auto& episodes = log.Get("train/episodes");
  EXPECT_GT(episodes.rows, 50u);  // random CartPole episodes last ~22 steps
  EXPECT_EQ(log.Get("eval/episodes").rows, 4u);
  bool has_seed = false, has_commit = false, has_config = false;
  for (const auto& [k, v] : attrs.ints) has_seed = has_seed || (k == "seed" && v == 5);
  for (const auto& [k, v] : attrs.text) {
    has_commit = has_commit || (k == "git_commit" && !v.empty());
    has_config = has_config || (k == "config" && v == c.ToIni());
  }
  EXPECT_TRUE(has_seed);
  EXPECT_TRUE(has_commit);
  EXPECT_TRUE(has_config);
  const std::string summary = Slurp(r.dir + "/summary.json");
  EXPECT_NE(summary.find("\"seed\": 5"), std::string::npos);
  EXPECT_NE(summary.find("\"git_commit\""), std::string::npos);
  EXPECT_NE(summary.find("\"mean_return\""), std::string::npos);
}

TEST(RunExperiment, SameSeedSameResultsAndNoOverwrite) {
  const std::string out = FreshOutput("repeat");
  const ExperimentConfig c =
      ResolveExperiment({},
                        {"experiment.output=" + out, "experiment.name=t", "train.total_steps=2000",
                         "train.progress=false", "eval.episodes=3"},
                        "");
  const RunResult a = RunExperiment(c);
  const RunResult b = RunExperiment(c);
  EXPECT_NE(a.dir, b.dir);
  const auto la = datasets::ReadMetrics(a.dir + "/metrics.h5");
  const auto lb = datasets::ReadMetrics(b.dir + "/metrics.h5");
  EXPECT_EQ(la.Get("train/episodes").Column("return"), lb.Get("train/episodes").Column("return"));
  EXPECT_EQ(la.Get("eval/episodes").Column("return"), lb.Get("eval/episodes").Column("return"));
}

TEST(MakeFreshDir, AddsSuffixInsteadOfReusing) {
  const std::string out = FreshOutput("fresh");
  const std::string a = MakeFreshDir(out, "x");
  const std::string b = MakeFreshDir(out, "x");
  EXPECT_EQ(a, out + "/x");
  EXPECT_EQ(b, out + "/x-2");
}

TEST(MetricsFile, RejectsOtherFiles) {
  const std::string path = ::testing::TempDir() + "/not_metrics.h5";
  std::ofstream(path) << "plain text";
  EXPECT_THROW(datasets::ReadMetrics(path), std::runtime_error);
  EXPECT_THROW(datasets::ReadMetrics("/nonexistent.h5"), std::runtime_error);
}

}  // namespace
}  // namespace linklab::experiments
