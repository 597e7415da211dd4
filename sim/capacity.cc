#include "sim/capacity.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "core/files.h"
#include "core/rng.h"
#include "core/text.h"

namespace linklab::sim {

namespace {

// "5.17" for 5.17e6 bit/s.
std::string Mbps(double rate_bps) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", rate_bps / 1e6);
  return text;
}

std::string MeanText(double rate_bps) { return Mbps(rate_bps) + " Mbit/s mean"; }

// Every process in this file knows its long-run mean rate (for Describe and for scaling).
class RateProcess : public CapacityProcess {
 public:
  // Long-run mean capacity in bit/s.
  virtual double MeanBps() const = 0;
};

class Constant : public RateProcess {
 public:
  explicit Constant(double rate_bps) : bytes_per_s_(rate_bps / 8.0) {
    if (!(rate_bps > 0) || !std::isfinite(rate_bps)) {
      throw std::invalid_argument("constant capacity: rate " + core::FormatDouble(rate_bps) +
                                  " bit/s must be finite and > 0");
    }
  }
  double Cumulative(double t_s) override { return bytes_per_s_ * std::max(0.0, t_s); }
  double TimeOf(double bytes) override { return std::max(0.0, bytes) / bytes_per_s_; }
  std::string Describe() const override { return "constant " + Mbps(MeanBps()) + " Mbit/s"; }
  double MeanBps() const override { return bytes_per_s_ * 8.0; }

 private:
  double bytes_per_s_;
};

// Mahimahi: one 1500-byte opportunity per timestamp; the trace repeats every `period_ms_`.
// All arithmetic is on whole milliseconds and opportunity counts, so B(t) and TimeOf(x) cost one
// binary search however far t is. A time within 1 ns of an opportunity (ns-3's resolution)
// counts as at it, so B(TimeOf(x)) >= x survives the double round trip.
class Mahimahi : public RateProcess {
 public:
  Mahimahi(std::vector<int64_t> timestamps_ms, std::string name)
      : ms_(std::move(timestamps_ms)), name_(std::move(name)) {
    if (ms_.empty()) throw std::invalid_argument(name_ + ": empty trace");
    if (ms_.front() < 0) {
      throw std::invalid_argument(name_ + ": negative timestamp " + std::to_string(ms_.front()));
    }
    for (size_t i = 1; i < ms_.size(); ++i) {
      if (ms_[i] < ms_[i - 1]) {
        throw std::invalid_argument(name_ + ": timestamp " + std::to_string(ms_[i]) + " at entry " +
                                    std::to_string(i + 1) + " goes backwards (after " +
                                    std::to_string(ms_[i - 1]) + ")");
      }
    }
    period_ms_ = static_cast<double>(ms_.back());
    if (period_ms_ <= 0) {
      throw std::invalid_argument(name_ + ": zero capacity (every timestamp is 0 ms)");
    }
  }

  double Cumulative(double t_s) override {
    if (t_s < 0) return 0.0;
    const double t_ms = std::floor(t_s * 1000.0 + 1e-6);  // whole ms, exact as a double
    const double loops = std::floor(t_ms / period_ms_);
    const int64_t rem_ms = static_cast<int64_t>(t_ms - loops * period_ms_);
    const auto within = std::upper_bound(ms_.begin(), ms_.end(), rem_ms) - ms_.begin();
    return kMahimahiOpportunityBytes * (loops * static_cast<double>(ms_.size()) + within);
  }

  double TimeOf(double bytes) override {
    if (bytes <= 0) return 0.0;
    // `bytes` is complete at the k-th opportunity (counting from 1).
    const double k = std::ceil(bytes / kMahimahiOpportunityBytes - 1e-9);
    const double n = static_cast<double>(ms_.size());
    const double loops = std::floor((k - 1) / n);
    const auto index = static_cast<size_t>(k - 1 - loops * n);
    return (loops * period_ms_ + static_cast<double>(ms_[index])) / 1000.0;
  }

