#include "live/control.h"

#include <prometheus/registry.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>

#include "core/text.h"

namespace linklab::live {

namespace {

// Throws std::invalid_argument unless `q` is a requirement a class can have (see SetQos).
void ValidateQos(sim::AppClass c, const QosRequirement& q) {
  const std::string name = std::string("QoS of class ") + sim::AppClassName(c);
  if (!std::isfinite(q.min_mbps) || q.min_mbps < 0.0) {
    throw std::invalid_argument(name + ": min_mbps " + core::FormatDouble(q.min_mbps) +
                                " must be finite and >= 0");
  }
  if (!std::isnan(q.max_rtt_ms) && !(std::isfinite(q.max_rtt_ms) && q.max_rtt_ms > 0.0)) {
    throw std::invalid_argument(name + ": max_rtt_ms " + core::FormatDouble(q.max_rtt_ms) +
                                " must be finite and > 0 (or null: no bound)");
  }
  if (!std::isnan(q.max_loss) && !(q.max_loss > 0.0 && q.max_loss <= 1.0)) {
    throw std::invalid_argument(name + ": max_loss " + core::FormatDouble(q.max_loss) +
                                " must be in (0, 1] (or null: no bound)");
  }
}

}  // namespace

core::Json DecisionToJson(const Decision& d) {
  core::Json classes = core::Json::array();
  for (const sim::HtbClassConfig& c : d.config.classes) {
    classes.push_back({{"class", sim::AppClassName(c.app_class)},
                       {"rate_bps", c.rate_bps},
                       {"ceil_bps", c.ceil_bps},
                       {"prio", c.prio}});
  }
  core::Json config = {{"link_rate_bps", d.config.link_rate_bps},
                       {"default", sim::AppClassName(d.config.default_class)},
                       {"classes", std::move(classes)}};
  return {{"time_s", d.time_s},   {"source", d.source},         {"action", d.action},
          {"reason", d.reason},   {"confidence", d.confidence}, {"inference_us", d.inference_us},
          {"applied", d.applied}, {"config", std::move(config)}};
}

std::string DecisionJson(const Decision& d) {
  // NaN is written as null; bytes that are not UTF-8 (an action's name) as U+FFFD.
  return DecisionToJson(d).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ControlState::ControlState(std::vector<sim::AppClass> classes)
    : classes_(std::move(classes)), registry_(std::make_shared<prometheus::Registry>()) {
  for (sim::AppClass c : classes_) {
    if (!qos_.emplace(c, QosRequirement{}).second) {
      throw std::invalid_argument(std::string("ControlState: class ") + sim::AppClassName(c) +
                                  " given twice");
    }
  }
}

bool ControlState::adaptive() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return adaptive_;
}

void ControlState::SetAdaptive(bool on) {
  std::lock_guard<std::mutex> lock(mutex_);
  adaptive_ = on;
}

void ControlState::SetQos(sim::AppClass c, const QosRequirement& q) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = qos_.find(c);
  if (it == qos_.end()) {
    std::vector<std::string> names;
    for (sim::AppClass s : classes_) names.push_back(sim::AppClassName(s));
    throw std::invalid_argument(std::string("QoS: class ") + sim::AppClassName(c) +
                                " is not shaped (classes: " + core::Join(names, ", ") + ")");
  }
  ValidateQos(c, q);
  it->second = q;
}

std::map<sim::AppClass, QosRequirement> ControlState::qos() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return qos_;
}

void ControlState::AddDecision(Decision d) {
  std::lock_guard<std::mutex> lock(mutex_);
  decisions_.push_back(std::move(d));
  while (decisions_.size() > kMaxDecisions) decisions_.pop_front();
  ++decisions_total_;
}

std::vector<Decision> ControlState::RecentDecisions(size_t n) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const size_t count = std::min(n, decisions_.size());
  return std::vector<Decision>(decisions_.end() - static_cast<std::ptrdiff_t>(count),
                               decisions_.end());
}

uint64_t ControlState::decisions_total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return decisions_total_;
}

void ControlState::SetStatusJson(std::string json) {
  std::lock_guard<std::mutex> lock(mutex_);
  status_json_ = std::move(json);
}

std::string ControlState::StatusJson() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_json_;
}

}  // namespace linklab::live
