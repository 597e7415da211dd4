#pragma once
// The state linklab-live shares between its control loop and its HTTP server: what the
// control API reads (status, recent decisions) and changes (adaptive shaping on or off,
// per-class QoS requirements), and the Prometheus registry /metrics exposes. Thread-safe: the
// loop writes, the server reads and posts changes; every access takes the one mutex, and no
// call blocks on the network.

#include <cmath>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/json.h"
#include "sim/app_class.h"
#include "sim/shaping.h"

namespace prometheus {
class Registry;
}

namespace linklab::live {

// A class's QoS requirement (source 004's client API): the runner keeps at least `min_mbps`
// guaranteed to the class in every config it applies (as far as the total allows) and counts
// the intervals in which the class's RTT p95 or loss exceeded the bounds. NaN: no bound.
struct QosRequirement {
  double min_mbps = 0.0;
  double max_rtt_ms = NAN;
  double max_loss = NAN;
};

// One decision of the loop (an interval's).
struct Decision {
  double time_s = 0.0;        // seconds since the runner started
  std::string source;         // "policy", "autorate", "static", ... or "fallback"
  std::string action;         // the action's name or values, for people
  std::string reason;         // why a fallback or a hold ("stale observation", ...); "" otherwise
  double confidence = NAN;    // the policy's (a categorical head's top probability), NaN: none
  double inference_us = NAN;  // time to run the model, NaN when no model ran
  bool applied = false;       // false in shadow mode, with adaptive shaping off, or on a hold
  sim::HtbConfig config;      // the config decided (applied or not)
};

// `d` as the control API and the decision log write it: time_s, source, action, reason,
// confidence, inference_us (NaN as null), applied and config {link_rate_bps, default,
// classes: [{class, rate_bps, ceil_bps, prio}]}.
core::Json DecisionToJson(const Decision& d);
// DecisionToJson's text on one line (no newline), for a JSON-lines log.
std::string DecisionJson(const Decision& d);

class ControlState {
 public:
  static constexpr size_t kMaxDecisions = 256;  // recent decisions kept

  explicit ControlState(std::vector<sim::AppClass> classes);

  // The shaped classes (those QoS requirements may name).
  const std::vector<sim::AppClass>& classes() const { return classes_; }

  // Adaptive shaping: on, the loop applies its decisions; off, it holds the static safe
  // config (the classes file's) and only logs what it would do.
  bool adaptive() const;
  void SetAdaptive(bool on);

  // Throws std::invalid_argument naming the class or the value (an unknown or unshaped
  // class, a negative or non-finite min_mbps, a non-positive bound) and changes nothing.
  void SetQos(sim::AppClass c, const QosRequirement& q);
  std::map<sim::AppClass, QosRequirement> qos() const;

  // The loop records each decision; the oldest beyond kMaxDecisions are dropped.
  void AddDecision(Decision d);
  // The last `n` decisions, oldest first.
  std::vector<Decision> RecentDecisions(size_t n) const;
  uint64_t decisions_total() const;

  // The status document GET /api/status returns (a JSON object's text, set by the loop).
  void SetStatusJson(std::string json);
  std::string StatusJson() const;

  // The registry the loop's gauges and counters live in; /metrics serialises it.
  prometheus::Registry& registry() { return *registry_; }
  const std::shared_ptr<prometheus::Registry>& registry_ptr() const { return registry_; }

 private:
  std::vector<sim::AppClass> classes_;
  mutable std::mutex mutex_;
  bool adaptive_ = true;
  std::map<sim::AppClass, QosRequirement> qos_;
  std::deque<Decision> decisions_;
  uint64_t decisions_total_ = 0;
  std::string status_json_ = "{}";
  std::shared_ptr<prometheus::Registry> registry_;
};

}  // namespace linklab::live
