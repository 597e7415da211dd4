#include "models/forecast.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "core/text.h"
#include "datasets/recording.h"
#include "sim/capacity.h"

namespace linklab::models {

namespace fs = std::filesystem;

namespace {

// The files `paths` name: files as given, folders' trace files (sim::TraceFilesIn).
std::vector<std::string> ExpandPaths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      const std::vector<std::string> inside = sim::TraceFilesIn(p);
      if (inside.empty()) throw std::invalid_argument("traces: folder " + p + " holds no file");
      files.insert(files.end(), inside.begin(), inside.end());
    } else if (fs::exists(p, ec)) {
      files.push_back(p);
    } else {
      // A bare name, found as scenarios find traces (or an error listing where it looked).
      files.push_back(sim::FindTrace(p));
    }
  }
  if (files.empty()) throw std::invalid_argument("traces: none given");
  return files;
}

Series FromTrace(const std::string& path, const std::string& format, double interval_s) {
  auto capacity = sim::LoadTraceCapacity(path, format);
  const double period = capacity->PeriodS();
  Series s;
  s.name = fs::path(path).filename().string();
  s.interval_s = interval_s;
  s.mbps = sim::IntervalRatesMbps(*capacity, period, interval_s);
  if (s.mbps.empty()) {
    throw std::invalid_argument(path + ": the trace lasts " + core::FormatDouble(period) +
                                " s, less than one interval of " + core::FormatDouble(interval_s) +
                                " s");
  }
  return s;
}

std::vector<Series> FromDataset(const std::string& path, double interval_s) {
  core::MetricsLog log;
  try {
    log = datasets::ReadDataset(path);
  } catch (const std::runtime_error& e) {  // not HDF5, or another kind of file
    throw std::invalid_argument(path + ": not a linklab data set (" + e.what() + ")");
  }
  std::vector<Series> out;
  for (const auto& [table, data] : log.tables()) {
    // links/<link>/all
    if (!core::StartsWith(table, "links/") || table.size() < 4 ||
        table.substr(table.size() - 4) != "/all") {
      continue;
    }
    const std::string link = table.substr(6, table.size() - 10);
    const std::vector<double>& cap = data.Column("capacity_mbps");
    const std::vector<double>& step = data.Column("interval_s");
    if (cap.empty()) continue;
    const double file_dt = step[0];
    const double ratio = interval_s / file_dt;
    const auto k = static_cast<int64_t>(std::llround(ratio));
    if (k < 1 || std::fabs(ratio - static_cast<double>(k)) > 1e-6) {
      throw std::invalid_argument(path + ": link " + link + " has samples every " +
                                  core::FormatDouble(file_dt) + " s; the interval " +
                                  core::FormatDouble(interval_s) +
                                  " s must be a whole multiple of it");
    }
    Series s;
    s.name = fs::path(path).filename().string() + ":" + link;
    s.interval_s = interval_s;
    for (size_t i = 0; i + static_cast<size_t>(k) <= cap.size(); i += static_cast<size_t>(k)) {
      double sum = 0.0;
      for (int64_t j = 0; j < k; ++j) sum += cap[i + static_cast<size_t>(j)];
      s.mbps.push_back(sum / static_cast<double>(k));
    }
    out.push_back(std::move(s));
  }
  if (out.empty()) {
    throw std::invalid_argument(path + ": a data set without any link's 'all' capacity_mbps");
  }
  return out;
}

class Last : public Forecaster {
 public:
  const std::string& name() const override { return name_; }
  int warmup() const override { return 1; }
  void Reset() override { last_ = 0.0; }
  void Observe(double mbps) override { last_ = mbps; }
  double Predict(int) const override { return last_; }

 private:
  std::string name_ = "last";
  double last_ = 0.0;
};

class Ewma : public Forecaster {
 public:
  explicit Ewma(double alpha) : alpha_(alpha) {}
  const std::string& name() const override { return name_; }
  int warmup() const override { return 1; }
  void Reset() override { seen_ = false; }
  void Observe(double mbps) override {
    value_ = seen_ ? alpha_ * mbps + (1.0 - alpha_) * value_ : mbps;
    seen_ = true;
  }
  double Predict(int) const override { return value_; }

 private:
  std::string name_ = "ewma";
  double alpha_;
  double value_ = 0.0;
  bool seen_ = false;
};

