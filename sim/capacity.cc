#include "sim/capacity.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/rng.h"
#include "core/text.h"

namespace linklab::sim {

namespace {

std::string Mbps(double bps) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", bps / 1e6);
  return buf;
}

class Constant : public CapacityProcess {
 public:
  explicit Constant(double rate_bps) : bytes_per_s_(rate_bps / 8.0) {
    if (!(rate_bps > 0)) {
      throw std::invalid_argument("capacity: constant rate " + core::FormatDouble(rate_bps) +
                                  " bit/s must be > 0");
    }
  }
  double Cumulative(double t) override { return bytes_per_s_ * std::max(0.0, t); }
  double TimeOf(double bytes) override { return std::max(0.0, bytes) / bytes_per_s_; }
  std::string Describe() const override { return "constant " + Mbps(bytes_per_s_ * 8) + " Mbit/s"; }

 private:
  double bytes_per_s_;
};

// Mahimahi: one 1500-byte opportunity per timestamp, looped with period = last timestamp.
class Mahimahi : public CapacityProcess {
 public:
  Mahimahi(std::vector<int64_t> ms, std::string name) : ms_(std::move(ms)), name_(std::move(name)) {
    if (ms_.empty()) throw std::invalid_argument(name_ + ": empty trace");
    for (size_t i = 1; i < ms_.size(); ++i) {
      if (ms_[i] < ms_[i - 1]) {
        throw std::invalid_argument(name_ + ": timestamps go backwards at entry " +
                                    std::to_string(i + 1));
      }
    }
    if (ms_.front() < 0) throw std::invalid_argument(name_ + ": negative timestamp");
    period_ms_ = ms_.back();
    if (period_ms_ <= 0) {
      throw std::invalid_argument(name_ +
                                  ": zero capacity (the trace's last timestamp is 0, so "
                                  "it has no duration)");
    }
  }
  double Cumulative(double t_s) override {
    if (t_s < 0) return 0.0;
    const double t_ms = t_s * 1000.0;
    const double loops = std::floor(t_ms / period_ms_);
    const double rem = t_ms - loops * period_ms_;
    const size_t within =
        std::upper_bound(ms_.begin(), ms_.end(), rem, [](double v, int64_t x) { return v < x; }) -
        ms_.begin();
    return kMahimahiOpportunityBytes * (loops * ms_.size() + within);
  }
  double TimeOf(double bytes) override {
    if (bytes <= 0) return 0.0;
    // The k-th opportunity (1-based) completes `bytes`.
    const double k = std::ceil(bytes / kMahimahiOpportunityBytes - 1e-9);
    const double n = static_cast<double>(ms_.size());
    const double loops = std::floor((k - 1) / n);
    const size_t index = static_cast<size_t>(k - 1 - loops * n);
    return (loops * period_ms_ + ms_[index]) / 1000.0;
  }
  std::string Describe() const override {
    const double mean = ms_.size() * kMahimahiOpportunityBytes * 8 / (period_ms_ / 1000.0);
    return "mahimahi " + name_ + " (" + Mbps(mean) + " Mbit/s mean, period " +
           core::FormatDouble(period_ms_ / 1000.0) + " s)";
  }

