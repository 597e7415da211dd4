#include "sim/action.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include "core/text.h"

namespace linklab::sim {

namespace {

const char* const kProfileNames[ActionDecoder::kProfiles] = {"fair", "priority", "protect",
                                                             "squeeze"};

bool Bulky(AppClass c) {
  return c == AppClass::kBulk || c == AppClass::kCross || c == AppClass::kOther;
}

// Share weights of the protect and squeeze profiles.
double ProfileWeight(int profile, AppClass c) {
  switch (c) {
    case AppClass::kGaming:
      return 1.0;
    case AppClass::kWeb:
      return 2.0;
    case AppClass::kVideo:
      return profile == 2 ? 3.0 : 4.0;
    case AppClass::kBulk:
      return profile == 2 ? 2.0 : 1.0;
    default:
      return 1.0;
  }
}

std::string Mbps(double bps) { return core::FormatDouble(bps / 1e6); }

}  // namespace

std::string ActionSpec::Text() const {
  std::vector<std::string> names;
  for (AppClass c : classes) names.push_back(AppClassName(c));
  auto exact = [](double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  return "linklab-action/1;mode=" + mode + ";classes=" + core::Join(names, ",") +
         ";min_link_bps=" + exact(min_link_bps) + ";max_link_bps=" + exact(max_link_bps) +
         ";min_class_bps=" + exact(min_class_bps) + ";max_step=" + exact(max_step) +
         ";class_queue_packets=" + std::to_string(class_queue_packets);
}

ActionSpec ActionSpec::Parse(const std::string& text, const std::string& what) {
  const std::vector<std::string> parts = core::Split(text, ';');
  if (parts.empty() || parts[0] != "linklab-action/1") {
    throw std::invalid_argument(what + ": '" + core::Printable(text, 60) +
                                "' is not a linklab-action/1 spec");
  }
  ActionSpec a;
  a.classes.clear();
  std::map<std::string, std::string> kv;
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == std::string::npos) {
      throw std::invalid_argument(what + ": '" + core::Printable(parts[i]) + "' is not key=value");
    }
    kv[parts[i].substr(0, eq)] = parts[i].substr(eq + 1);
  }
  auto take = [&](const std::string& key) {
    const auto it = kv.find(key);
    if (it == kv.end()) throw std::invalid_argument(what + ": no " + key);
    std::string v = it->second;
    kv.erase(it);
    return v;
  };
  auto number = [&](const std::string& key) {
    const std::string v = take(key);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0') {
      throw std::invalid_argument(what + ": " + key + " = '" + core::Printable(v) +
                                  "' is not a number");
    }
    return x;
  };
  a.mode = take("mode");
  for (const std::string& name : core::Split(take("classes"), ',')) {
    a.classes.push_back(ParseAppClass(name, what + ": classes"));
  }
  a.min_link_bps = number("min_link_bps");
  a.max_link_bps = number("max_link_bps");
  a.min_class_bps = number("min_class_bps");
  a.max_step = number("max_step");
  a.class_queue_packets = static_cast<int>(number("class_queue_packets"));
  if (!kv.empty()) throw std::invalid_argument(what + ": unknown key " + kv.begin()->first);
  a.Validate(what);
  return a;
}

void ActionSpec::Validate(const std::string& prefix) const {
  const std::string p = prefix + ": ";
  if (mode != "discrete" && mode != "continuous") {
    throw std::invalid_argument(p + "action = '" + mode + "': must be discrete or continuous");
  }
  if (classes.empty()) throw std::invalid_argument(p + "no classes to shape");
  bool has_other = false;
  for (size_t i = 0; i < classes.size(); ++i) {
    has_other = has_other || classes[i] == AppClass::kOther;
    for (size_t j = 0; j < i; ++j) {
      if (classes[i] == classes[j]) {
        throw std::invalid_argument(p + "classes: " + AppClassName(classes[i]) + " given twice");
      }
    }
  }
  if (!(min_link_bps > 0) || !std::isfinite(min_link_bps)) {
    throw std::invalid_argument(p + "min_link_mbps = " + Mbps(min_link_bps) + ": must be > 0");
  }
  if (!(max_link_bps >= min_link_bps) || !std::isfinite(max_link_bps)) {
    throw std::invalid_argument(p + "max_link_mbps = " + Mbps(max_link_bps) +
                                " is below min_link_mbps = " + Mbps(min_link_bps));
  }
  if (!(min_class_bps > 0) || !std::isfinite(min_class_bps)) {
    throw std::invalid_argument(p + "min_class_mbps = " + Mbps(min_class_bps) + ": must be > 0");
  }
  const size_t n = classes.size() + (has_other ? 0 : 1);
  if (n * min_class_bps > max_link_bps) {
    throw std::invalid_argument(p + "min_class_mbps = " + Mbps(min_class_bps) + ": " +
                                std::to_string(n) + " classes (with the default class other) " +
                                "need " + Mbps(n * min_class_bps) +
                                " Mbit/s, above max_link_mbps = " + Mbps(max_link_bps));
  }
  if (!(max_step > 1) || !std::isfinite(max_step)) {
    throw std::invalid_argument(p + "max_step = " + core::FormatDouble(max_step) +
                                ": must be > 1 (the largest change factor per step)");
  }
  if (class_queue_packets < 1) {
    throw std::invalid_argument(p + "queue_packets = " + std::to_string(class_queue_packets) +
                                ": must be >= 1");
  }
}