  std::string Describe() const override {
    return "mahimahi " + name_ + " (" + MeanText(MeanBps()) + ", period " +
           core::FormatDouble(period_ms_ / 1000.0) + " s)";
  }
  double MeanBps() const override {
    return static_cast<double>(ms_.size()) * kMahimahiOpportunityBytes * 8.0 /
           (period_ms_ / 1000.0);
  }
  double PeriodS() const override { return period_ms_ / 1000.0; }

 private:
  std::vector<int64_t> ms_;
  std::string name_;
  double period_ms_ = 0.0;
};

// Rate r_i on [start_i, start_i + duration_i), looped. starts_ and prefix_ (bytes delivered
// before each segment) have one extra entry for the end of the period.
class Piecewise : public RateProcess {
 public:
  Piecewise(const std::vector<double>& times_s, const std::vector<double>& rates_mbps,
            std::string name)
      : name_(std::move(name)) {
    const size_t n = times_s.size();
    if (n == 0) throw std::invalid_argument(name_ + ": empty trace");
    if (rates_mbps.size() != n) {
      throw std::invalid_argument(name_ + ": " + std::to_string(n) + " times but " +
                                  std::to_string(rates_mbps.size()) + " rates");
    }
    for (size_t i = 0; i < n; ++i) {
      const std::string entry = name_ + ": entry " + std::to_string(i + 1);
      if (!std::isfinite(times_s[i]) || !std::isfinite(rates_mbps[i])) {
        throw std::invalid_argument(entry + " is not finite");
      }
      if (rates_mbps[i] < 0) {
        throw std::invalid_argument(entry + " has a negative rate " +
                                    core::FormatDouble(rates_mbps[i]) + " Mbit/s");
      }
      if (i > 0 && !(times_s[i] > times_s[i - 1])) {
        throw std::invalid_argument(entry + ": time " + core::FormatDouble(times_s[i]) +
                                    " s does not increase (after " +
                                    core::FormatDouble(times_s[i - 1]) + " s)");
      }
    }
    // The last rate holds for the mean spacing; a single sample holds for 1 s.
    const double last_s = n > 1 ? (times_s[n - 1] - times_s[0]) / static_cast<double>(n - 1) : 1.0;
    double t_s = 0.0, bytes = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const double duration_s = i + 1 < n ? times_s[i + 1] - times_s[i] : last_s;
      starts_.push_back(t_s);
      prefix_.push_back(bytes);
      rates_.push_back(rates_mbps[i] * 1e6 / 8.0);
      t_s += duration_s;
      bytes += rates_.back() * duration_s;
    }
    starts_.push_back(t_s);
    prefix_.push_back(bytes);
    period_s_ = t_s;
    total_bytes_ = bytes;
    if (!(total_bytes_ > 0)) {
      throw std::invalid_argument(name_ + ": zero capacity (every rate is 0)");
    }
  }

  double Cumulative(double t_s) override {
    if (t_s <= 0) return 0.0;
    const double loops = std::floor(t_s / period_s_);
    const double rem_s = std::clamp(t_s - loops * period_s_, 0.0, period_s_);
    // The segment holding rem_s (the end of the period counts as the last segment).
    size_t i = std::upper_bound(starts_.begin(), starts_.end(), rem_s) - starts_.begin() - 1;
    i = std::min(i, rates_.size() - 1);
    return loops * total_bytes_ + prefix_[i] + rates_[i] * (rem_s - starts_[i]);
  }

  double TimeOf(double bytes) override {
    if (bytes <= 0) return 0.0;
    double loops = std::floor(bytes / total_bytes_);
    double rem = bytes - loops * total_bytes_;
    if (rem <= 0) {  // reached within the previous loop
      loops -= 1;
      rem += total_bytes_;
    }
    // The first segment whose end reaches `rem`: zero-rate segments never qualify first, since
    // the segment before them ends at the same byte count.
    const size_t end = std::lower_bound(prefix_.begin() + 1, prefix_.end(), rem) - prefix_.begin();
    const size_t i = std::min(end, rates_.size()) - 1;
    return loops * period_s_ + starts_[i] + (rem - prefix_[i]) / rates_[i];
  }

