#include "sim/controllers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/text.h"
#include "sim/observation.h"

namespace linklab::sim {

namespace {

// static_htb, autorate and oracle's shares: gaming 1 : web 2 : video 3 : bulk 2, others 1.
double StaticWeight(AppClass c) {
  switch (c) {
    case AppClass::kWeb:
    case AppClass::kBulk:
      return 2.0;
    case AppClass::kVideo:
      return 3.0;
    default:
      return 1.0;
  }
}

std::vector<double> StaticWeights(const std::vector<AppClass>& classes) {
  std::vector<double> w;
  for (AppClass c : classes) w.push_back(StaticWeight(c));
  return w;
}

HtbConfig StaticClasses(const ControllerSpec& s, double total_bps) {
  return ClassHtb(s.classes, total_bps, StaticWeights(s.classes), s.guaranteed_fraction, true,
                  s.min_class_bps, s.class_queue_packets);
}

const LinkSample* AllSample(const std::vector<LinkSample>& samples, const std::string& link) {
  for (const LinkSample& x : samples) {
    if (x.link == link && x.app_class == "all") return &x;
  }
  return nullptr;
}

// A config that never changes: none, static_htb and sqm.
class FixedController : public ShapingController {
 public:
  explicit FixedController(HtbConfig config) : config_(std::move(config)) {}
  HtbConfig Reset() override { return config_; }
  HtbConfig Next(const std::vector<LinkSample>&, const HtbConfig&) override { return config_; }

 private:
  HtbConfig config_;
};

// Every class at an equal share of `total_bps`, guaranteed, prio 0.
HtbConfig FlatClasses(const ControllerSpec& s, double total_bps) {
  return ClassHtb(s.classes, total_bps, std::vector<double>(s.classes.size(), 1.0), 1.0, false,
                  s.min_class_bps, s.class_queue_packets);
}

class OracleController : public ShapingController {
 public:
  explicit OracleController(ControllerSpec s) : spec_(std::move(s)) {}
  HtbConfig Reset() override {
    next_bps_ = std::numeric_limits<double>::quiet_NaN();
    return StaticClasses(spec_, spec_.max_link_bps);
  }
  void SetNextCapacityBps(double bps) override { next_bps_ = bps; }
  HtbConfig Next(const std::vector<LinkSample>& samples, const HtbConfig& current) override {
    // [truth] the coming step's capacity, else the last step's (no sample: keep the config).
    double cap_bps = next_bps_;
    next_bps_ = std::numeric_limits<double>::quiet_NaN();
    if (!std::isfinite(cap_bps)) {
      const LinkSample* all = AllSample(samples, spec_.link);
      if (!all || !std::isfinite(all->capacity_mbps)) return current;
      cap_bps = all->capacity_mbps * 1e6;
    }
    const double total =
        std::clamp(spec_.oracle_fraction * cap_bps, spec_.min_link_bps, spec_.max_link_bps);
    return StaticClasses(spec_, total);
  }

