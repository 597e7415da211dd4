#include "core/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/metrics.h"

namespace linklab::core {
namespace {

TEST(Json, DumpsNestedValuesInInsertionOrderWithIndent2) {
  Json j = Json::object();
  j["b"] = 1;
  j["a"] = "x\"y";
  j["list"] = std::vector<double>{0.5, 2};
  j["nested"]["flag"] = true;
  j["nested"]["none"] = nullptr;
  j["empty"] = Json::object();
  EXPECT_EQ(DumpJson(j),
            "{\n"
            "  \"b\": 1,\n"
            "  \"a\": \"x\\\"y\",\n"
            "  \"list\": [\n"
            "    0.5,\n"
            "    2.0\n"
            "  ],\n"
            "  \"nested\": {\n"
            "    \"flag\": true,\n"
            "    \"none\": null\n"
            "  },\n"
            "  \"empty\": {}\n"
            "}\n");
}

TEST(Json, NonFiniteNumbersAreWrittenAsNull) {
  // JSON has no NaN or infinity: they are written as null ("no value"), and read back so.
  Json j = Json::array();
  j.push_back(std::nan(""));
  j.push_back(1.0 / 0.0);
  j.push_back(-1.0 / 0.0);
  j.push_back(0.1);
  const std::string text = DumpJson(j);
  EXPECT_EQ(text, "[\n  null,\n  null,\n  null,\n  0.1\n]\n");
  const Json back = ParseJson(text, "x.json");
  EXPECT_TRUE(back[0].is_null());
  EXPECT_DOUBLE_EQ(back[3].get<double>(), 0.1);
}

TEST(Json, BytesThatAreNotUtf8AreReplacedNotFatal) {
  Json j = Json::object();
  j["description"] = std::string("caf\xe9");  // Latin-1, not UTF-8
  EXPECT_EQ(DumpJson(j), "{\n  \"description\": \"caf\xef\xbf\xbd\"\n}\n");
}

TEST(Json, ParsesKeepingKeyOrderAndRoundTrips) {
  const Json j =
      ParseJson(R"({"z": 1, "a": [1, 2.5, "x", -3], "m": {"k": null, "t": true}})", "report.json");
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"z", "a", "m"}));
  EXPECT_EQ(j["z"].get<int64_t>(), 1);
  EXPECT_DOUBLE_EQ(j["a"][1].get<double>(), 2.5);
  EXPECT_EQ(j["a"][2].get<std::string>(), "x");
  EXPECT_TRUE(j["m"]["k"].is_null());
  EXPECT_TRUE(j["m"]["t"].get<bool>());
  const std::string text = DumpJson(j);
  EXPECT_EQ(DumpJson(ParseJson(text, "again")), text);
  // Integers stay integers; doubles keep every digit.
  const Json numbers = ParseJson("[9007199254740993, 0.30000000000000004]", "n");
  EXPECT_EQ(numbers[0].get<int64_t>(), 9007199254740993);
  EXPECT_EQ(numbers[1].get<double>(), 0.1 + 0.2);
  EXPECT_EQ(DumpJson(numbers), "[\n  9007199254740993,\n  0.30000000000000004\n]\n");
}

TEST(Json, ParseErrorsNameTheSourceLineAndColumn) {
  try {
    ParseJson("{\n  \"a\": }", "summary.json");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("summary.json: not JSON (parse error at line 2, column 8: ", 0), 0u)
        << what;
  }
  EXPECT_THROW(ParseJson("", "empty.json"), std::invalid_argument);
  EXPECT_THROW(ParseJson("{\"a\": 1} trailing", "t.json"), std::invalid_argument);
  EXPECT_THROW(ReadJsonFile("/nonexistent/summary.json"), std::runtime_error);
}

TEST(Json, AtomicWriteReplacesWholeFile) {
  const std::string path = ::testing::TempDir() + "/atomic.json";
  WriteFileAtomic(path, "first\n");
  WriteFileAtomic(path, "second\n");
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), "second\n");
  // No temporary file is left beside it.
  const std::string dir = ::testing::TempDir();
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    EXPECT_NE(entry.path().filename().string().rfind("atomic.json.tmp", 0), 0u) << entry.path();
  }
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