  std::string Describe() const override {
    return name_ + " (" + MeanText(MeanBps()) + ", period " + core::FormatDouble(period_s_) + " s)";
  }
  double MeanBps() const override { return total_bytes_ * 8.0 / period_s_; }
  double PeriodS() const override { return period_s_; }

 private:
  std::string name_;
  std::vector<double> starts_, prefix_, rates_;  // seconds, bytes, bytes/s
  double period_s_ = 0.0, total_bytes_ = 0.0;
};

// Piecewise-constant rates generated segment after segment on demand. Segments only depend on
// the generator's own sequence, so the process is the same whatever order it is queried in.
class Generated : public RateProcess {
 public:
  double Cumulative(double t_s) override {
    if (t_s <= 0) return 0.0;
    while (segments_.empty() || segments_.back().EndS() < t_s) Extend();
    // The last segment starting at or before t_s.
    const auto it = std::upper_bound(segments_.begin(), segments_.end(), t_s,
                                     [](double t, const Segment& s) { return t < s.start_s; }) -
                    1;
    return it->bytes_before + it->bytes_per_s * (t_s - it->start_s);
  }

  double TimeOf(double bytes) override {
    if (bytes <= 0) return 0.0;
    while (segments_.empty() || segments_.back().EndBytes() < bytes) Extend();
    // The first segment whose end reaches `bytes`; an outage (rate 0) before it ends at the
    // same byte count as the segment before the outage, so it is never chosen.
    const auto it = std::lower_bound(segments_.begin(), segments_.end(), bytes,
                                     [](const Segment& s, double x) { return s.EndBytes() < x; });
    return it->start_s + (bytes - it->bytes_before) / it->bytes_per_s;
  }

 protected:
  // Appends a segment of `duration_s` at `rate_bps` after the last one.
  void Append(double duration_s, double rate_bps) {
    Segment s;
    if (!segments_.empty()) {
      s.start_s = segments_.back().EndS();
      s.bytes_before = segments_.back().EndBytes();
    }
    s.duration_s = duration_s;
    s.bytes_per_s = rate_bps / 8.0;
    segments_.push_back(s);
  }
  // Appends at least one segment of positive duration.
  virtual void Extend() = 0;

 private:
  struct Segment {
    double start_s = 0.0, duration_s = 0.0, bytes_before = 0.0, bytes_per_s = 0.0;
    double EndS() const { return start_s + duration_s; }
    double EndBytes() const { return bytes_before + bytes_per_s * duration_s; }
  };
  std::vector<Segment> segments_;
};

void Require(bool ok, const std::string& what, const std::string& field, double value,
             const std::string& rule) {
  if (!ok) {
    throw std::invalid_argument(what + ": " + field + " = " + core::FormatDouble(value) +
                                " must be " + rule);
  }
}

class Markov : public Generated {
 public:
  Markov(const MarkovCapacityOptions& options, uint64_t seed) : o_(options), rng_(seed) {
    const std::string what = "markov capacity";
    Require(o_.min_mbps > 0 && std::isfinite(o_.min_mbps), what, "min_mbps", o_.min_mbps, "> 0");
    Require(o_.max_mbps >= o_.min_mbps && std::isfinite(o_.max_mbps), what, "max_mbps", o_.max_mbps,
            ">= min_mbps");
    Require(o_.num_states >= 1, what, "num_states", o_.num_states, ">= 1");
    Require(o_.mean_hold_s > 0, what, "mean_hold_s", o_.mean_hold_s, "> 0");
    Require(o_.outage_prob >= 0 && o_.outage_prob <= 1, what, "outage_prob", o_.outage_prob,
            "in [0, 1]");
    Require(o_.mean_outage_s > 0, what, "mean_outage_s", o_.mean_outage_s, "> 0");
    for (int i = 0; i < o_.num_states; ++i) {
      const double f = o_.num_states > 1 ? static_cast<double>(i) / (o_.num_states - 1) : 0.0;
      levels_bps_.push_back(o_.min_mbps * std::pow(o_.max_mbps / o_.min_mbps, f) * 1e6);
    }
    state_ = static_cast<int>(rng_.UniformInt(static_cast<uint64_t>(o_.num_states)));
  }