 private:
  std::vector<int64_t> ms_;
  std::string name_;
  double period_ms_ = 0.0;
};

// Piecewise-constant rates on [start_i, start_i + duration_i), looped.
class Piecewise : public CapacityProcess {
 public:
  Piecewise(std::vector<double> times, std::vector<double> rates_mbps, std::string name)
      : name_(std::move(name)) {
    if (times.empty() || times.size() != rates_mbps.size()) {
      throw std::invalid_argument(name_ + ": empty trace");
    }
    const size_t n = times.size();
    for (size_t i = 1; i < n; ++i) {
      if (!(times[i] > times[i - 1])) {
        throw std::invalid_argument(name_ + ": times do not increase at entry " +
                                    std::to_string(i + 1));
      }
    }
    const double spacing = n > 1 ? (times[n - 1] - times[0]) / (n - 1) : 1.0;
    double t = 0.0, bytes = 0.0;
    for (size_t i = 0; i < n; ++i) {
      if (rates_mbps[i] < 0) {
        throw std::invalid_argument(name_ + ": negative rate at entry " + std::to_string(i + 1));
      }
      const double duration = i + 1 < n ? times[i + 1] - times[i] : spacing;
      starts_.push_back(t);
      prefix_.push_back(bytes);
      rates_.push_back(rates_mbps[i] * 1e6 / 8.0);
      t += duration;
      bytes += rates_.back() * duration;
    }
    starts_.push_back(t);
    prefix_.push_back(bytes);
    period_ = t;
    total_ = bytes;
    if (!(total_ > 0)) throw std::invalid_argument(name_ + ": zero capacity (every rate is 0)");
  }
  double Cumulative(double t) override {
    if (t <= 0) return 0.0;
    const double loops = std::floor(t / period_);
    const double rem = t - loops * period_;
    const size_t i = std::upper_bound(starts_.begin(), starts_.end(), rem) - starts_.begin() - 1;
    return loops * total_ + prefix_[i] +
           rates_[std::min(i, rates_.size() - 1)] * (rem - starts_[i]);
  }
  double TimeOf(double bytes) override {
    if (bytes <= 0) return 0.0;
    double loops = std::floor(bytes / total_);
    double rem = bytes - loops * total_;
    if (rem <= 0) {  // reached at the end of the previous loop's last non-zero segment
      loops -= 1;
      rem += total_;
    }
    // First segment whose end reaches `rem` (it has a positive rate).
    const size_t j = std::lower_bound(prefix_.begin() + 1, prefix_.end(), rem) - prefix_.begin();
    const size_t i = j - 1;
    return loops * period_ + starts_[i] + (rem - prefix_[i]) / rates_[i];
  }
  std::string Describe() const override {
    return name_ + " (" + Mbps(total_ * 8 / period_) + " Mbit/s mean, period " +
           core::FormatDouble(period_) + " s)";
  }

 private:
  std::string name_;
  std::vector<double> starts_, prefix_, rates_;  // rates in bytes/s
  double period_ = 0.0, total_ = 0.0;
};

// Piecewise-constant rates generated on demand, segment after segment (so the same seed gives
// the same process whatever order it is queried in).
class Generated : public CapacityProcess {
 public:
  double Cumulative(double t) override {
    if (t <= 0) return 0.0;
    while (starts_.empty() || starts_.back() + durations_.back() < t) Extend();
    const size_t i = std::upper_bound(starts_.begin(), starts_.end(), t) - starts_.begin() - 1;
    return prefix_[i] + rates_[i] * (t - starts_[i]);
  }
  double TimeOf(double bytes) override {
    if (bytes <= 0) return 0.0;
    while (starts_.empty() || prefix_.back() + rates_.back() * durations_.back() < bytes) {
      Extend();
    }
    // The first segment that ends at or beyond `bytes` (so has a positive rate).
    size_t lo = 0, hi = starts_.size() - 1;
    while (lo < hi) {
      const size_t mid = (lo + hi) / 2;
      if (prefix_[mid] + rates_[mid] * durations_[mid] >= bytes)
        hi = mid;
      else
        lo = mid + 1;
    }
    return starts_[lo] + (bytes - prefix_[lo]) / rates_[lo];
  }

 protected:
  // Appends one segment of `duration_s` at `rate_bps`.
  void Append(double duration_s, double rate_bps) {
    const double start = starts_.empty() ? 0.0 : starts_.back() + durations_.back();
    const double bytes = starts_.empty() ? 0.0 : prefix_.back() + rates_.back() * durations_.back();
    starts_.push_back(start);
    durations_.push_back(duration_s);
    prefix_.push_back(bytes);
    rates_.push_back(rate_bps / 8.0);
  }
  virtual void Extend() = 0;

 private:
  std::vector<double> starts_, durations_, prefix_, rates_;
};

class Markov : public Generated {
 public:
  Markov(const MarkovCapacityOptions& o, uint64_t seed) : o_(o), rng_(seed) {
    if (!(o.min_mbps > 0) || !(o.max_mbps >= o.min_mbps)) {
      throw std::invalid_argument("markov capacity: need 0 < min_mbps <= max_mbps, got " +
                                  core::FormatDouble(o.min_mbps) + " and " +
                                  core::FormatDouble(o.max_mbps));
    }
    if (o.num_states < 1 || !(o.mean_hold_s > 0) || !(o.mean_outage_s > 0) || o.outage_prob < 0 ||
        o.outage_prob > 1) {
      throw std::invalid_argument("markov capacity: bad states, holding time or outage settings");
    }
    for (int i = 0; i < o.num_states; ++i) {
      const double f = o.num_states > 1 ? double(i) / (o.num_states - 1) : 0.0;
      levels_.push_back(o.min_mbps * std::pow(o.max_mbps / o.min_mbps, f) * 1e6);
    }
    state_ = static_cast<int>(rng_.UniformInt(o.num_states));
  }
  std::string Describe() const override {
    return "markov " + core::FormatDouble(o_.min_mbps) + "-" + core::FormatDouble(o_.max_mbps) +
           " Mbit/s, " + std::to_string(o_.num_states) + " states";
  }