ActionDecoder::ActionDecoder(ActionSpec spec) : spec_(std::move(spec)) {
  spec_.Validate();
  discrete_ = spec_.mode == "discrete";
  shaped_ = spec_.classes;
  if (std::find(shaped_.begin(), shaped_.end(), AppClass::kOther) == shaped_.end()) {
    shaped_.push_back(AppClass::kOther);
    added_other_ = true;
  }
  current_.default_class = AppClass::kOther;
  current_.class_queue_packets = spec_.class_queue_packets;
  current_.classes.resize(shaped_.size());
  for (size_t i = 0; i < shaped_.size(); ++i) current_.classes[i].app_class = shaped_[i];
  Reset();
}

int ActionDecoder::num_actions() const {
  return discrete_ ? 1 + static_cast<int>(kMultipliers.size()) * kProfiles : 0;
}

int ActionDecoder::continuous_size() const {
  return discrete_ ? 0 : 1 + 3 * static_cast<int>(spec_.classes.size());
}

void ActionDecoder::TargetOfRow(int row, Target& t) const {
  const size_t n = spec_.classes.size();
  t.leave = row == 0;
  if (t.leave) return;
  const int profile = (row - 1) % kProfiles;
  t.multiplier = kMultipliers[static_cast<size_t>((row - 1) / kProfiles)];
  // Dense latency ranks among the configured classes.
  double weight_sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const AppClass c = spec_.classes[i];
    int rank = 0;
    for (size_t j = 0; j < n; ++j) rank += LatencyRank(spec_.classes[j]) < LatencyRank(c);
    const double w = profile < 2 ? 1.0 : ProfileWeight(profile, c);
    t.share[i] = w;
    weight_sum += w;
    t.prio[i] = profile == 0 ? 0 : std::min(rank, 7);
    t.ceil[i] = profile == 2 && Bulky(c) ? 0.6 : profile == 3 && Bulky(c) ? 0.25 : 1.0;
  }
  for (size_t i = 0; i < n; ++i) t.share[i] /= weight_sum;
}

std::vector<std::string> ActionDecoder::TableColumns() const {
  std::vector<std::string> cols = {"total_mult"};
  for (AppClass c : spec_.classes) {
    for (const char* k : {".share", ".ceil", ".prio"})
      cols.push_back(AppClassName(c) + std::string(k));
  }
  return cols;
}

std::vector<float> ActionDecoder::TableValues() const {
  std::vector<float> values;
  if (!discrete_) return values;
  Target t;
  for (int row = 0; row < num_actions(); ++row) {
    TargetOfRow(row, t);
    values.push_back(t.leave ? 0.0f : static_cast<float>(t.multiplier));
    for (size_t i = 0; i < spec_.classes.size(); ++i) {
      values.push_back(t.leave ? 0.0f : static_cast<float>(t.share[i]));
      values.push_back(t.leave ? 0.0f : static_cast<float>(t.ceil[i]));
      values.push_back(t.leave ? 0.0f : static_cast<float>(t.prio[i]));
    }
  }
  return values;
}

std::string ActionDecoder::ActionName(int index) const {
  if (!discrete_) return "continuous";
  if (index < 0 || index >= num_actions()) {
    throw std::invalid_argument("action " + std::to_string(index) + " is outside 0.." +
                                std::to_string(num_actions() - 1));
  }
  if (index == 0) return "leave";
  return "x" + core::FormatDouble(kMultipliers[static_cast<size_t>((index - 1) / kProfiles)]) +
         " " + kProfileNames[(index - 1) % kProfiles];
}