  std::string Describe() const override {
    return "markov " + core::FormatDouble(o_.min_mbps) + "-" + core::FormatDouble(o_.max_mbps) +
           " Mbit/s, " + std::to_string(o_.num_states) + " states (" + MeanText(MeanBps()) + ")";
  }

  // The walk reflects at both ends, so in the long run the end states are visited half as often
  // as the inner ones; each visit lasts mean_hold_s and is followed by an outage with
  // probability outage_prob.
  double MeanBps() const override {
    const int n = o_.num_states;
    double weighted = 0.0;
    for (int i = 0; i < n; ++i) {
      const double visits = n == 1 ? 1.0 : (i == 0 || i == n - 1 ? 0.5 : 1.0) / (n - 1);
      weighted += visits * levels_bps_[i];
    }
    return weighted * o_.mean_hold_s / (o_.mean_hold_s + o_.outage_prob * o_.mean_outage_s);
  }

 private:
  void Extend() override {
    Append(o_.mean_hold_s * rng_.Exponential(), levels_bps_[state_]);
    if (rng_.Uniform() < o_.outage_prob) Append(o_.mean_outage_s * rng_.Exponential(), 0.0);
    if (o_.num_states > 1) {
      const bool up = state_ == 0 || (state_ < o_.num_states - 1 && rng_.Uniform() < 0.5);
      state_ += up ? 1 : -1;
    }
  }

  MarkovCapacityOptions o_;
  core::Rng rng_;
  std::vector<double> levels_bps_;
  int state_ = 0;
};

class Diurnal : public Generated {
 public:
  Diurnal(const DiurnalCapacityOptions& options, uint64_t seed) : o_(options), rng_(seed) {
    const std::string what = "diurnal capacity";
    Require(o_.base_mbps > 0 && std::isfinite(o_.base_mbps), what, "base_mbps", o_.base_mbps,
            "> 0");
    Require(o_.depth >= 0 && o_.depth < 1, what, "depth", o_.depth, "in [0, 1)");
    Require(o_.peak_hour >= 0 && o_.peak_hour < 24, what, "peak_hour", o_.peak_hour, "in [0, 24)");
    Require(o_.weekend_factor > 0 && std::isfinite(o_.weekend_factor), what, "weekend_factor",
            o_.weekend_factor, "> 0");
    Require(o_.noise >= 0 && std::isfinite(o_.noise), what, "noise", o_.noise, ">= 0");
    Require(o_.step_s > 0 && std::isfinite(o_.step_s), what, "step_s", o_.step_s, "> 0");
    Require(o_.start_hour >= 0 && o_.start_hour < 24, what, "start_hour", o_.start_hour,
            "in [0, 24)");
    Require(o_.start_day >= 0 && o_.start_day <= 6, what, "start_day", o_.start_day,
            "in 0..6 (0 = Monday)");
    // Mean of the noise-free profile over one week, sampled every minute.
    const int kMinutesPerWeek = 7 * 24 * 60;
    double sum = 0.0;
    for (int m = 0; m < kMinutesPerWeek; ++m) sum += Factor((m + 0.5) / 60.0);
    mean_bps_ = o_.base_mbps * 1e6 * sum / kMinutesPerWeek;
  }

  std::string Describe() const override {
    return "diurnal " + core::FormatDouble(o_.base_mbps) + " Mbit/s base, depth " +
           core::FormatDouble(o_.depth) + " at " + core::FormatDouble(o_.peak_hour) + " h (" +
           MeanText(MeanBps()) + ")";
  }
  double MeanBps() const override { return mean_bps_; }

