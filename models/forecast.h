#pragma once
// Bandwidth series and their forecasts (torch-free): series at fixed intervals from real
// traces or linklab data sets, the classical forecasters every predictor is judged against,
// and the figures they are judged by.
//
// A series is the bandwidth (Mbit/s) of each interval. From a trace (mahimahi, pensieve): what
// the trace could deliver in each interval of one period, [k dt, (k+1) dt), as `linklab
// dataset import` bins it. From a data set (h5): each link's "all" capacity_mbps, averaged
// over whole groups of samples when the requested interval is a multiple of the file's.
//
// Forecast at horizon h steps: after observing samples 0..t, predict sample t + h. Every
// forecaster of one evaluation predicts the same samples (t from the longest warm-up on).
// Figures per forecaster, per series and overall (over all samples of all series), over the
// predicted samples whose actual bandwidth is at least kMapeFloorMbps (0.05 Mbit/s; outages
// make relative errors meaningless, and ../shared/reference/REFERENCE.md measures its
// baselines so): MAE and RMSE (Mbit/s), MAPE (mean |pred - actual| / actual, %), accuracy
// (the share of predictions within +-20 % of the actual, the source documents' definition).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace linklab::models {

constexpr double kMapeFloorMbps = 0.05;

struct Series {
  std::string name;  // the trace's file name, or "<file>:<link>" for a data set
  double interval_s = 1.0;
  std::vector<double> mbps;
};

// Every series in `paths` (files; folders: their trace files, sim::TraceFilesIn; bare names:
// found as scenarios find traces, sim::FindTrace), read as
// `format` ("mahimahi", "pensieve" or "h5") at `interval_s`. Throws std::invalid_argument naming
// the file: missing, unparsable, a data set of another kind, an interval that is not a whole
// multiple of a data set's, a trace shorter than one interval.
std::vector<Series> LoadSeries(const std::vector<std::string>& paths, const std::string& format,
                               double interval_s);

// A forecaster sees the samples one by one and predicts a later one.
class Forecaster {
 public:
  virtual ~Forecaster() = default;
  virtual const std::string& name() const = 0;
  // Samples it needs before its first prediction.
  virtual int warmup() const = 0;
  virtual void Reset() = 0;
  virtual void Observe(double mbps) = 0;
  // The prediction `horizon` samples after the last one observed (Mbit/s).
  virtual double Predict(int horizon) const = 0;
};

// The classical baselines: "last" (the last value), "ewma" (exponentially weighted, alpha
// 0.3, over everything observed), "harmonic_mean" (of the last 5 samples, the MPC
// video-streaming predictor; 0 when one of them is 0).
std::vector<std::unique_ptr<Forecaster>> ClassicalForecasters();

struct ForecastFigures {
  double mae = 0.0, rmse = 0.0, mape_pct = 0.0, accuracy = 0.0;
  int64_t samples = 0;      // predicted samples at or above the floor (the figures' base)
  int64_t below_floor = 0;  // predicted samples left out (actual below the floor)
};

struct ForecastResult {
  std::string forecaster;
  ForecastFigures overall;
  std::vector<ForecastFigures> per_series;  // as the series were given
};

// Runs every forecaster over every series at `horizon` steps (>= 1). A series too short for
// the warm-up plus the horizon is std::invalid_argument naming it and the samples needed.
std::vector<ForecastResult> EvaluateForecasters(
    const std::vector<Series>& series, int horizon,
    const std::vector<std::unique_ptr<Forecaster>>& forecasters);

}  // namespace linklab::models
