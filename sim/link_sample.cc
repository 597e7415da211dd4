#include "sim/link_sample.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <variant>

namespace linklab::sim {

namespace {

// Every numeric field once: its name and where it lives.
struct Field {
  const char* name;
  std::variant<double LinkSample::*, uint64_t LinkSample::*> member;
  bool truth = false;  // [truth] in link_sample.h
};

const Field kFields[] = {
    {"time_s", &LinkSample::time_s},
    {"interval_s", &LinkSample::interval_s},
    {"bytes_offered", &LinkSample::bytes_offered},
    {"packets_offered", &LinkSample::packets_offered},
    {"bytes_delivered", &LinkSample::bytes_delivered},
    {"packets_delivered", &LinkSample::packets_delivered},
    {"drops", &LinkSample::drops},
    {"backlog_bytes", &LinkSample::backlog_bytes},
    {"backlog_packets", &LinkSample::backlog_packets},
    {"loss_rate", &LinkSample::loss_rate},
    {"delay_p50_ms", &LinkSample::delay_p50_ms, true},
    {"delay_p95_ms", &LinkSample::delay_p95_ms, true},
    {"jitter_ms", &LinkSample::jitter_ms, true},
    {"rtt_p50_ms", &LinkSample::rtt_p50_ms},
    {"rtt_p95_ms", &LinkSample::rtt_p95_ms},
    {"capacity_mbps", &LinkSample::capacity_mbps, true},
    {"goodput_mbps", &LinkSample::goodput_mbps, true},
    {"video_bitrate_kbps", &LinkSample::video_bitrate_kbps, true},
    {"video_stall_s", &LinkSample::video_stall_s, true},
    {"video_buffer_s", &LinkSample::video_buffer_s, true},
    {"fct_ms", &LinkSample::fct_ms, true},
    {"flows_done", &LinkSample::flows_done, true},
    {"game_loss_rate", &LinkSample::game_loss_rate, true},
    {"hour_of_day", &LinkSample::hour_of_day},
    {"day_of_week", &LinkSample::day_of_week},
};

}  // namespace

const std::vector<std::string>& LinkSampleFields() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Field& f : kFields) out.push_back(f.name);
    return out;
  }();
  return names;
}

std::vector<double> LinkSampleValues(const LinkSample& s) {
  std::vector<double> out;
  out.reserve(std::size(kFields));
  for (const Field& f : kFields) {
    out.push_back(std::visit([&s](auto m) { return static_cast<double>(s.*m); }, f.member));
  }
  return out;
}

const std::vector<std::string>& LinkSampleTruthFields() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Field& f : kFields) {
      if (f.truth) out.push_back(f.name);
    }
    return out;
  }();
  return names;
}

void SetLinkSampleField(LinkSample& s, const std::string& name, double value) {
  for (const Field& f : kFields) {
    if (name != f.name) continue;
    if (auto* d = std::get_if<double LinkSample::*>(&f.member)) {
      s.** d = value;
    } else {
      const double count = std::isnan(value) ? 0.0 : std::max(0.0, std::round(value));
      s.*std::get<uint64_t LinkSample::*>(f.member) =
          static_cast<uint64_t>(std::min(count, 1.8e19));
    }
    return;
  }
  throw std::invalid_argument("LinkSample has no numeric field '" + name + "'");
}

LinkSamples SelectLinkSamples(const std::vector<LinkSample>& samples, const std::string& link,
                              const std::vector<AppClass>& classes, const std::string& what) {
  LinkSamples out;
  if (classes.size() > out.classes.size()) {
    throw std::invalid_argument(what + ": more classes than there are");
  }
  for (const LinkSample& s : samples) {
    if (s.link != link) continue;
    if (s.app_class == "all") {
      out.all = &s;
      continue;
    }
    for (size_t k = 0; k < classes.size(); ++k) {
      if (s.app_class == AppClassName(classes[k])) out.classes[k] = &s;
    }
  }
  if (!out.all) throw std::invalid_argument(what + ": no \"all\" sample for link " + link);
  for (size_t k = 0; k < classes.size(); ++k) {
    if (!out.classes[k]) {
      throw std::invalid_argument(what + ": no sample of class " + AppClassName(classes[k]) +
                                  " for link " + link);
    }
  }
  return out;
}

const std::vector<SeriesFeatureColumn>& SeriesFeatureColumns() {
  static const std::vector<SeriesFeatureColumn> columns = {
      {"bandwidth", "capacity_mbps"},
      {"latency", "delay_p50_ms"},
      {"loss", "loss_rate"},
      {"jitter", "jitter_ms"},
      {"hour", "hour_of_day"},
      {"day", "day_of_week"},
      {"traffic", "bytes_offered", true, 8e-6},
      {"throughput", "bytes_delivered", true, 8e-6},
      {"packets", "packets_offered", true},
      {"rtt", "rtt_p50_ms"},
      {"delay_p95", "delay_p95_ms"},
      {"backlog", "backlog_bytes", false, 1e-3}};
  return columns;
}

}  // namespace linklab::sim
