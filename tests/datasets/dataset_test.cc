#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/files.h"
#include "datasets/recording.h"
#include "tests/test_util.h"

namespace linklab::datasets {
namespace {

namespace fs = std::filesystem;
using linklab::testing::ErrorOf;

std::string Temp(const std::string& name) { return ::testing::TempDir() + "/" + name; }

TEST(Dataset, GenerateRecordsEveryLinkAndClassPerInterval) {
  RecordOptions o;
  o.scenario = "tethered(backend=fluid,workload=bulk+web)";
  o.duration_s = 3600;
  o.interval_s = 60;
  o.progress = false;
  const std::string path = Temp("hour.h5");
  GenerateDataset(o, path);
  Attributes attrs;
  const core::MetricsLog log = ReadDataset(path, &attrs);
  for (const char* table :
       {"links/down/all", "links/down/bulk", "links/down/web", "links/up/all"}) {
    ASSERT_TRUE(log.Has(table)) << table;
    EXPECT_EQ(log.Get(table).rows, 60u);
  }
  const auto& down = log.Get("links/down/all");
  EXPECT_DOUBLE_EQ(down.Column("time_s").back(), 3600.0);
  double bytes = 0;
  for (double b : down.Column("bytes_delivered")) bytes += b;
  EXPECT_GT(bytes, 1e8);  // an hour of a few Mbit/s
  bool has_seed = false, has_source = false;
  for (const auto& [k, v] : attrs.ints) has_seed = has_seed || (k == "seed" && v == 1);
  for (const auto& [k, v] : attrs.text)
    has_source = has_source || (k == "source" && v == o.scenario);
  EXPECT_TRUE(has_seed);
  EXPECT_TRUE(has_source);
}

TEST(Dataset, SameSeedSameFile) {
  RecordOptions o;
  o.scenario = "tethered(backend=fluid)";
  o.duration_s = 600;
  o.interval_s = 10;
  o.progress = false;
  GenerateDataset(o, Temp("a.h5"));
  GenerateDataset(o, Temp("b.h5"));
  o.seed = 2;
  GenerateDataset(o, Temp("c.h5"));
  EXPECT_EQ(core::ReadFile(Temp("a.h5")), core::ReadFile(Temp("b.h5")));
  EXPECT_NE(core::ReadFile(Temp("a.h5")), core::ReadFile(Temp("c.h5")));
}

TEST(Dataset, ImportsMahimahiAndPensieveTraces) {
  const std::string mm = Temp("one_per_ms.down");
  {
    std::ofstream f(mm);
    for (int ms = 1; ms <= 2000; ++ms) f << ms << "\n";  // 12 Mbit/s for 2 s
  }
  const std::string pv = Temp("log.txt");
  std::ofstream(pv) << "0\t4.0\n1\t8.0\n2\t2.0\n";
  const std::string out = Temp("imported.h5");
  ImportTraces({mm}, "mahimahi", 0.5, 0, out);
  const auto log = ReadDataset(out);
  const auto& t = log.Get("links/one_per_ms.down/all");
  EXPECT_EQ(t.rows, 4u);
  for (double c : t.Column("capacity_mbps")) EXPECT_NEAR(c, 12.0, 1e-9);
  ImportTraces({pv}, "pensieve", 1.0, 0, out);
  const core::MetricsLog pensieve = ReadDataset(out);
  EXPECT_EQ(pensieve.Get("links/log.txt/all").Column("capacity_mbps"),
            (std::vector<double>{4.0, 8.0, 2.0}));
}

TEST(Dataset, BadInputLeavesNoFileBehind) {
  const std::string out = Temp("never.h5");
  fs::remove(out);
  const std::string empty = Temp("empty.down");
  std::ofstream(empty) << "";
  EXPECT_EQ(ErrorOf([&] { ImportTraces({empty}, "mahimahi", 1, 0, out); }),
            empty + ": empty trace file");
  const std::string unsorted = Temp("unsorted.down");
  std::ofstream(unsorted) << "1\n5\n3\n";
  EXPECT_NE(
      ErrorOf([&] { ImportTraces({unsorted}, "mahimahi", 1, 0, out); }).find(unsorted + ":3:"),
      std::string::npos);
  EXPECT_NE(ErrorOf([&] { ImportTraces({unsorted}, "csv", 1, 0, out); }).find("csv"),
            std::string::npos);
  RecordOptions o;
  o.scenario = "tethered(backend=fluid)";
  o.duration_s = 10;
  o.interval_s = 60;
  EXPECT_NE(ErrorOf([&] { GenerateDataset(o, out); }).find("--duration"), std::string::npos);
  o.scenario = "tethered(backend=quantum)";
  o.duration_s = 60;
  EXPECT_NE(ErrorOf([&] { GenerateDataset(o, out); }).find("quantum"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".tmp"));
}

TEST(Dataset, HugeSpansAndNonTextTracesAreRefused) {
  const std::string out = Temp("never2.h5");
  fs::remove(out);
  RecordOptions o;
  o.scenario = "tethered(backend=fluid)";
  o.duration_s = 1e300;
  EXPECT_EQ(ErrorOf([&] { GenerateDataset(o, out); }),
            "dataset --duration = 1e+300 s: longer than the limit of 10 years (3.15576e+08 s)");
  o.duration_s = 3600;
  o.interval_s = 1e-9;
  EXPECT_NE(ErrorOf([&] { GenerateDataset(o, out); }).find("dataset --interval = 1e-09 s"),
            std::string::npos);
  const std::string h5 = Temp("a_dataset.h5");
  WriteMetrics(h5, core::MetricsLog(), Attributes());
  EXPECT_EQ(ErrorOf([&] { ImportTraces({h5}, "mahimahi", 1, 0, out); }),
            h5 + ": not a text trace (an HDF5 file)");
  EXPECT_EQ(ErrorOf([&] { ImportTraces({::testing::TempDir()}, "mahimahi", 1, 0, out); }),
            ::testing::TempDir() + ": cannot read trace file (not a regular file)");
  EXPECT_FALSE(fs::exists(out));
}

TEST(Dataset, OtherFilesAreRefusedWithTheirKind) {
  const std::string metrics = Temp("metrics_like.h5");
  WriteMetrics(metrics, core::MetricsLog(), Attributes());
  try {
    ReadDataset(metrics);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              metrics + ": not a linklab-dataset file (kind = linklab-metrics)");
  }
  EXPECT_THROW(ReadDataset(Temp("missing.h5")), std::runtime_error);
}

}  // namespace
}  // namespace linklab::datasets