 private:
  void Extend() override {
    Append(o_.mean_hold_s * rng_.Exponential(), levels_[state_]);
    if (rng_.Uniform() < o_.outage_prob) Append(o_.mean_outage_s * rng_.Exponential(), 0.0);
    if (o_.num_states > 1) {
      const bool up = state_ == 0 || (state_ < o_.num_states - 1 && rng_.Uniform() < 0.5);
      state_ += up ? 1 : -1;
    }
  }
  MarkovCapacityOptions o_;
  core::Rng rng_;
  std::vector<double> levels_;
  int state_ = 0;
};

class Diurnal : public Generated {
 public:
  Diurnal(const DiurnalCapacityOptions& o, uint64_t seed) : o_(o), rng_(seed) {
    if (!(o.base_mbps > 0) || !(o.step_s > 0) || o.depth < 0 || o.depth >= 1) {
      throw std::invalid_argument(
          "diurnal capacity: need base_mbps > 0, step_s > 0 and depth in "
          "[0, 1)");
    }
  }
  // The daily factor at hour `h` (0..24) of day `day` (0 = Monday).
  static double Profile(const DiurnalCapacityOptions& o, double h, int day) {
    double d = std::fabs(h - o.peak_hour);
    d = std::min(d, 24.0 - d);
    const double bump = std::exp(-d * d / (2.0 * 3.0 * 3.0));  // the peak hours, ~3 h wide
    return (1.0 - o.depth * bump) * (day >= 5 ? o.weekend_factor : 1.0);
  }
  std::string Describe() const override {
    return "diurnal " + core::FormatDouble(o_.base_mbps) + " Mbit/s base, depth " +
           core::FormatDouble(o_.depth);
  }

 private:
  void Extend() override {
    const double mid_s = (steps_ + 0.5) * o_.step_s;
    const double hours = o_.start_hour + mid_s / 3600.0;
    const int day = (o_.start_day + static_cast<int>(std::floor(hours / 24.0))) % 7;
    const double factor =
        Profile(o_, std::fmod(hours, 24.0), day) * std::max(0.01, 1.0 + o_.noise * rng_.Normal());
    Append(o_.step_s, o_.base_mbps * 1e6 * factor);
    ++steps_;
  }
  DiurnalCapacityOptions o_;
  core::Rng rng_;
  int64_t steps_ = 0;
};

class Scaled : public CapacityProcess {
 public:
  Scaled(std::unique_ptr<CapacityProcess> inner, double factor)
      : inner_(std::move(inner)), factor_(factor) {
    if (!(factor > 0)) throw std::invalid_argument("capacity scale must be > 0");
  }
  double Cumulative(double t) override { return factor_ * inner_->Cumulative(t); }
  double TimeOf(double bytes) override { return inner_->TimeOf(bytes / factor_); }
  std::string Describe() const override {
    return factor_ == 1.0 ? inner_->Describe()
                          : inner_->Describe() + " x " + core::FormatDouble(factor_);
  }

