#include "models/forecast.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "core/text.h"
#include "datasets/recording.h"
#include "sim/capacity.h"
#include "sim/link_sample.h"

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
  datasets::Attributes attrs;
  try {
    log = datasets::ReadDataset(path, &attrs);
  } catch (const std::runtime_error& e) {  // not HDF5, or another kind of file
    throw std::invalid_argument(path + ": not a linklab data set (" + e.what() + ")");
  }
  // An imported trace knows only the bandwidth; a recording has every feature (an interval
  // without packets, or a link that never carries any, holds the previous value, 0 at first).
  bool imported = false;
  for (const auto& [key, value] : attrs.text) {
    if (key == "source") imported = core::StartsWith(value, "import");
  }
  std::vector<Series> out;
  for (const auto& [table, data] : log.tables()) {
    const std::string link = datasets::AllTableLink(table);
    if (link.empty()) continue;
    const std::vector<double>& step = data.Column("interval_s");
    if (step.empty()) continue;
    const double file_dt = step[0];
    if (!(file_dt > 0) || !std::isfinite(file_dt)) {
      throw std::invalid_argument(path + ": link " + link + " has an interval_s of " +
                                  core::FormatDouble(file_dt) + ": not a positive time");
    }
    const double ratio = interval_s / file_dt;
    const auto k = static_cast<size_t>(std::llround(ratio));
    if (k < 1 || std::fabs(ratio - static_cast<double>(k)) > 1e-6) {
      throw std::invalid_argument(path + ": link " + link + " has samples every " +
                                  core::FormatDouble(file_dt) + " s; the interval " +
                                  core::FormatDouble(interval_s) +
                                  " s must be a whole multiple of it");
    }
    Series s;
    s.name = fs::path(path).filename().string() + ":" + link;
    s.interval_s = interval_s;
    for (const sim::SeriesFeatureColumn& c : sim::SeriesFeatureColumns()) {
      const std::string& feature = c.feature;
      if (imported && feature != "bandwidth") continue;
      std::vector<double> x = data.Column(c.column);
      for (size_t i = 0; i < x.size(); ++i) x[i] *= c.scale / (c.per_second ? step[i] : 1.0);
      const bool clock = feature == "hour" || feature == "day";
      std::vector<double> values;
      double held = 0.0;  // the previous interval's value, for intervals without one
      for (size_t i = 0; i + k <= x.size(); i += k) {
        double sum = 0.0;
        size_t n = 0;
        for (size_t j = i; j < i + k; ++j) {
          if (std::isfinite(x[j])) {
            sum += x[j];
            ++n;
          }
        }
        if (clock) {
          held = std::isfinite(x[i + k - 1]) ? x[i + k - 1] : held;
        } else if (n > 0) {
          held = sum / static_cast<double>(n);
        }
        values.push_back(held);
      }
      if (feature == "bandwidth") {
        s.mbps = std::move(values);
      } else {
        s.more[feature] = std::move(values);
      }
    }
    if (s.mbps.empty()) continue;
    out.push_back(std::move(s));
  }
  if (out.empty()) {
    throw std::invalid_argument(path + ": a data set without any link's 'all' capacity_mbps");
  }
  return out;
}

// A classical forecaster of one target feature: the series' values of it as they come.
class Classical : public Forecaster {
 public:
  Classical(std::string name, std::string target)
      : name_(std::move(name)), target_(std::move(target)) {}
  const std::string& name() const override { return name_; }
  void Start(const Series& s) override {
    values_ = &s.Feature(target_);
    Clear();
  }
  void Observe(size_t t) override { Push((*values_)[t]); }

 protected:
  virtual void Clear() = 0;
  virtual void Push(double x) = 0;

 private:
  std::string name_, target_;
  const std::vector<double>* values_ = nullptr;
};

class Last : public Classical {
 public:
  explicit Last(const std::string& target) : Classical("last", target) {}
  int warmup() const override { return 1; }
  double Predict(int) const override { return last_; }

 private:
  void Clear() override { last_ = 0.0; }
  void Push(double x) override { last_ = x; }
  double last_ = 0.0;
};

