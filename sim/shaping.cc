#include "sim/shaping.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "core/ini.h"
#include "core/params.h"
#include "core/text.h"

namespace linklab::sim {

void HtbConfig::Validate() const {
  if (!(link_rate_bps > 0)) {
    throw std::invalid_argument("shaping: link rate " + core::FormatDouble(link_rate_bps) +
                                " bit/s must be > 0");
  }
  if (class_queue_packets < 1) throw std::invalid_argument("shaping: class queue must be >= 1");
  bool has_default = false;
  for (size_t i = 0; i < classes.size(); ++i) {
    const HtbClassConfig& c = classes[i];
    const std::string what = std::string("shaping class ") + AppClassName(c.app_class);
    if (!(c.rate_bps > 0)) {
      throw std::invalid_argument(what + ": rate " + core::FormatDouble(c.rate_bps) +
                                  " bit/s must be > 0");
    }
    if (!(c.ceil_bps >= c.rate_bps)) {
      throw std::invalid_argument(what + ": ceil " + core::FormatDouble(c.ceil_bps) +
                                  " bit/s is below its rate " + core::FormatDouble(c.rate_bps));
    }
    if (!(c.quantum_bytes >= 0)) {
      throw std::invalid_argument(what + ": quantum " + core::FormatDouble(c.quantum_bytes) +
                                  " bytes must be >= 0 (0: rate / r2q)");
    }
    if (c.prio < 0 || c.prio > 7) {
      throw std::invalid_argument(what + ": prio " + std::to_string(c.prio) + " is outside 0..7");
    }
    for (size_t j = 0; j < i; ++j) {
      if (classes[j].app_class == c.app_class) throw std::invalid_argument(what + " given twice");
    }
    has_default = has_default || c.app_class == default_class;
  }
  if (!has_default) {
    throw std::invalid_argument(std::string("shaping: no class for the default class ") +
                                AppClassName(default_class));
  }
}

HtbConfig TransparentHtb(double link_rate_bps) {
  HtbConfig c;
  c.link_rate_bps = link_rate_bps;
  for (int i = 0; i < kNumAppClasses; ++i) {
    c.classes.push_back(
        {static_cast<AppClass>(i), link_rate_bps / kNumAppClasses, link_rate_bps, 0});
  }
  c.default_class = AppClass::kOther;
  return c;
}

HtbConfig ScaledHtb(HtbConfig config, double scale) {
  config.link_rate_bps *= scale;
  for (auto& c : config.classes) {
    c.rate_bps *= scale;
    c.ceil_bps *= scale;
  }
  return config;
}

double HtbQuantumBytes(const HtbClassConfig& c) {
  constexpr double kR2q = 10.0, kMin = 1000.0, kMax = 200000.0;  // Linux's defaults
  return c.quantum_bytes > 0 ? c.quantum_bytes : std::clamp(c.rate_bps / 8.0 / kR2q, kMin, kMax);
}

double HtbBurstBytes(double rate_bps) {
  constexpr double kMtuBytes = 1600.0, kBurstTimeS = 0.001;
  return rate_bps / 8.0 * kBurstTimeS + kMtuBytes;
}

std::vector<double> HtbExpectedRates(const HtbConfig& config, const std::vector<AppClass>& busy) {
  config.Validate();
  const size_t n = config.classes.size();
  std::vector<double> rate(n, 0.0);
  std::vector<bool> is_busy(n, false);
  double spare = config.link_rate_bps;
  for (size_t i = 0; i < n; ++i) {
    const HtbClassConfig& c = config.classes[i];
    is_busy[i] = std::find(busy.begin(), busy.end(), c.app_class) != busy.end();
    if (!is_busy[i]) continue;
    rate[i] = c.rate_bps;  // sent within its own tokens, whatever the root has
    spare -= c.rate_bps;
  }
  // Water-filling per prio: share what is left by quantum among the classes below their ceil;
  // a class that reaches its ceil leaves the round and its part goes round again.
  for (int prio = 0; prio <= 7 && spare > 0; ++prio) {
    for (size_t round = 0; round < n && spare > 0; ++round) {
      double weight = 0.0;
      for (size_t i = 0; i < n; ++i) {
        const HtbClassConfig& c = config.classes[i];
        if (is_busy[i] && c.prio == prio && rate[i] < c.ceil_bps) weight += HtbQuantumBytes(c);
      }
      if (weight <= 0) break;
      double given = 0.0;
      for (size_t i = 0; i < n; ++i) {
        const HtbClassConfig& c = config.classes[i];
        if (!is_busy[i] || c.prio != prio || rate[i] >= c.ceil_bps) continue;
        const double g = std::min(c.ceil_bps - rate[i], spare * HtbQuantumBytes(c) / weight);
        rate[i] += g;
        given += g;
      }
      spare -= given;
    }
  }
  return rate;
}

std::string PacketMatch::Text() const {
  switch (kind) {
    case Kind::kDscp:
      return "dscp:" + std::to_string(value);
    case Kind::kPort:
      return "port:" + std::to_string(value);
    case Kind::kProto:
      if (value == 1) return "proto:icmp";
      if (value == 6) return "proto:tcp";
      if (value == 17) return "proto:udp";
      return "proto:" + std::to_string(value);
  }
  return "?";
}

PacketMatch ParsePacketMatch(const std::string& text, const std::string& what) {
  const size_t colon = text.find(':');
  const std::string kind = core::Trim(text.substr(0, colon));
  const std::string value = colon == std::string::npos ? "" : core::Trim(text.substr(colon + 1));
  auto number = [&](int lo, int hi) {
    char* end = nullptr;
    const long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || v < lo || v > hi) {
      throw std::invalid_argument(what + " '" + core::Printable(text) + "': " + kind +
                                  " must be a whole number in " + std::to_string(lo) + ".." +
                                  std::to_string(hi));
    }
    return static_cast<int>(v);
  };
  if (kind == "dscp") return {PacketMatch::Kind::kDscp, number(0, 63)};
  if (kind == "port") return {PacketMatch::Kind::kPort, number(1, 65535)};
  if (kind == "proto") {
    if (value == "icmp") return {PacketMatch::Kind::kProto, 1};
    if (value == "tcp") return {PacketMatch::Kind::kProto, 6};
    if (value == "udp") return {PacketMatch::Kind::kProto, 17};
    return {PacketMatch::Kind::kProto, number(0, 255)};
  }
  throw std::invalid_argument(what + " '" + core::Printable(text) +
                              "': expected port:N, dscp:N or proto:icmp|tcp|udp|N");
}

