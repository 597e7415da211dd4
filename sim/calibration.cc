#include "sim/calibration.h"

#include <cmath>
#include <iostream>
#include <map>
#include <stdexcept>

#include "core/registry.h"
#include "sim/scenario.h"

namespace linklab::sim {
namespace {

struct MetricDef {
  const char* name;
  double LinkSample::*field;  // nullptr: throughput
  double target, floor;
};

std::vector<MetricDef> MetricsOf(const std::string& app_class) {
  std::vector<MetricDef> m = {{"throughput_mbps", nullptr, 0.10, 0.01},
                              {"delay_p95_ms", &LinkSample::delay_p95_ms, 0.25, 5.0}};
  if (app_class == "video") {
    m.push_back({"video_bitrate_kbps", &LinkSample::video_bitrate_kbps, 0.25, 50.0});
    m.push_back({"video_stall_s", &LinkSample::video_stall_s, 0.25, 0.5});
  } else if (app_class == "gaming") {
    m.push_back({"rtt_p95_ms", &LinkSample::rtt_p95_ms, 0.25, 5.0});
    m.push_back({"game_loss_rate", &LinkSample::game_loss_rate, 0.25, 0.005});
  } else if (app_class == "web") {
    m.push_back({"fct_ms", &LinkSample::fct_ms, 0.25, 50.0});
  }
  return m;
}

}  // namespace

bool ClassComparison::Within() const {
  for (const auto& m : metrics) {
    if (!m.met) return false;
  }
  return true;
}

const MetricComparison& ClassComparison::Metric(const std::string& name) const {
  for (const auto& m : metrics) {
    if (m.name == name) return m;
  }
  throw std::out_of_range("class " + app_class + ": no metric " + name);
}

std::vector<std::pair<std::string, HtbConfig>> ClassShapingCases(double mbps) {
  const double c = mbps * 1e6;
  const std::pair<AppClass, double> shares[] = {
      {AppClass::kBulk, 0.30}, {AppClass::kVideo, 0.25},  {AppClass::kGaming, 0.05},
      {AppClass::kWeb, 0.15},  {AppClass::kCross, 0.025}, {AppClass::kOther, 0.025}};
  std::vector<std::pair<std::string, HtbConfig>> out;
  for (const std::string n : {"htb_below_capacity", "htb_borrowing", "htb_two_prios"}) {
    HtbConfig h;
    h.link_rate_bps = n == "htb_below_capacity" ? 0.8 * c : c;
    for (const auto& [cls, share] : shares) {
      const bool first = cls == AppClass::kGaming || cls == AppClass::kVideo;
      h.classes.push_back({cls, share * c, n == "htb_below_capacity" ? share * c : c,
                           n == "htb_two_prios" && !first ? 1 : 0});
    }
    out.emplace_back(n, h);
  }
  return out;
}

std::vector<ClassComparison> CompareClasses(const std::string& spec, const HtbConfig* shaping,
                                            double seconds) {
  const char* backends[2] = {"ns3", "fluid"};
  std::map<std::string, LinkSample> by_class[2];
  for (int b = 0; b < 2; ++b) {
    auto s =
        MakeScenario(core::Spec::Parse(spec, "scenario spec").Set("backend", backends[b]).Text());
    s->Start(1);
    if (shaping) s->ApplyShaping("down", *shaping);
    for (const LinkSample& x : s->Advance(seconds)) {
      if (x.link == "down" && x.app_class != "all") by_class[b][x.app_class] = x;
    }
  }
  std::vector<ClassComparison> out;
  for (const auto& [cls, ns3] : by_class[0]) {
    const LinkSample& fluid = by_class[1].at(cls);
    ClassComparison row{cls, {}};
    for (const MetricDef& d : MetricsOf(cls)) {
      const auto value = [&](const LinkSample& x) {
        return d.field ? x.*d.field : x.bytes_delivered * 8e-6 / x.interval_s;
      };
      MetricComparison m{d.name, value(ns3), value(fluid), d.target, d.floor, false};
      m.met = std::isfinite(m.ns3) && std::isfinite(m.fluid) &&
              std::fabs(m.fluid - m.ns3) <= std::max(m.target * std::fabs(m.ns3), m.floor);
      row.metrics.push_back(m);
    }
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace linklab::sim
