// The README's benchmark figures come from the committed reports: the tables block must be what
// `linklab bench tables` makes from results/reference/bench/ (run
// `build/linklab bench tables --readme README.md` after refreshing a report).

#include <gtest/gtest.h>

#include <filesystem>

#include "core/files.h"
#include "experiments/bench.h"

namespace linklab::experiments {
namespace {

const std::string kSource = LINKLAB_SOURCE_DIR;

TEST(BenchTables, ReadmeFiguresAreTheCommittedReports) {
  const std::string readme = core::ReadFile(kSource + "/README.md");
  EXPECT_EQ(ReadmeBenchBlock(readme, "README.md"),
            BenchTables(kSource + "/results/reference/bench"))
      << "README.md's bench tables differ from results/reference/bench/*.json: run "
         "build/linklab bench tables --readme README.md";
}

TEST(BenchTables, RewritesOnlyTheBlock) {
  const std::string dir = ::testing::TempDir() + "/bench_tables";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/README.md";
  const std::string readme = core::ReadFile(kSource + "/README.md");
  const std::string block = ReadmeBenchBlock(readme, "README.md");
  const std::string empty_block =
      block.substr(0, block.find('\n') + 1) + "<!-- end of bench tables -->\n";
  core::WriteFileAtomic(path, "# Title\n\nbefore\n\n" + empty_block + "\nafter\n");
  WriteReadmeBenchTables(path, kSource + "/results/reference/bench");
  const std::string written = core::ReadFile(path);
  EXPECT_EQ(written, "# Title\n\nbefore\n\n" + BenchTables(kSource + "/results/reference/bench") +
                         "\nafter\n");
  EXPECT_NE(written.find("| tethered |"), std::string::npos);
  EXPECT_NE(written.find("**Calibration**"), std::string::npos);
  EXPECT_NE(written.find("**HTB against the Linux kernel**"), std::string::npos);
}

TEST(BenchTables, ReadmeWithoutTheBlockIsAClearError) {
  try {
    ReadmeBenchBlock("# no tables here\n", "x/README.md");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("x/README.md: no bench tables block"), std::string::npos);
  }
}

TEST(BenchTables, MissingReportNamesTheFile) {
  try {
    BenchTables(::testing::TempDir() + "/no_such_reports");
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_reports/sim.json"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace linklab::experiments