ShapingFile ReadShapingFile(const std::string& path) {
  std::vector<std::string> sections = {"shaping"};
  for (int i = 0; i < kNumAppClasses; ++i) sections.push_back(AppClassName(AppClass(i)));
  std::map<std::string, core::RawValues> raw;
  for (const core::IniEntry& e : core::ReadIni(path, sections, "shaping file")) {
    raw[e.section][e.key] = {e.value, path + ":" + std::to_string(e.line)};
  }
  if (!raw.count("shaping")) throw std::invalid_argument("shaping file " + path + ": no [shaping]");
  const core::Params top = core::Params::Resolve(
      {core::StringParam("point", "down", "the scenario's shaping point"),
       core::DoubleParam("link_mbps", 0.0, "the root's rate", 0.0),
       core::StringParam("default", "other", "class of unclassified packets"),
       core::IntParam("queue_packets", 1000, "each class's queue limit", 1, 1000000)},
      raw["shaping"], "[shaping]");
  ShapingFile out;
  out.point = top.String("point");
  out.config.link_rate_bps = top.Double("link_mbps") * 1e6;
  if (!(out.config.link_rate_bps > 0)) {
    throw std::invalid_argument("shaping file " + path + ": [shaping] link_mbps must be set > 0");
  }
  out.config.default_class =
      ParseAppClass(top.String("default"), "shaping file " + path + ": [shaping] default");
  out.config.class_queue_packets = static_cast<int>(top.Int("queue_packets"));
  const std::vector<core::ParamSpec> class_keys = {
      core::DoubleParam("rate_mbps", 0.0, "guaranteed rate", 0.0),
      core::DoubleParam("ceil_mbps", 0.0, "may borrow up to this; 0: the rate", 0.0),
      core::IntParam("prio", 0, "0..7, lower first", 0, 7),
      core::DoubleParam("quantum", 0.0, "bytes per round; 0: rate / r2q", 0.0),
      core::StringParam("match", "", "packets of the class: port:N, dscp:N, proto:P")};
  std::vector<std::string> match_where;  // file:line of each match, for overlap errors
  for (const std::string& name : sections) {
    if (name == "shaping" || !raw.count(name)) continue;
    const core::Params p = core::Params::Resolve(class_keys, raw[name], "[" + name + "]");
    HtbClassConfig c;
    c.app_class = ParseAppClass(name, "section");
    c.rate_bps = p.Double("rate_mbps") * 1e6;
    if (!(c.rate_bps > 0)) {
      throw std::invalid_argument("shaping file " + path + ": [" + name +
                                  "] rate_mbps must be set > 0");
    }
    c.ceil_bps = p.Double("ceil_mbps") > 0 ? p.Double("ceil_mbps") * 1e6 : c.rate_bps;
    c.prio = static_cast<int>(p.Int("prio"));
    c.quantum_bytes = p.Double("quantum");
    out.config.classes.push_back(c);
    const std::string where = raw[name].count("match") ? raw[name]["match"].origin : path;
    const std::string what = "shaping file " + where + ": [" + name + "] match";
    std::vector<PacketMatch> matches;
    for (const std::string& item : core::Split(p.String("match"), ',')) {
      if (core::Trim(item).empty()) continue;
      matches.push_back(ParsePacketMatch(core::Trim(item), what));
    }
    // Without a match: the class's DSCP mark, except for the default class and an unmarked
    // class (CS0), which take what no other class does.
    if (!raw[name].count("match") && c.app_class != out.config.default_class &&
        DefaultDscp(c.app_class) != 0) {
      matches.push_back({PacketMatch::Kind::kDscp, DefaultDscp(c.app_class)});
    }
    for (const PacketMatch& m : matches) {
      for (size_t k = 0; k < out.matches.size(); ++k) {
        for (const PacketMatch& other : out.matches[k]) {
          if (other == m) {
            throw std::invalid_argument(what + " " + m.Text() + " overlaps [" +
                                        AppClassName(out.config.classes[k].app_class) + "]'s (" +
                                        match_where[k] +
                                        "): a packet can belong to one class only");
          }
        }
      }
    }
    out.matches.push_back(std::move(matches));
    match_where.push_back(where);
  }
  try {
    out.config.Validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("shaping file " + path + ": " + e.what());
  }
  return out;
}

}  // namespace linklab::sim