class Ewma : public Classical {
 public:
  Ewma(const std::string& target, double alpha) : Classical("ewma", target), alpha_(alpha) {}
  int warmup() const override { return 1; }
  double Predict(int) const override { return value_; }

 private:
  void Clear() override { seen_ = false; }
  void Push(double x) override {
    value_ = seen_ ? alpha_ * x + (1.0 - alpha_) * value_ : x;
    seen_ = true;
  }
  double alpha_;
  double value_ = 0.0;
  bool seen_ = false;
};

class HarmonicMean : public Classical {
 public:
  HarmonicMean(const std::string& target, int n)
      : Classical("harmonic_mean", target), recent_(static_cast<size_t>(n), 0.0) {}
  int warmup() const override { return static_cast<int>(recent_.size()); }
  double Predict(int) const override {
    double inverse = 0.0;
    for (double x : recent_) {
      if (!(x > 0)) return 0.0;  // an empty interval: the harmonic mean is 0
      inverse += 1.0 / x;
    }
    return static_cast<double>(recent_.size()) / inverse;
  }

 private:
  void Clear() override {
    std::fill(recent_.begin(), recent_.end(), 0.0);
    next_ = 0;
  }
  void Push(double x) override {
    recent_[next_] = x;
    next_ = (next_ + 1) % recent_.size();
  }
  std::vector<double> recent_;
  size_t next_ = 0;
};

// Running sums of one forecaster's errors: over the samples at or above `floor` (bandwidth)
// or all (floor -inf), relative errors over those whose actual is above 0.
struct Sums {
  double floor = -INFINITY;
  double abs = 0.0, sq = 0.0, rel = 0.0;
  int64_t n = 0, n_rel = 0, within = 0, below = 0;
  // Whether the prediction counts (false: below the floor).
  bool Add(double predicted, double actual) {
    if (!(actual >= floor)) {
      ++below;
      return false;
    }
    const double e = std::fabs(predicted - actual);
    abs += e;
    sq += e * e;
    ++n;
    if (actual > 0) {
      rel += e / actual;
      within += e <= 0.2 * actual;
      ++n_rel;
    }
    return true;
  }
  ForecastFigures Figures() const {
    ForecastFigures f;
    f.samples = n;
    f.below_floor = below;
    const double nan = std::nan("");
    f.mae = n > 0 ? abs / n : nan;
    f.rmse = n > 0 ? std::sqrt(sq / n) : nan;
    f.mape_pct = n_rel > 0 ? 100.0 * rel / n_rel : nan;
    f.accuracy = n_rel > 0 ? static_cast<double>(within) / n_rel : nan;
    return f;
  }
  void Merge(const Sums& o) {
    abs += o.abs;
    sq += o.sq;
    rel += o.rel;
    n += o.n;
    n_rel += o.n_rel;
    within += o.within;
    below += o.below;
  }
};

class Ensemble : public Forecaster {
 public:
  Ensemble(std::string how, std::string target, std::vector<std::unique_ptr<Forecaster>> parts)
      : name_(how), blend_(how == "hybrid"), target_(std::move(target)), parts_(std::move(parts)) {}
  const std::string& name() const override { return name_; }
  int warmup() const override {
    int w = 1;
    for (const auto& p : parts_) w = std::max(w, p->warmup());
    return w;
  }
  void Start(const Series& s) override {
    actual_ = &s.Feature(target_);
    recent_.assign(parts_.size(), RecentAccuracy());
    made_.assign(parts_.size(), std::vector<double>(actual_->size(), NAN));
    for (auto& p : parts_) p->Start(s);
  }
  void Observe(size_t t) override {
    t_ = t;
    const double a = (*actual_)[t];
    for (size_t i = 0; i < parts_.size(); ++i) {
      parts_[i]->Observe(t);
      if (std::isfinite(made_[i][t]) && a > 0) {
        recent_[i].Add(Within20(made_[i][t], a));
      }
    }
  }
  double Predict(int horizon) const override {
    const size_t ahead = t_ + static_cast<size_t>(horizon);
    std::vector<double> p(parts_.size()), c(parts_.size());
    size_t top = 0;
    for (size_t i = 0; i < parts_.size(); ++i) {
      p[i] = parts_[i]->Predict(horizon);
      c[i] = parts_[i]->Calibrate(recent_[i].Share());
      if (ahead < made_[i].size()) made_[i][ahead] = p[i];
      if (c[i] > c[top]) top = i;
    }
    if (!blend_) return p[top];
    // The parts that fit the regime (confidence at least half the top one's), by confidence.
    double weighted = 0.0, weights = 0.0;
    for (size_t i = 0; i < parts_.size(); ++i) {
      if (c[i] < 0.5 * c[top]) continue;
      weighted += c[i] * p[i];
      weights += c[i];
    }
    return weights > 0 ? weighted / weights : p[top];
  }