const HtbConfig& ActionDecoder::Reset() {
  const size_t n = shaped_.size();
  const double total = spec_.max_link_bps;
  current_.link_rate_bps = total;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    HtbClassConfig& k = current_.classes[i];
    const bool extra = added_other_ && i + 1 == n;
    k.rate_bps =
        extra ? spec_.min_class_bps : std::max(spec_.min_class_bps, total / spec_.classes.size());
    k.ceil_bps = total;
    k.prio = extra ? 7 : 0;
    k.quantum_bytes = 0.0;
    sum += k.rate_bps;
  }
  // Fit the rates under the total (the added default class took its minimum on top).
  if (sum > total) {
    const double floor = n * spec_.min_class_bps;
    for (auto& k : current_.classes) {
      k.rate_bps = spec_.min_class_bps + (k.rate_bps - spec_.min_class_bps) * (total - floor) /
                                             std::max(sum - floor, 1e-9);
    }
  }
  return current_;
}

const HtbConfig& ActionDecoder::Decode(const float* action, size_t size, double recent_link_bps) {
  Target& t = scratch_;
  const size_t n = spec_.classes.size();
  if (discrete_) {
    if (size != 1) {
      throw std::invalid_argument("discrete shaping action: " + std::to_string(size) +
                                  " elements, expected 1 (the index)");
    }
    const double x = action[0];
    if (!(x >= 0) || x >= num_actions() || x != std::floor(x)) {
      throw std::invalid_argument("discrete shaping action " + core::FormatDouble(x) +
                                  ": must be an integer in 0.." +
                                  std::to_string(num_actions() - 1));
    }
    TargetOfRow(static_cast<int>(x), t);
  } else {
    if (size != static_cast<size_t>(continuous_size())) {
      throw std::invalid_argument("continuous shaping action: " + std::to_string(size) +
                                  " elements, expected " + std::to_string(continuous_size()));
    }
    for (size_t i = 0; i < size; ++i) {
      if (std::isnan(action[i])) {
        throw std::invalid_argument("continuous shaping action: element " + std::to_string(i) +
                                    " is NaN");
      }
    }
    auto a = [&](size_t i) { return std::clamp(static_cast<double>(action[i]), -1.0, 1.0); };
    t.leave = false;
    t.multiplier = 1.0 + 0.5 * a(0);
    double top = -1e300, sum = 0.0;
    for (size_t i = 0; i < n; ++i) top = std::max(top, 2.0 * a(1 + i));
    for (size_t i = 0; i < n; ++i) {
      t.share[i] = std::exp(2.0 * a(1 + i) - top);
      sum += t.share[i];
    }
    for (size_t i = 0; i < n; ++i) {
      t.share[i] /= sum;
      t.ceil[i] = t.share[i] + (1.0 - t.share[i]) * (a(1 + n + i) + 1.0) / 2.0;
      t.prio[i] = a(1 + 2 * n + i) > 0 ? 0 : 1;
    }
  }
  if (added_other_) {  // the default class: minimum rate, may borrow everything, served last
    t.share[n] = 0.0;
    t.ceil[n] = 1.0;
    t.prio[n] = 7;
  }
  Apply(t, recent_link_bps);
  return current_;
}

void ActionDecoder::Apply(const Target& t, double recent_link_bps) {
  const double f = spec_.max_step;
  const size_t n = shaped_.size();
  const double floor_total = std::max(spec_.min_link_bps, n * spec_.min_class_bps);
  const double prev_total = current_.link_rate_bps;
  const double ref = std::isfinite(recent_link_bps) ? std::max(0.0, recent_link_bps) : 0.0;
  double total = t.leave ? prev_total : t.multiplier * ref;
  total = std::clamp(total, prev_total / f, prev_total * f);
  total = std::clamp(total, floor_total, spec_.max_link_bps);
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    HtbClassConfig& k = current_.classes[i];
    double rate = t.leave ? k.rate_bps : t.share[i] * total;
    rate = std::clamp(rate, k.rate_bps / f, k.rate_bps * f);
    k.rate_bps = std::max(rate, spec_.min_class_bps);
    sum += k.rate_bps;
  }
  if (sum > total) {  // the rates must fit under the total: shrink what is above the minimum
    const double floor = n * spec_.min_class_bps;
    const double keep = (total - floor) / std::max(sum - floor, 1e-9);
    for (auto& k : current_.classes) {
      k.rate_bps = spec_.min_class_bps + (k.rate_bps - spec_.min_class_bps) * keep;
    }
  }
  for (size_t i = 0; i < n; ++i) {
    HtbClassConfig& k = current_.classes[i];
    double ceil = t.leave ? k.ceil_bps : t.ceil[i] * total;
    ceil = std::clamp(ceil, k.ceil_bps / f, k.ceil_bps * f);
    k.ceil_bps = std::clamp(ceil, k.rate_bps, total);
    if (!t.leave) k.prio = t.prio[i];
  }
  current_.link_rate_bps = total;
}

}  // namespace linklab::sim