 private:
  // The noise-free factor `hours` after time 0: a dip of `depth` centred on the peak hour
  // (Gaussian, about 3 h wide), times the weekend factor on days 5 and 6.
  double Factor(double hours) const {
    const double clock_h = std::fmod(o_.start_hour + hours, 24.0);
    const int day =
        (o_.start_day + static_cast<int>(std::floor((o_.start_hour + hours) / 24.0))) % 7;
    double distance_h = std::fabs(clock_h - o_.peak_hour);
    distance_h = std::min(distance_h, 24.0 - distance_h);
    const double kWidthH = 3.0;
    const double dip = o_.depth * std::exp(-distance_h * distance_h / (2.0 * kWidthH * kWidthH));
    return (1.0 - dip) * (day >= 5 ? o_.weekend_factor : 1.0);
  }

  void Extend() override {
    const double mid_h = (static_cast<double>(steps_) + 0.5) * o_.step_s / 3600.0;
    const double noise = std::max(0.01, 1.0 + o_.noise * rng_.Normal());
    Append(o_.step_s, o_.base_mbps * 1e6 * Factor(mid_h) * noise);
    ++steps_;
  }

  DiurnalCapacityOptions o_;
  core::Rng rng_;
  int64_t steps_ = 0;
  double mean_bps_ = 0.0;
};

class Scaled : public RateProcess {
 public:
  Scaled(std::unique_ptr<CapacityProcess> inner, double factor)
      : inner_(std::move(inner)), factor_(factor) {
    if (!inner_) throw std::invalid_argument("scaled capacity: no inner capacity process");
    if (!(factor_ > 0) || !std::isfinite(factor_)) {
      throw std::invalid_argument("scaled capacity: factor " + core::FormatDouble(factor_) +
                                  " must be finite and > 0");
    }
  }
  double Cumulative(double t_s) override { return factor_ * inner_->Cumulative(t_s); }
  double TimeOf(double bytes) override { return inner_->TimeOf(bytes / factor_); }
  std::string Describe() const override {
    std::string text = inner_->Describe() + ", scaled x" + core::FormatDouble(factor_);
    if (std::isfinite(MeanBps())) text += " (" + MeanText(MeanBps()) + ")";
    return text;
  }
  // NaN when the inner process is not one of ours and does not know its mean.
  double MeanBps() const override {
    const auto* rate = dynamic_cast<const RateProcess*>(inner_.get());
    return rate ? factor_ * rate->MeanBps() : std::nan("");
  }

 private:
  std::unique_ptr<CapacityProcess> inner_;
  double factor_;
};

class Offset : public RateProcess {
 public:
  Offset(std::unique_ptr<CapacityProcess> inner, double offset_s)
      : inner_(std::move(inner)), offset_s_(std::round(offset_s * 1000.0) / 1000.0) {
    if (!inner_) throw std::invalid_argument("offset capacity: no inner capacity process");
    if (!(offset_s >= 0) || !std::isfinite(offset_s)) {
      throw std::invalid_argument("capacity offset " + core::FormatDouble(offset_s) +
                                  " s must be finite and >= 0");
    }
    bytes_before_ = inner_->Cumulative(offset_s_);
  }
  double Cumulative(double t_s) override {
    if (t_s <= 0) return 0.0;
    return std::max(0.0, inner_->Cumulative(t_s + offset_s_) - bytes_before_);
  }
  double TimeOf(double bytes) override {
    if (bytes <= 0) return 0.0;
    return std::max(0.0, inner_->TimeOf(bytes + bytes_before_) - offset_s_);
  }
  std::string Describe() const override {
    return inner_->Describe() + ", from " + core::FormatDouble(offset_s_) + " s";
  }
  double MeanBps() const override {
    const auto* rate = dynamic_cast<const RateProcess*>(inner_.get());
    return rate ? rate->MeanBps() : std::nan("");
  }
  double PeriodS() const override { return inner_->PeriodS(); }

 private:
  std::unique_ptr<CapacityProcess> inner_;
  double offset_s_;
  double bytes_before_ = 0.0;
};