 private:
  std::string name_;
  bool blend_;
  std::string target_;
  std::vector<std::unique_ptr<Forecaster>> parts_;
  const std::vector<double>* actual_ = nullptr;
  std::vector<RecentAccuracy> recent_;
  mutable std::vector<std::vector<double>> made_;  // each part's prediction for each sample
  size_t t_ = 0;
};

}  // namespace

std::unique_ptr<Forecaster> MakeEnsemble(const std::string& how, const std::string& target,
                                         std::vector<std::unique_ptr<Forecaster>> parts) {
  if (how != "mode" && how != "hybrid") {
    throw std::invalid_argument("ensemble '" + core::Printable(how) + "': must be mode or hybrid");
  }
  if (parts.size() < 2) {
    throw std::invalid_argument("ensemble " + how + ": " + std::to_string(parts.size()) +
                                " predictor(s); it combines two or more");
  }
  return std::make_unique<Ensemble>(how, target, std::move(parts));
}

const std::vector<std::string>& SeriesFeatures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const sim::SeriesFeatureColumn& c : sim::SeriesFeatureColumns()) n.push_back(c.feature);
    return n;
  }();
  return names;
}

const std::vector<double>& Series::Feature(const std::string& feature) const {
  if (feature == "bandwidth") return mbps;
  const auto it = more.find(feature);
  if (it != more.end()) return it->second;
  std::string has = "bandwidth";
  for (const auto& [f, v] : more) has += ", " + f;
  const auto& all = SeriesFeatures();
  throw std::invalid_argument(
      name + ": no feature '" + core::Printable(feature) + "' (it has " + has + ")" +
      (std::find(all.begin(), all.end(), feature) == all.end()
           ? "; features: " + core::Join(all, ", ")
           : std::string("; traces carry the bandwidth only, data sets recorded by `linklab "
                         "dataset generate` all of them")));
}

std::vector<double> FitCalibration(const std::vector<int64_t>& predictions,
                                   const std::vector<double>& observed) {
  // Pooled adjacent violators over the bins that hold predictions: pools merged while one's
  // share is above the next one's.
  struct Pool {
    double weight, share;
    std::vector<size_t> bins;
  };
  std::vector<Pool> pools;
  for (size_t i = 0; i < predictions.size(); ++i) {
    if (predictions[i] <= 0) continue;
    pools.push_back({static_cast<double>(predictions[i]), observed[i], {i}});
    while (pools.size() > 1 && pools[pools.size() - 2].share > pools.back().share) {
      Pool& a = pools[pools.size() - 2];
      const Pool& b = pools.back();
      const double w = a.weight + b.weight;
      a.share = (a.share * a.weight + b.share * b.weight) / w;
      a.weight = w;
      a.bins.insert(a.bins.end(), b.bins.begin(), b.bins.end());
      pools.pop_back();
    }
  }
  // An empty bin: its midpoint, held between its neighbours' values (the map stays monotone).
  const size_t n = predictions.size();
  std::vector<double> out(n, NAN);
  for (const Pool& p : pools) {
    for (size_t i : p.bins) out[i] = p.share;
  }
  double below = 0.0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isfinite(out[i])) {
      below = out[i];
      continue;
    }
    double above = 1.0;
    for (size_t j = i + 1; j < n; ++j) {
      if (std::isfinite(out[j])) {
        above = out[j];
        break;
      }
    }
    out[i] = std::clamp((static_cast<double>(i) + 0.5) / static_cast<double>(n), below, above);
    below = out[i];
  }
  return out;
}

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