class HarmonicMean : public Forecaster {
 public:
  explicit HarmonicMean(int n) : recent_(static_cast<size_t>(n), 0.0) {}
  const std::string& name() const override { return name_; }
  int warmup() const override { return static_cast<int>(recent_.size()); }
  void Reset() override {
    std::fill(recent_.begin(), recent_.end(), 0.0);
    next_ = 0;
  }
  void Observe(double mbps) override {
    recent_[next_] = mbps;
    next_ = (next_ + 1) % recent_.size();
  }
  double Predict(int) const override {
    double inverse = 0.0;
    for (double x : recent_) {
      if (!(x > 0)) return 0.0;  // an empty interval: the harmonic mean is 0
      inverse += 1.0 / x;
    }
    return static_cast<double>(recent_.size()) / inverse;
  }

 private:
  std::string name_ = "harmonic_mean";
  std::vector<double> recent_;
  size_t next_ = 0;
};

// Running sums of one forecaster's errors over the samples at or above the floor.
struct Sums {
  double abs = 0.0, sq = 0.0, rel = 0.0;
  int64_t n = 0, within = 0, below = 0;
  void Add(double predicted, double actual) {
    if (!(actual >= kMapeFloorMbps)) {
      ++below;
      return;
    }
    const double e = std::fabs(predicted - actual);
    abs += e;
    sq += e * e;
    rel += e / actual;
    within += e <= 0.2 * actual;
    ++n;
  }
  ForecastFigures Figures() const {
    ForecastFigures f;
    f.samples = n;
    f.below_floor = below;
    const double nan = std::nan("");
    f.mae = n > 0 ? abs / n : nan;
    f.rmse = n > 0 ? std::sqrt(sq / n) : nan;
    f.mape_pct = n > 0 ? 100.0 * rel / n : nan;
    f.accuracy = n > 0 ? static_cast<double>(within) / n : nan;
    return f;
  }
  void Merge(const Sums& o) {
    abs += o.abs;
    sq += o.sq;
    rel += o.rel;
    n += o.n;
    within += o.within;
    below += o.below;
  }
};

}  // namespace

std::vector<Series> LoadSeries(const std::vector<std::string>& paths, const std::string& format,
                               double interval_s) {
  if (format != "mahimahi" && format != "pensieve" && format != "h5") {
    throw std::invalid_argument("--format = '" + core::Printable(format) +
                                "': must be mahimahi, pensieve or h5");
  }
  if (!(interval_s > 0) || !std::isfinite(interval_s)) {
    throw std::invalid_argument("interval " + core::FormatDouble(interval_s) + " s: must be > 0");
  }
  std::vector<Series> out;
  for (const std::string& file : ExpandPaths(paths)) {
    if (format == "h5") {
      for (Series& s : FromDataset(file, interval_s)) out.push_back(std::move(s));
    } else {
      out.push_back(FromTrace(file, format, interval_s));
    }
  }
  return out;
}

std::vector<std::unique_ptr<Forecaster>> ClassicalForecasters() {
  std::vector<std::unique_ptr<Forecaster>> f;
  f.push_back(std::make_unique<Last>());
  f.push_back(std::make_unique<Ewma>(0.3));
  f.push_back(std::make_unique<HarmonicMean>(5));
  return f;
}

std::vector<ForecastResult> EvaluateForecasters(
    const std::vector<Series>& series, int horizon,
    const std::vector<std::unique_ptr<Forecaster>>& forecasters) {
  if (horizon < 1) {
    throw std::invalid_argument("horizon " + std::to_string(horizon) + " steps: must be >= 1");
  }
  int warm = 1;
  for (const auto& f : forecasters) warm = std::max(warm, f->warmup());
  for (const Series& s : series) {
    const size_t needed = static_cast<size_t>(warm + horizon);
    if (s.mbps.size() < needed) {
      throw std::invalid_argument(s.name + ": " + std::to_string(s.mbps.size()) + " samples of " +
                                  core::FormatDouble(s.interval_s) +
                                  " s; the forecasters need at least " + std::to_string(needed) +
                                  " (a warm-up of " + std::to_string(warm) +
                                  " and the horizon of " + std::to_string(horizon) + ")");
    }
  }
  std::vector<ForecastResult> results;
  for (const auto& f : forecasters) {
    ForecastResult r;
    r.forecaster = f->name();
    Sums all;
    for (const Series& s : series) {
      Sums one;
      f->Reset();
      const size_t n = s.mbps.size();
      for (size_t t = 0; t + static_cast<size_t>(horizon) < n; ++t) {
        f->Observe(s.mbps[t]);
        if (t + 1 < static_cast<size_t>(warm)) continue;
        one.Add(f->Predict(horizon), s.mbps[t + static_cast<size_t>(horizon)]);
      }
      r.per_series.push_back(one.Figures());
      all.Merge(one);
    }
    r.overall = all.Figures();
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace linklab::models