// A parsed trace shared by every scenario that loads it (traces are read-only once parsed).
class SharedTrace : public RateProcess {
 public:
  explicit SharedTrace(std::shared_ptr<RateProcess> trace) : trace_(std::move(trace)) {}
  double Cumulative(double t_s) override { return trace_->Cumulative(t_s); }
  double TimeOf(double bytes) override { return trace_->TimeOf(bytes); }
  std::string Describe() const override { return trace_->Describe(); }
  double MeanBps() const override { return trace_->MeanBps(); }
  double PeriodS() const override { return trace_->PeriodS(); }

 private:
  std::shared_ptr<RateProcess> trace_;
};

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string BaseName(const std::string& path) { return path.substr(path.find_last_of('/') + 1); }

// A numbered line of a trace file, its text trimmed (so "\r\n" endings are fine).
struct Line {
  int number;
  std::string text;
};

// Reads the non-blank lines of a trace file; blank lines may only trail.
std::vector<Line> ReadTraceLines(const std::string& path) {
  if (!IsFile(path)) {
    struct stat st {};
    const std::string why =
        ::stat(path.c_str(), &st) != 0 ? std::strerror(errno) : "not a regular file";
    throw std::invalid_argument(path + ": cannot read trace file (" + why + ")");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::invalid_argument(path + ": cannot read trace file (" + std::strerror(errno) + ")");
  }
  // A text trace has no NUL bytes; say what kind of file it is instead of parsing its lines.
  std::string head(512, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  if (head.find('\0') != std::string::npos) {
    const bool hdf5 = head.compare(0, 8, "\x89HDF\r\n\x1a\n") == 0;
    throw std::invalid_argument(path + ": not a text trace (" +
                                (hdf5 ? std::string("an HDF5 file") : "binary data") + ")");
  }
  in.clear();
  in.seekg(0);
  std::vector<Line> lines;
  int number = 0, first_blank = 0;
  for (std::string raw; std::getline(in, raw);) {
    ++number;
    std::string text = core::Trim(raw);
    if (text.empty()) {
      if (first_blank == 0) first_blank = number;
      continue;
    }
    if (first_blank != 0) {
      throw std::invalid_argument(path + ":" + std::to_string(first_blank) +
                                  ": blank line inside the trace");
    }
    lines.push_back({number, std::move(text)});
  }
  if (in.bad()) throw std::invalid_argument(path + ": read error");
  if (lines.empty()) throw std::invalid_argument(path + ": empty trace file");
  return lines;
}

std::unique_ptr<CapacityProcess> ParseMahimahi(const std::string& path,
                                               const std::vector<Line>& lines) {
  std::vector<int64_t> ms;
  ms.reserve(lines.size());
  int previous_line = 0;
  for (const Line& line : lines) {
    const std::string where = path + ":" + std::to_string(line.number) + ": ";
    errno = 0;
    char* end = nullptr;
    const long long value = std::strtoll(line.text.c_str(), &end, 10);
    if (end != line.text.c_str() + line.text.size() || errno == ERANGE) {
      throw std::invalid_argument(where + "'" + core::Printable(line.text) +
                                  "' is not an integer millisecond timestamp");
    }
    if (value < 0) throw std::invalid_argument(where + "negative timestamp " + line.text);
    if (!ms.empty() && value < ms.back()) {
      throw std::invalid_argument(where + "timestamp " + line.text + " goes backwards (after " +
                                  std::to_string(ms.back()) + " on line " +
                                  std::to_string(previous_line) + ")");
    }
    ms.push_back(value);
    previous_line = line.number;
  }
  if (ms.back() == 0) {
    throw std::invalid_argument(path + ": zero capacity (every timestamp is 0 ms)");
  }
  return MahimahiCapacity(std::move(ms), BaseName(path));
}

// A whole-string finite number, or false.
bool ParseNumber(const std::string& text, double* value) {
  char* end = nullptr;
  errno = 0;
  *value = std::strtod(text.c_str(), &end);
  return !text.empty() && end == text.c_str() + text.size() && errno != ERANGE &&
         std::isfinite(*value);
}

std::unique_ptr<CapacityProcess> ParsePensieve(const std::string& path,
                                               const std::vector<Line>& lines) {
  std::vector<double> times_s, rates_mbps;
  int previous_line = 0;
  for (const Line& line : lines) {
    const std::string where = path + ":" + std::to_string(line.number) + ": ";
    std::istringstream fields(line.text);
    std::string time_text, rate_text, extra;
    fields >> time_text >> rate_text >> extra;
    if (rate_text.empty() || !extra.empty()) {
      throw std::invalid_argument(where + "'" + core::Printable(line.text) +
                                  "' is not two numbers '<time s> <throughput Mbit/s>'");
    }
    double time_s = 0, rate_mbps = 0;
    if (!ParseNumber(time_text, &time_s)) {
      throw std::invalid_argument(where + "'" + core::Printable(time_text) +
                                  "' is not a time in seconds");
    }
    if (!ParseNumber(rate_text, &rate_mbps)) {
      throw std::invalid_argument(where + "'" + core::Printable(rate_text) +
                                  "' is not a throughput in Mbit/s");
    }
    if (rate_mbps < 0) {
      throw std::invalid_argument(where + "negative throughput " + rate_text + " Mbit/s");
    }
    if (!times_s.empty() && !(time_s > times_s.back())) {
      throw std::invalid_argument(where + "time " + time_text + " s does not increase (after " +
                                  core::FormatDouble(times_s.back()) + " s on line " +
                                  std::to_string(previous_line) + ")");
    }
    times_s.push_back(time_s);
    rates_mbps.push_back(rate_mbps);
    previous_line = line.number;
  }
  if (*std::max_element(rates_mbps.begin(), rates_mbps.end()) <= 0) {
    throw std::invalid_argument(path + ": zero capacity (every throughput is 0)");
  }
  return PiecewiseCapacity(std::move(times_s), std::move(rates_mbps), "pensieve " + BaseName(path));
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
  return std::make_unique<Piecewise>(times_s, rates_mbps, std::move(name));
}

namespace {

std::unique_ptr<CapacityProcess> ParseTrace(const std::string& path, const std::string& format) {
  const std::vector<Line> lines = ReadTraceLines(path);
  bool pensieve = format == "pensieve";
  if (format == "auto") {
    // Two columns on the first line mean a throughput log.
    std::istringstream first(lines.front().text);
    std::string a, b;
    first >> a >> b;
    pensieve = !b.empty();
  }
  return pensieve ? ParsePensieve(path, lines) : ParseMahimahi(path, lines);
}

}  // namespace

std::unique_ptr<CapacityProcess> LoadTraceCapacity(const std::string& path,
                                                   const std::string& format) {
  if (format != "auto" && format != "mahimahi" && format != "pensieve") {
    throw std::invalid_argument(path + ": unknown trace format '" + format +
                                "' (use auto, mahimahi or pensieve)");
  }
  // The cache key: the file as it is now (a replaced file has another inode, a rewritten one
  // another size or modification and change times).
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return ParseTrace(path, format);
  const std::string key =
      path + '\n' + format + '\n' + std::to_string(st.st_dev) + ':' + std::to_string(st.st_ino) +
      '\n' + std::to_string(st.st_size) + '\n' + std::to_string(st.st_mtim.tv_sec) + '.' +
      std::to_string(st.st_mtim.tv_nsec) + '\n' + std::to_string(st.st_ctim.tv_sec) + '.' +
      std::to_string(st.st_ctim.tv_nsec);
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<RateProcess>> cache;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it != cache.end()) return std::make_unique<SharedTrace>(it->second);
  }
  std::unique_ptr<CapacityProcess> parsed = ParseTrace(path, format);  // throws on bad files
  std::shared_ptr<RateProcess> shared(static_cast<RateProcess*>(parsed.release()));
  std::lock_guard<std::mutex> lock(mutex);
  constexpr size_t kMaxTraces = 256;  // a bound on the memory the cache holds
  if (cache.size() >= kMaxTraces) cache.clear();
  cache.emplace(key, shared);
  return std::make_unique<SharedTrace>(std::move(shared));
}