std::vector<std::unique_ptr<Forecaster>> ClassicalForecasters(const std::string& target) {
  std::vector<std::unique_ptr<Forecaster>> f;
  f.push_back(std::make_unique<Last>(target));
  f.push_back(std::make_unique<Ewma>(target, 0.3));
  f.push_back(std::make_unique<HarmonicMean>(target, 5));
  return f;
}

std::vector<ForecastResult> EvaluateForecasters(
    const std::vector<Series>& series, int horizon,
    const std::vector<std::unique_ptr<Forecaster>>& forecasters, const std::string& target,
    bool keep_predictions) {
  if (horizon < 1) {
    throw std::invalid_argument("horizon " + std::to_string(horizon) + " steps: must be >= 1");
  }
  int warm = 1;
  for (const auto& f : forecasters) warm = std::max(warm, f->warmup());
  for (const Series& s : series) {
    s.Feature(target);
    const size_t needed = static_cast<size_t>(warm + horizon);
    if (s.mbps.size() < needed) {
      throw std::invalid_argument(s.name + ": " + std::to_string(s.mbps.size()) + " samples of " +
                                  core::FormatDouble(s.interval_s) +
                                  " s; the forecasters need at least " + std::to_string(needed) +
                                  " (a warm-up of " + std::to_string(warm) +
                                  " and the horizon of " + std::to_string(horizon) + ")");
    }
  }
  const double floor = target == "bandwidth" ? kMapeFloorMbps : -INFINITY;
  const auto h = static_cast<size_t>(horizon);
  std::vector<ForecastResult> results;
  for (const auto& f : forecasters) {
    ForecastResult r;
    r.forecaster = f->name();
    Sums all;
    all.floor = floor;
    // Per confidence bin (calibrated, and raw): predictions, hits, summed confidence.
    std::vector<int64_t> n(kConfidenceBins, 0), hits(kConfidenceBins, 0);
    std::vector<int64_t> raw_n(kConfidenceBins, 0), raw_hits(kConfidenceBins, 0);
    std::vector<double> conf_sum(kConfidenceBins, 0.0);
    for (const Series& s : series) {
      const std::vector<double>& actual = s.Feature(target);
      Sums one;
      one.floor = floor;
      f->Start(s);
      const size_t len = actual.size();
      std::vector<double> made(len, NAN);  // the prediction for each sample
      RecentAccuracy recent;
      if (keep_predictions) {
        r.predicted.emplace_back(len, NAN);
        r.confidence.emplace_back(len, NAN);
      }
      for (size_t t = 0; t + h < len; ++t) {
        f->Observe(t);
        // The prediction for sample t is now checked (its actual is known).
        if (std::isfinite(made[t]) && actual[t] > 0) recent.Add(Within20(made[t], actual[t]));
        if (t + 1 < static_cast<size_t>(warm)) continue;
        const double p = f->Predict(horizon);
        made[t + h] = p;
        const double raw = recent.Share();
        const double confidence = f->Calibrate(raw);
        const double a = actual[t + h];
        if (keep_predictions) {
          r.predicted.back()[t + h] = static_cast<float>(p);
          r.confidence.back()[t + h] = static_cast<float>(confidence);
        }
        if (one.Add(p, a) && a > 0) {
          const bool hit = Within20(p, a);
          const int b = BinOf(confidence), rb = BinOf(raw);
          ++n[b];
          hits[b] += hit;
          conf_sum[b] += confidence;
          ++raw_n[rb];
          raw_hits[rb] += hit;
        }
      }
      r.per_series.push_back(one.Figures());
      all.Merge(one);
    }
    r.overall = all.Figures();
    for (int b = 0; b < kConfidenceBins; ++b) {
      CalibrationBin c;
      c.lo = static_cast<double>(b) / kConfidenceBins;
      c.hi = static_cast<double>(b + 1) / kConfidenceBins;
      c.predictions = n[b];
      c.mean_confidence = n[b] > 0 ? conf_sum[b] / n[b] : NAN;
      c.observed = n[b] > 0 ? static_cast<double>(hits[b]) / n[b] : NAN;
      c.raw_predictions = raw_n[b];
      c.raw_observed = raw_n[b] > 0 ? static_cast<double>(raw_hits[b]) / raw_n[b] : NAN;
      r.calibration.push_back(c);
    }
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace linklab::models
