// Every registered scenario with every value of every enumerated parameter (string choices and
// booleans), on both backends: a short run must give samples for every link and class with
// traffic delivered, or, where a backend does not model the option, a clear refusal naming the
// key and the value. Nothing a scenario advertises goes untested.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/files.h"
#include "core/registry.h"
#include "core/text.h"
#include "sim/scenario.h"

namespace linklab::sim {
namespace {

// A small mahimahi trace written by the test: about 12 Mbit/s, looping every second. Written
// atomically: other test processes of this suite may be reading it.
std::string TestTrace() {
  static const std::string path = [] {
    const std::string p = ::testing::TempDir() + "/conformance_trace.down";
    std::string text;
    for (int ms = 1; ms <= 1000; ++ms) {
      text += std::to_string(ms) + "\n";
      if (ms % 2) text += std::to_string(ms) + "\n";
    }
    core::WriteFileAtomic(p, text);
    return p;
  }();
  return path;
}

// Keys that make each family quick to run; the case's own key overrides them.
std::map<std::string, std::string> QuickKeys(const std::string& family) {
  if (family == "tethered") return {{"capacity", "constant"}, {"constant_mbps", "8"}};
  if (family == "internet") {
    return {{"capacity", "constant"},
            {"base_mbps", "20"},
            {"cross_flows", "1"},
            {"cross_mbps", "2"},
            {"rtt_ms", "60"}};
  }
  if (family == "datacenter") return {{"scale", "0.02"}, {"shuffle_kb", "16"}};
  return {};
}

struct Case {
  std::string family, key, value, backend;
  std::string Spec() const {
    core::Spec spec(family, "scenario spec");
    for (const auto& [k, v] : QuickKeys(family)) spec.Set(k, v);
    spec.Set(key, value).Set("backend", backend);
    if (spec.Has("capacity") && spec.Get("capacity") == "trace") spec.Set("trace", TestTrace());
    return spec.Text();
  }
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.Spec(); }

// What the fluid backend refuses: nothing enumerated today (it models every queue disc the
// scenarios offer, at the shaping points and above the bottleneck); everything must run on
// both backends. A refused option must name its key and value.
bool FluidRefuses(const Case&) { return false; }

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (const auto* entry : ScenarioRegistry().Entries()) {
    for (const core::ParamSpec& p : entry->params) {
      if (p.name == "backend") continue;  // every case runs on both
      std::vector<std::string> values = p.choices;
      if (p.type == core::ParamType::kBool) values = {"true", "false"};
      for (const std::string& v : values) {
        for (const char* backend : {"ns3", "fluid"})
          cases.push_back({entry->name, p.name, v, backend});
      }
    }
  }
  return cases;
}

class ScenarioOptions : public ::testing::TestWithParam<Case> {};

TEST_P(ScenarioOptions, RunsOrIsRefusedClearly) {
  const Case& c = GetParam();
  SCOPED_TRACE(c.Spec());
  if (FluidRefuses(c)) {
    try {
      MakeScenario(c.Spec())->Start(1);
      FAIL() << "the fluid backend accepted an option it does not model";
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(c.key + " = '" + c.value + "'"), std::string::npos) << what;
    }
    return;
  }
  auto s = MakeScenario(c.Spec());
  s->Start(1);
  const double step = c.family == "datacenter" ? 0.02 : 0.5;
  std::map<std::string, double> delivered;  // bytes per link over the run, class "all"
  for (int i = 0; i < 4; ++i) {
    const auto samples = s->Advance(step);
    // One sample per link and class with traffic, plus "all".
    ASSERT_EQ(samples.size(), s->info().links.size() * (s->info().classes.size() + 1));
    for (const LinkSample& sample : samples) {
      EXPECT_NEAR(sample.time_s, step * (i + 1), 1e-9);
      EXPECT_GE(sample.loss_rate, 0.0);
      EXPECT_LE(sample.loss_rate, 1.0);
      EXPECT_TRUE(std::isfinite(sample.capacity_mbps));
      if (sample.app_class == "all") delivered[sample.link] += sample.bytes_delivered;
    }
  }
  double total = 0;
  for (const auto& [link, bytes] : delivered) total += bytes;
  EXPECT_GT(total, 10000.0) << "no traffic delivered";
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string name =
      info.param.family + "_" + info.param.key + "_" + info.param.value + "_" + info.param.backend;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(EveryEnumeratedValue, ScenarioOptions, ::testing::ValuesIn(AllCases()),
                         CaseName);

}  // namespace
}  // namespace linklab::sim