 private:
  ControllerSpec spec_;
  double next_bps_ = std::numeric_limits<double>::quiet_NaN();
};

}  // namespace

void ControllerSpec::Validate(const std::string& prefix) const {
  const std::string p = prefix + ": ";
  if (classes.empty()) throw std::invalid_argument(p + "no classes to shape");
  for (size_t i = 0; i < classes.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (classes[i] == classes[j]) {
        throw std::invalid_argument(p + "class " + AppClassName(classes[i]) + " twice");
      }
    }
  }
  auto positive = [&](double v, const char* key) {
    if (!(v > 0) || !std::isfinite(v)) {
      throw std::invalid_argument(p + key + " = " + core::FormatDouble(v) +
                                  ": must be positive and finite");
    }
  };
  positive(min_link_bps, "min_link_bps");
  positive(max_link_bps, "max_link_bps");
  positive(min_class_bps, "min_class_bps");
  positive(static_bps, "static_bps");
  if (min_link_bps > max_link_bps) {
    throw std::invalid_argument(p + "min_link_bps = " + core::FormatDouble(min_link_bps) +
                                " above max_link_bps = " + core::FormatDouble(max_link_bps));
  }
  if (static_bps < min_link_bps || static_bps > max_link_bps) {
    throw std::invalid_argument(p + "static rate " + core::FormatDouble(static_bps / 1e6) +
                                " Mbit/s outside the total's range [" +
                                core::FormatDouble(min_link_bps / 1e6) + ", " +
                                core::FormatDouble(max_link_bps / 1e6) + "] Mbit/s");
  }
  const size_t n = classes.size() + 1;
  if (min_class_bps * static_cast<double>(n) > max_link_bps) {
    throw std::invalid_argument(
        p + "min_class_bps = " + core::FormatDouble(min_class_bps) + ": the minimum rates of " +
        std::to_string(n) + " classes exceed max_link_bps = " + core::FormatDouble(max_link_bps));
  }
  if (!(guaranteed_fraction > 0 && guaranteed_fraction <= 1)) {
    throw std::invalid_argument(p + "guaranteed_fraction = " +
                                core::FormatDouble(guaranteed_fraction) + ": must be in (0, 1]");
  }
  if (!(oracle_fraction > 0 && oracle_fraction <= 1)) {
    throw std::invalid_argument(p + "oracle_fraction = " + core::FormatDouble(oracle_fraction) +
                                ": must be in (0, 1]");
  }
  if (class_queue_packets < 1) {
    throw std::invalid_argument(p + "class_queue_packets = " + std::to_string(class_queue_packets) +
                                ": must be at least 1");
  }
  const AutorateParams& a = autorate;
  if (!(a.bloat_delay_ms > 0 && a.max_cut_delay_ms > a.bloat_delay_ms && a.cut_max > 0 &&
        a.cut_max <= a.cut_min && a.cut_min <= 1 && a.raise_max >= 1 && a.high_load > 0 &&
        a.high_load <= 1 && a.bloat_refractory_s >= 0 && a.decay_refractory_s >= 0 &&
        a.decay_down > 0 && a.decay_down <= 1 && a.decay_up >= 1 && a.baseline_alpha_up > 0 &&
        a.baseline_alpha_up <= 1 && a.baseline_alpha_down > 0 && a.baseline_alpha_down <= 1)) {
    throw std::invalid_argument(p + "autorate parameters out of range");
  }
}

HtbConfig ClassHtb(const std::vector<AppClass>& classes, double total_bps,
                   const std::vector<double>& weights, double guaranteed_fraction,
                   bool prio_by_rank, double min_class_bps, int class_queue_packets) {
  if (weights.size() != classes.size()) {
    throw std::invalid_argument("ClassHtb: " + std::to_string(weights.size()) + " weights for " +
                                std::to_string(classes.size()) + " classes");
  }
  const bool add_other =
      std::find(classes.begin(), classes.end(), AppClass::kOther) == classes.end();
  double sum_w = 0.0;
  for (double w : weights) sum_w += w;
  const double reserved = add_other ? min_class_bps : 0.0;
  const double n = static_cast<double>(classes.size()) + (add_other ? 1.0 : 0.0);
  total_bps = std::max(total_bps, min_class_bps * n);
  HtbConfig c;
  c.class_queue_packets = class_queue_packets;
  c.default_class = AppClass::kOther;
  double sum_rates = reserved;
  for (size_t i = 0; i < classes.size(); ++i) {
    HtbClassConfig k;
    k.app_class = classes[i];
    k.rate_bps =
        std::max(min_class_bps, (guaranteed_fraction * total_bps - reserved) * weights[i] / sum_w);
    k.prio = prio_by_rank ? std::min(7, LatencyRank(classes[i])) : 0;
    sum_rates += k.rate_bps;
    c.classes.push_back(k);
  }
  if (add_other) {
    HtbClassConfig k;
    k.app_class = AppClass::kOther;
    k.rate_bps = min_class_bps;
    k.prio = prio_by_rank ? 7 : 0;
    c.classes.push_back(k);
  }
  // Rates at their minimum may push the sum over the total: the total follows.
  c.link_rate_bps = std::max(total_bps, sum_rates);
  for (HtbClassConfig& k : c.classes) k.ceil_bps = c.link_rate_bps;
  c.Validate();
  return c;
}

double MinClassRttMs(const std::vector<LinkSample>& samples, const std::string& link) {
  double best = std::numeric_limits<double>::quiet_NaN();
  for (const LinkSample& s : samples) {
    if (s.link != link || s.app_class == "all") continue;
    const double r = s.rtt_p50_ms;
    if (std::isfinite(r) && r > 0 && !(r >= best)) best = r;
  }
  return best;
}

AutorateController::AutorateController(ControllerSpec spec) : spec_(std::move(spec)) {
  spec_.Validate("controller autorate");
  Reset();
}

