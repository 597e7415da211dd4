#pragma once
// The shaping reward: a weighted sum over one step of one link, computed by default from the
// [observable] fields only (sim/link_sample.h), so that the live runner computes it too:
//
//   reward = w_throughput * T - w_delay * D - w_loss * L + w_efficiency * E - w_sla * S
//
//   T  throughput: the mean over the classes of log2(1 + delivered Mbit/s) (1 at 1 Mbit/s, 3
//      at 7; the log rewards serving every class over piling rate on one)
//   D  delay: the mean over the classes of the class's RTT p95 / delay_scale_ms (100 ms by
//      default). A step without RTT samples of a class uses the class's last RTT p95 of the
//      episode; before its first, the queueing delay its backlog implies (backlog / service
//      rate, as the encoder computes it). Each class's delay counts at most 10 s.
//   L  loss: the mean over the classes of drops / (drops + packets delivered), in [0, 1]
//   E  efficiency: the link's delivered rate / the HTB root rate in force, at most 1 (rate the
//      shaper allows but the link does not carry is wasted); with efficiency = capacity, the
//      delivered rate / the true capacity (simulator truth: research only)
//   S  the number of classes with at least one violated SLA this step
//
// SLAs: a list "class.metric<bound" or "class.metric>bound" ("[...]" brackets optional), e.g.
// "gaming.rtt_p95_ms<80,video.mbps>2.5,web.rtt_p95_ms<150". Metrics: mbps (delivered
// Mbit/s), rtt_p50_ms, rtt_p95_ms (the class's RTT as D uses it: held over steps without
// samples, not violated before the first), qdelay_ms (queueing delay implied by the backlog),
// loss (drops / (drops + delivered packets)).

#include <array>
#include <string>
#include <vector>

#include "sim/link_sample.h"
#include "sim/shaping.h"

namespace linklab::sim {

enum class SlaMetric { kMbps, kRttP50Ms, kRttP95Ms, kQdelayMs, kLoss };

struct Sla {
  AppClass app_class = AppClass::kOther;
  SlaMetric metric = SlaMetric::kMbps;
  bool below = true;  // "<": the metric must stay below the bound; ">": above
  double bound = 0.0;
  std::string text;  // as written, for messages and info
};

// Parses an SLA list (grammar above); `key` names the setting in messages ("sla"). Every SLA
// must be on one of `classes` (the classes with traffic): an unknown class, a class without
// traffic, an unknown metric or operator and a bad bound are std::invalid_argument naming the
// key, the item and what is wrong.
std::vector<Sla> ParseSlas(const std::string& text, const std::string& key,
                           const std::vector<AppClass>& classes);

struct RewardSpec {
  std::string link = "down";
  std::vector<AppClass> classes;  // the classes whose terms are averaged
  double w_throughput = 1.0;
  double w_delay = 1.0;
  double w_loss = 1.0;
  double w_efficiency = 0.5;
  double w_sla = 1.0;
  double delay_scale_ms = 100.0;
  bool efficiency_from_capacity = false;  // E from capacity_mbps (truth) instead of the root rate
  std::vector<Sla> slas;
  // Throws std::invalid_argument for negative or non-finite weights, delay_scale_ms <= 0, no
  // classes, or an SLA on a class not in `classes`.
  void Validate(const std::string& prefix = "reward") const;
};

// The terms of one step's reward (before weighting) and the weighted total.
struct RewardTerms {
  double throughput = 0.0, delay = 0.0, loss = 0.0, efficiency = 0.0;
  int sla_violations = 0;  // classes with a violated SLA
  // Per class (indexed by AppClass): whether the step violated one of its SLAs.
  std::array<bool, kNumAppClasses> class_violated{};
  double total = 0.0;
};

class RewardCalculator {
 public:
  explicit RewardCalculator(RewardSpec spec);  // validates `spec`
  const RewardSpec& spec() const { return spec_; }
  // Forgets the held RTTs (an episode's start).
  void Reset();
  // The reward of one step from its samples (this link's per class and "all"; others ignored)
  // and the shaping in force. Throws std::invalid_argument naming a missing sample.
  RewardTerms Compute(const std::vector<LinkSample>& samples, const HtbConfig& shaping);

 private:
  RewardSpec spec_;
  std::array<double, kNumAppClasses> held_p50_{}, held_p95_{};  // NaN: no RTT yet
};

}  // namespace linklab::sim
