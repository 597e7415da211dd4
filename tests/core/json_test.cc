#include "core/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/metrics.h"

namespace linklab::core {
namespace {

TEST(Json, DumpsNestedValuesInInsertionOrder) {
  Json j = Json::Object();
  j.Set("b", 1).Set("a", "x\"y").Set("list", Json::ArrayOf(std::vector<double>{0.5, 2}));
  j["nested"].Set("flag", true).Set("none", Json());
  EXPECT_EQ(j.Dump(0),
            "{\"b\": 1,\"a\": \"x\\\"y\",\"list\": [0.5, 2],\"nested\": "
            "{\"flag\": true,\"none\": null}}\n");
}

TEST(Json, NonFiniteNumbersBecomeNull) {
  Json j = Json::Array();
  j.Push(std::nan("")).Push(1.0 / 0.0);
  EXPECT_EQ(j.Dump(0), "[null, null]\n");
}

TEST(Json, AtomicWriteReplacesWholeFile) {
  const std::string path = ::testing::TempDir() + "/atomic.json";
  WriteFileAtomic(path, "first\n");
  WriteFileAtomic(path, "second\n");
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), "second\n");
  EXPECT_FALSE(std::ifstream(path + ".tmp").good());
  EXPECT_THROW(WriteFileAtomic("/nonexistent-dir/x.json", "x"), std::runtime_error);
}

TEST(MetricsLog, AddsColumnsAndPadsWithNan) {
  MetricsLog log;
  log.Add("t", {{"step", 1}, {"loss", 0.5}});
  log.Add("t", {{"step", 2}, {"lr", 0.1}});
  const auto& t = log.Get("t");
  EXPECT_EQ(t.rows, 2u);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"step", "loss", "lr"}));
  EXPECT_TRUE(std::isnan(t.Column("lr")[0]));
  EXPECT_TRUE(std::isnan(t.Column("loss")[1]));
  EXPECT_DOUBLE_EQ(t.Column("step")[1], 2);
  log.TruncateAfter("step", 1);
  EXPECT_EQ(log.Get("t").rows, 1u);
}

}  // namespace
}  // namespace linklab::core