HtbConfig AutorateController::Reset() {
  rate_bps_ = spec_.static_bps;
  baseline_ms_ = std::numeric_limits<double>::quiet_NaN();
  delta_ms_ = 0.0;
  now_s_ = 0.0;
  last_cut_s_ = last_decay_s_ = -1e18;
  last_move_ = "hold";
  return StaticClasses(spec_, rate_bps_);
}

HtbConfig AutorateController::Next(const std::vector<LinkSample>& samples, const HtbConfig&) {
  const AutorateParams& a = spec_.autorate;
  const LinkSample* all = AllSample(samples, spec_.link);
  if (all) now_s_ = all->time_s;  // [observable] the clock
  const double delivered = all ? DeliveredBps(*all) : 0.0;
  // The delay over the baseline; the baseline falls fast and rises slowly (cake-autorate's
  // alpha_baseline_decrease / alpha_baseline_increase).
  const double rtt = MinClassRttMs(samples, spec_.link);
  delta_ms_ = 0.0;
  if (std::isfinite(rtt)) {
    if (!std::isfinite(baseline_ms_)) {
      baseline_ms_ = rtt;
    } else {
      const double alpha = rtt < baseline_ms_ ? a.baseline_alpha_down : a.baseline_alpha_up;
      baseline_ms_ += alpha * (rtt - baseline_ms_);
    }
    delta_ms_ = std::max(0.0, rtt - baseline_ms_);
  }
  const bool in_refractory = now_s_ - last_cut_s_ < a.bloat_refractory_s - 1e-9;
  const double rate = rate_bps_;
  last_move_ = "hold";
  if (delta_ms_ > a.bloat_delay_ms) {
    if (!in_refractory) {
      // The deeper the delay, the deeper the cut: cut_min at bloat_delay_ms to cut_max at
      // max_cut_delay_ms, from the smaller of the rate and what was delivered, and never below
      // cut_max x the rate.
      const double depth = std::clamp(
          (delta_ms_ - a.bloat_delay_ms) / (a.max_cut_delay_ms - a.bloat_delay_ms), 0.0, 1.0);
      const double factor = a.cut_min + (a.cut_max - a.cut_min) * depth;
      rate_bps_ = std::max(a.cut_max * rate, std::min(rate, delivered) * factor);
      last_cut_s_ = now_s_;
      last_move_ = "cut";
    }
  } else if (delivered > a.high_load * rate) {
    if (!in_refractory) {
      const double calm = 1.0 - std::clamp(delta_ms_ / a.bloat_delay_ms, 0.0, 1.0);
      rate_bps_ = rate * (1.0 + (a.raise_max - 1.0) * calm);
      last_move_ = "raise";
    }
  } else if (now_s_ - last_decay_s_ >= a.decay_refractory_s - 1e-9) {
    // Low load: drift back toward the base rate.
    if (rate > spec_.static_bps) {
      rate_bps_ = std::max(spec_.static_bps, rate * a.decay_down);
    } else if (rate < spec_.static_bps) {
      rate_bps_ = std::min(spec_.static_bps, rate * a.decay_up);
    }
    last_decay_s_ = now_s_;
    last_move_ = "decay";
  }
  rate_bps_ = std::clamp(rate_bps_, spec_.min_link_bps, spec_.max_link_bps);
  return StaticClasses(spec_, rate_bps_);
}

const std::vector<std::string>& ControllerNames() {
  static const std::vector<std::string> names = {"none", "sqm", "static_htb", "autorate", "oracle"};
  return names;
}

bool ControllerReadsTruth(const std::string& name) { return name == "oracle"; }

bool ControllerShapesWithHtb(const std::string& name) { return name != "sqm"; }

std::unique_ptr<ShapingController> MakeController(const std::string& name,
                                                  const ControllerSpec& spec) {
  spec.Validate("controller " + name);
  if (name == "none")
    return std::make_unique<FixedController>(FlatClasses(spec, spec.max_link_bps));
  if (name == "sqm") return std::make_unique<FixedController>(FlatClasses(spec, spec.static_bps));
  if (name == "static_htb") {
    return std::make_unique<FixedController>(StaticClasses(spec, spec.static_bps));
  }
  if (name == "autorate") return std::make_unique<AutorateController>(spec);
  if (name == "oracle") return std::make_unique<OracleController>(spec);
  throw std::invalid_argument("controller '" + core::Printable(name) + "': unknown (controllers: " +
                              core::Join(ControllerNames(), ", ") + ")");
}

}  // namespace linklab::sim