// Looks at the path itself, then $LINKLAB_TRACE_PATH, then the shared traces relative to the
// working directory: ../shared (run from the repository root) and ../../shared (run from a
// build folder). Test builds also know the source tree (LINKLAB_SOURCE_DIR).
std::string FindTrace(const std::string& name_or_path) {
  if (IsFile(name_or_path)) return name_or_path;
  struct stat st {};
  if (::stat(name_or_path.c_str(), &st) == 0) {
    throw std::invalid_argument("trace '" + name_or_path + "' is " +
                                (S_ISDIR(st.st_mode) ? "a directory" : "not a regular file") +
                                ", not a trace file");
  }
  if (!name_or_path.empty() && name_or_path.front() == '/') {
    throw std::invalid_argument("trace '" + name_or_path + "' not found");
  }
  std::vector<std::string> folders;
  if (const char* env = std::getenv("LINKLAB_TRACE_PATH")) {
    for (const std::string& folder : core::Split(env, ':')) {
      if (!folder.empty()) folders.push_back(folder);
    }
  }
  std::vector<std::string> roots = {"../shared/data/traces", "../../shared/data/traces"};
#ifdef LINKLAB_SOURCE_DIR
  roots.push_back(std::string(LINKLAB_SOURCE_DIR) + "/../shared/data/traces");
#endif
  for (const std::string& root : roots) {
    folders.push_back(root + "/mahimahi");
    folders.push_back(root + "/pensieve-train");
  }
  std::vector<std::string> tried = {name_or_path};
  for (const std::string& folder : folders) {
    const std::string path = folder + "/" + name_or_path;
    if (IsFile(path)) return path;
    tried.push_back(path);
  }
  throw std::invalid_argument("trace '" + name_or_path + "' not found; looked at " +
                              core::Join(tried, ", "));
}

