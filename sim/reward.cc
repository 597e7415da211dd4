#include "sim/reward.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/text.h"
#include "sim/observation.h"

namespace linklab::sim {

namespace {

struct MetricName {
  const char* name;
  SlaMetric metric;
};

const MetricName kMetrics[] = {{"mbps", SlaMetric::kMbps},
                               {"rtt_p50_ms", SlaMetric::kRttP50Ms},
                               {"rtt_p95_ms", SlaMetric::kRttP95Ms},
                               {"qdelay_ms", SlaMetric::kQdelayMs},
                               {"loss", SlaMetric::kLoss}};

std::string MetricList() {
  std::vector<std::string> names;
  for (const MetricName& m : kMetrics) names.push_back(m.name);
  return core::Join(names, ", ");
}

std::string ClassList(const std::vector<AppClass>& classes) {
  std::vector<std::string> names;
  for (AppClass c : classes) names.push_back(AppClassName(c));
  return names.empty() ? "none" : core::Join(names, ", ");
}

// Delays above this count as this much in the delay term (an outage's RTTs would swamp it).
constexpr double kMaxDelayMs = 1e4;

double Loss(const LinkSample& s) {
  const double decided = static_cast<double>(s.drops) + static_cast<double>(s.packets_delivered);
  return decided > 0 ? s.drops / decided : 0.0;
}

}  // namespace

std::vector<Sla> ParseSlas(const std::string& text, const std::string& key,
                           const std::vector<AppClass>& classes) {
  std::string body = core::Trim(text);
  if (body.size() >= 2 && body.front() == '[' && body.back() == ']') {
    body = core::Trim(body.substr(1, body.size() - 2));
  }
  std::vector<Sla> out;
  if (body.empty()) return out;
  for (const std::string& raw : core::Split(body, ',')) {
    const std::string item = core::Trim(raw);
    const std::string where =
        key + " = '" + core::Printable(text) + "': item '" + core::Printable(item) + "': ";
    if (item.empty()) throw std::invalid_argument(where + "empty (two commas?)");
    const size_t op = item.find_first_of("<>");
    if (op == std::string::npos || item.find_first_of("<>", op + 1) != std::string::npos) {
      throw std::invalid_argument(where +
                                  "expected class.metric<bound or class.metric>bound, e.g. "
                                  "gaming.rtt_p95_ms<80");
    }
    const std::string lhs = core::Trim(item.substr(0, op));
    const size_t dot = lhs.find('.');
    if (dot == std::string::npos) {
      throw std::invalid_argument(where + "expected class.metric before '" + item[op] + "'");
    }
    Sla sla;
    sla.text = item;
    sla.below = item[op] == '<';
    const std::string class_name = core::Trim(lhs.substr(0, dot));
    sla.app_class = ParseAppClass(class_name, where + "class");
    if (std::find(classes.begin(), classes.end(), sla.app_class) == classes.end()) {
      throw std::invalid_argument(
          where + "class " + class_name +
          " has no traffic in the workload (classes with traffic: " + ClassList(classes) + ")");
    }
    const std::string metric = core::Trim(lhs.substr(dot + 1));
    bool known = false;
    for (const MetricName& m : kMetrics) {
      if (metric == m.name) {
        sla.metric = m.metric;
        known = true;
      }
    }
    if (!known) {
      throw std::invalid_argument(where + "unknown metric '" + core::Printable(metric) +
                                  "'; metrics: " + MetricList());
    }
    sla.bound = core::ParseDouble(core::Trim(item.substr(op + 1)), where + "bound");
    if (!std::isfinite(sla.bound)) throw std::invalid_argument(where + "the bound must be finite");
    out.push_back(sla);
  }
  return out;
}

void RewardSpec::Validate(const std::string& prefix) const {
  const std::string p = prefix + ": ";
  if (classes.empty()) throw std::invalid_argument(p + "no classes");
  const std::pair<const char*, double> weights[] = {{"w_throughput", w_throughput},
                                                    {"w_delay", w_delay},
                                                    {"w_loss", w_loss},
                                                    {"w_efficiency", w_efficiency},
                                                    {"w_sla", w_sla}};
  for (const auto& [name, w] : weights) {
    if (!(w >= 0) || !std::isfinite(w)) {
      throw std::invalid_argument(p + name + " = " + core::FormatDouble(w) +
                                  ": must be finite and >= 0");
    }
  }
  if (!(delay_scale_ms > 0) || !std::isfinite(delay_scale_ms)) {
    throw std::invalid_argument(p + "delay_scale_ms = " + core::FormatDouble(delay_scale_ms) +
                                ": must be > 0");
  }
  for (const Sla& s : slas) {
    if (std::find(classes.begin(), classes.end(), s.app_class) == classes.end()) {
      throw std::invalid_argument(p + "sla '" + s.text + "': class " + AppClassName(s.app_class) +
                                  " is not among the classes (" + ClassList(classes) + ")");
    }
  }
}

RewardCalculator::RewardCalculator(RewardSpec spec) : spec_(std::move(spec)) {
  spec_.Validate();
  Reset();
}

void RewardCalculator::Reset() {
  held_p50_.fill(std::nan(""));
  held_p95_.fill(std::nan(""));
}

RewardTerms RewardCalculator::Compute(const std::vector<LinkSample>& samples,
                                      const HtbConfig& shaping) {
  const LinkSamples picked = SelectLinkSamples(samples, spec_.link, spec_.classes, "reward");
  const LinkSample* all = picked.all;
  const auto& mine = picked.classes;
  const size_t n = spec_.classes.size();
  RewardTerms r;
  std::array<double, kNumAppClasses> mbps{}, qdelay{}, loss{};
  for (size_t k = 0; k < n; ++k) {
    const AppClass c = spec_.classes[k];
    const LinkSample& s = *mine[k];
    const int ci = static_cast<int>(c);
    if (std::isfinite(s.rtt_p50_ms) && std::isfinite(s.rtt_p95_ms)) {
      held_p50_[ci] = s.rtt_p50_ms;
      held_p95_[ci] = s.rtt_p95_ms;
    }
    mbps[k] = DeliveredBps(s) / 1e6;
    qdelay[k] = ImpliedQueueDelayMs(s, shaping, c);
    loss[k] = Loss(s);
    const double delay_ms =
        std::min(std::isfinite(held_p95_[ci]) ? held_p95_[ci] : qdelay[k], kMaxDelayMs);
    r.throughput += std::log2(1.0 + mbps[k]) / n;
    r.delay += delay_ms / spec_.delay_scale_ms / n;
    r.loss += loss[k] / n;
  }
  const double link_bps = DeliveredBps(*all);
  if (spec_.efficiency_from_capacity) {
    const double cap = all->capacity_mbps * 1e6;
    r.efficiency = cap > 0 && std::isfinite(cap) ? std::min(1.0, link_bps / cap) : 1.0;
  } else {
    r.efficiency =
        shaping.link_rate_bps > 0 ? std::min(1.0, link_bps / shaping.link_rate_bps) : 0.0;
  }
  // A class counts once, however many of its SLAs it violates.
  std::array<bool, kNumAppClasses> violated{};
  for (const Sla& sla : spec_.slas) {
    size_t k = 0;
    while (k < n && spec_.classes[k] != sla.app_class) ++k;
    if (k == n) continue;
    const int ci = static_cast<int>(sla.app_class);
    double value = 0.0;
    switch (sla.metric) {
      case SlaMetric::kMbps:
        value = mbps[k];
        break;
      case SlaMetric::kRttP50Ms:
        value = held_p50_[ci];
        break;
      case SlaMetric::kRttP95Ms:
        value = held_p95_[ci];
        break;
      case SlaMetric::kQdelayMs:
        value = qdelay[k];
        break;
      case SlaMetric::kLoss:
        value = loss[k];
        break;
    }
    if (std::isnan(value)) continue;  // no RTT yet: nothing to judge
    if (sla.below ? !(value < sla.bound) : !(value > sla.bound)) violated[k] = true;
  }
  for (size_t k = 0; k < n; ++k) {
    r.sla_violations += violated[k];
    r.class_violated[static_cast<int>(spec_.classes[k])] = violated[k];
  }
  r.total = spec_.w_throughput * r.throughput - spec_.w_delay * r.delay - spec_.w_loss * r.loss +
            spec_.w_efficiency * r.efficiency - spec_.w_sla * r.sla_violations;
  return r;
}

}  // namespace linklab::sim
