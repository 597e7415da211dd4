// The repro set (label `repro`): `linklab repro` runs short versions of the reference
// experiments (experiments/repro/suite.ini: PPO and DQN on CartPole-v1, a short quickstart
// shaping run, a pba_v1 predictor), several seeds each, and holds the mean over seeds of each
// figure to the committed reference (results/reference/repro/) within the tolerance its case
// states. libtorch and OpenBLAS pick other kernels on other CPUs, so runs differ across
// machines like other seeds do: the tolerances are about three standard deviations of the
// difference of two such means, and every figure held under ATEN_CPU_CAPABILITY=default too.

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "core/json.h"
#include "experiments/process.h"

namespace linklab::experiments {
namespace {

namespace fs = std::filesystem;

TEST(Repro, ShortReferenceExperimentsHoldToTheCommittedReferences) {
  const std::string out = ::testing::TempDir() + "/repro-suite";
  fs::remove_all(out);
  Child repro({LINKLAB_BINARY, "repro",
               std::string(LINKLAB_SOURCE_DIR) + "/experiments/repro/suite.ini", "--out", out});
  ASSERT_TRUE(repro.Wait(2400)) << "linklab repro took over 40 minutes";
  std::cout << repro.Out();
  ASSERT_TRUE(fs::exists(out + "/report.json")) << repro.Err();
  const core::Json report = core::ReadJsonFile(out + "/report.json");
  EXPECT_EQ(report["failed"], 0) << repro.Err();
  EXPECT_EQ(repro.exit_code(), 0);
  // Every case ran and every figure of every case was compared.
  std::vector<std::string> names;
  int64_t rows = 0;
  for (const auto& c : report["cases"]) {
    names.push_back(c["name"].get<std::string>());
    EXPECT_FALSE(c.contains("error")) << c.dump();
    for (const auto& r : c["rows"]) {
      ++rows;
      EXPECT_TRUE(r["pass"].get<bool>()) << r.dump();
      EXPECT_TRUE(r["reference"]["mean"].is_number()) << r.dump();
      EXPECT_TRUE(r["reproduced"]["mean"].is_number()) << r.dump();
      EXPECT_FALSE(r["tolerance"].get<std::string>().empty());
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"ppo_cartpole", "dqn_cartpole", "quickstart_short",
                                             "predictor_tethered"}));
  EXPECT_EQ(rows, report["checked"].get<int64_t>());
  EXPECT_EQ(rows, 7);
  const std::string md = core::ReadFile(out + "/report.md");
  EXPECT_NE(md.find("| case | point | figure | reference | reproduced | difference | tolerance |"),
            std::string::npos);
}

}  // namespace
}  // namespace linklab::experiments