 private:
  std::unique_ptr<CapacityProcess> inner_;
  double factor_;
};

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::unique_ptr<CapacityProcess> ConstantCapacity(double rate_bps) {
  return std::make_unique<Constant>(rate_bps);
}

std::unique_ptr<CapacityProcess> MahimahiCapacity(std::vector<int64_t> timestamps_ms,
                                                  std::string name) {
  return std::make_unique<Mahimahi>(std::move(timestamps_ms), std::move(name));
}

std::unique_ptr<CapacityProcess> PiecewiseCapacity(std::vector<double> times_s,
                                                   std::vector<double> rates_mbps,
                                                   std::string name) {
  return std::make_unique<Piecewise>(std::move(times_s), std::move(rates_mbps), std::move(name));
}

std::unique_ptr<CapacityProcess> LoadTraceCapacity(const std::string& path,
                                                   const std::string& format) {
  if (format != "auto" && format != "mahimahi" && format != "pensieve") {
    throw std::invalid_argument("trace format '" + format + "': use auto, mahimahi or pensieve");
  }
  std::ifstream in(path);
  if (!in || !IsFile(path)) throw std::invalid_argument("cannot read trace file '" + path + "'");
  std::vector<std::pair<int, std::string>> lines;
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const std::string t = core::Trim(line);
    if (!t.empty()) lines.emplace_back(number, t);
  }
  if (lines.empty()) throw std::invalid_argument(path + ": empty trace file");
  std::string kind = format;
  if (kind == "auto") {
    std::istringstream first(lines.front().second);
    std::string a, b;
    first >> a >> b;
    kind = b.empty() ? "mahimahi" : "pensieve";
  }
  const std::string base = path.substr(path.find_last_of('/') + 1);
  if (kind == "mahimahi") {
    std::vector<int64_t> ms;
    ms.reserve(lines.size());
    for (const auto& [n, text] : lines) {
      const std::string where = path + ":" + std::to_string(n);
      char* end = nullptr;
      const long long v = std::strtoll(text.c_str(), &end, 10);
      if (end != text.c_str() + text.size()) {
        throw std::invalid_argument(where + ": '" + text +
                                    "' is not an integer millisecond timestamp");
      }
      if (v < 0) throw std::invalid_argument(where + ": negative timestamp " + text);
      if (!ms.empty() && v < ms.back()) {
        throw std::invalid_argument(where + ": timestamp " + text + " goes backwards (after " +
                                    std::to_string(ms.back()) + ")");
      }
      ms.push_back(v);
    }
    if (ms.back() <= 0) {
      throw std::invalid_argument(path + ": zero capacity (no timestamp after 0 ms)");
    }
    return MahimahiCapacity(std::move(ms), base);
  }
  std::vector<double> times, rates;
  for (const auto& [n, text] : lines) {
    const std::string where = path + ":" + std::to_string(n);
    std::istringstream fields(text);
    std::string a, b, extra;
    fields >> a >> b >> extra;
    if (b.empty() || !extra.empty()) {
      throw std::invalid_argument(where + ": '" + text + "' is not '<time s> <throughput Mbit/s>'");
    }
    const double t = core::ParseDouble(a, where + " time");
    const double r = core::ParseDouble(b, where + " throughput");
    if (r < 0) throw std::invalid_argument(where + ": negative throughput " + b);
    if (!times.empty() && !(t > times.back())) {
      throw std::invalid_argument(where + ": time " + a + " does not increase (after " +
                                  core::FormatDouble(times.back()) + ")");
    }
    times.push_back(t);
    rates.push_back(r);
  }
  double total = 0;
  for (double r : rates) total += r;
  if (!(total > 0)) throw std::invalid_argument(path + ": zero capacity (every throughput is 0)");
  return PiecewiseCapacity(std::move(times), std::move(rates), "pensieve " + base);
}

std::string FindTrace(const std::string& name_or_path) {
  if (IsFile(name_or_path)) return name_or_path;
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("LINKLAB_TRACE_PATH")) {
    for (const auto& d : core::Split(env, ':')) {
      if (!d.empty()) dirs.push_back(d);
    }
  }
  for (const char* sub : {"mahimahi", "pensieve-train"}) {
    dirs.push_back(std::string("../shared/data/traces/") + sub);
#ifdef LINKLAB_SOURCE_DIR
    dirs.push_back(std::string(LINKLAB_SOURCE_DIR) + "/../shared/data/traces/" + sub);
#endif
  }
  for (const auto& d : dirs) {
    const std::string p = d + "/" + name_or_path;
    if (IsFile(p)) return p;
  }
  throw std::invalid_argument("trace '" + name_or_path +
                              "' not found; looked at the path itself, $LINKLAB_TRACE_PATH and " +
                              core::Join(dirs, ", "));
}

std::unique_ptr<CapacityProcess> MarkovCapacity(const MarkovCapacityOptions& options,
                                                uint64_t seed) {
  return std::make_unique<Markov>(options, seed);
}

std::unique_ptr<CapacityProcess> DiurnalCapacity(const DiurnalCapacityOptions& options,
                                                 uint64_t seed) {
  return std::make_unique<Diurnal>(options, seed);
}

std::unique_ptr<CapacityProcess> ScaledCapacity(std::unique_ptr<CapacityProcess> inner,
                                                double factor) {
  return std::make_unique<Scaled>(std::move(inner), factor);
}

}  // namespace linklab::sim