std::vector<double> IntervalRatesMbps(CapacityProcess& process, double span_s, double interval_s) {
  const auto n = static_cast<int64_t>(std::floor(span_s / interval_s + 1e-9));
  std::vector<double> rates;
  double before = 0.0;
  for (int64_t k = 0; k < n; ++k) {
    const double after = process.Cumulative((k + 1) * interval_s);
    rates.push_back((after - before) * 8.0 / interval_s / 1e6);
    before = after;
  }
  return rates;
}

std::vector<std::string> TraceFilesIn(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string n = e.path().filename().string();
    bool skip = n.empty() || n[0] == '.';
    for (const char* terms : {"README", "LICENSE", "LICENCE", "COPYING"}) {
      skip = skip || n.rfind(terms, 0) == 0;
    }
    if (!skip) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void WriteMahimahiTrace(CapacityProcess& process, double duration_s, const std::string& path) {
  if (!(duration_s >= 0.001) || !std::isfinite(duration_s)) {
    throw std::invalid_argument("trace " + path + ": duration " + core::FormatDouble(duration_s) +
                                " s: must be at least 1 ms");
  }
  const auto last_ms = static_cast<int64_t>(std::llround(duration_s * 1e3));
  std::string text;
  double sent = 0.0;  // opportunities written so far
  for (int64_t ms = 1; ms <= last_ms; ++ms) {
    const double due = std::floor(process.Cumulative(ms / 1e3) / kMahimahiOpportunityBytes);
    for (; sent < due; sent += 1.0) text += std::to_string(ms) + "\n";
  }
  if (text.empty()) {
    throw std::invalid_argument("trace " + path + ": " + process.Describe() +
                                " delivers nothing in " + core::FormatDouble(duration_s) + " s");
  }
  core::WriteFileAtomic(path, text);
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

std::unique_ptr<CapacityProcess> OffsetCapacity(std::unique_ptr<CapacityProcess> inner,
                                                double offset_s) {
  return std::make_unique<Offset>(std::move(inner), offset_s);
}

}  // namespace linklab::sim
