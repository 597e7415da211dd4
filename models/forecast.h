#pragma once
// Link series and their forecasts (torch-free): series at fixed intervals from real traces or
// linklab data sets, the classical forecasters every predictor is judged against, the
// confidence every prediction carries, and the figures they are judged by.
//
// A series holds, per interval, the bandwidth (Mbit/s) and, from data sets, more features
// (SeriesFeatures()). From a trace (mahimahi, pensieve): what the trace could deliver in each
// interval of one period, [k dt, (k+1) dt), as `linklab dataset import` bins it; traces carry
// the bandwidth only. From a data set (h5): each link's "all" samples, averaged over whole
// groups of samples when the requested interval is a multiple of the file's (hour and day:
// the group's last sample; an interval without packets has no latency or jitter: it holds the
// previous interval's, 0 before the first). A data set of imported traces (`linklab dataset
// import`) carries the bandwidth only; a recording (`linklab dataset generate`) all of them.
//
// Forecast at horizon h steps: after observing samples 0..t, predict sample t + h of a target
// feature. Every forecaster of one evaluation predicts the same samples (t from the longest
// warm-up on). Figures per forecaster, per series and overall (over all samples of all
// series): MAE and RMSE over the predicted samples whose actual bandwidth is at least
// kMapeFloorMbps (0.05 Mbit/s; outages make relative errors meaningless, and
// ../shared/reference/REFERENCE.md measures its baselines so), or for another target over all
// predicted samples; MAPE (mean |pred - actual| / actual, %) and accuracy (the share of
// predictions within +-20 % of the actual, the source documents' definition) over those of
// them whose actual is above 0.
//
// Confidence: each prediction carries the forecaster's recent accuracy (the smoothed share of
// its last kConfidenceWindow predictions whose actual is known that were within +-20 %),
// mapped through the forecaster's calibration (a trained predictor's is fitted on its
// validation part; the classical ones report the raw share). The evaluation bins predictions
// by confidence and reports, per bin, the observed share within +-20 %.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/confidence.h"

namespace linklab::models {

constexpr double kMapeFloorMbps = 0.05;

// The features a series may carry, in order: bandwidth (Mbit/s: a data set's capacity_mbps),
// latency (ms: delay_p50_ms), loss (ratio: loss_rate), jitter (ms: jitter_ms), hour (of the
// day, [0, 24): hour_of_day), day (of the week, 0 = Monday: day_of_week), traffic (Mbit/s
// offered to the link: bytes_offered), throughput (Mbit/s delivered: bytes_delivered),
// packets (offered per second: packets_offered), rtt (ms: rtt_p50_ms), delay_p95 (ms:
// delay_p95_ms), backlog (KB queued at the interval's end: backlog_bytes).
const std::vector<std::string>& SeriesFeatures();

struct Series {
  std::string name;  // the trace's file name, or "<file>:<link>" for a data set
  double interval_s = 1.0;
  std::vector<double> mbps;                         // bandwidth
  std::map<std::string, std::vector<double>> more;  // the other features it has (data sets)
  // Feature `name`'s values; std::invalid_argument naming the series, the feature and what
  // it has when it lacks it.
  const std::vector<double>& Feature(const std::string& name) const;
};

// Every series in `paths` (files; folders: their trace files, sim::TraceFilesIn; bare names:
// found as scenarios find traces, sim::FindTrace), read as
// `format` ("mahimahi", "pensieve" or "h5") at `interval_s`. Throws std::invalid_argument naming
// the file: missing, unparsable, a data set of another kind, an interval that is not a whole
// multiple of a data set's, a trace shorter than one interval.
std::vector<Series> LoadSeries(const std::vector<std::string>& paths, const std::string& format,
                               double interval_s);

// A forecaster sees one series' samples in order and predicts a later one of its target.
class Forecaster {
 public:
  virtual ~Forecaster() = default;
  virtual const std::string& name() const = 0;
  // Samples it needs before its first prediction.
  virtual int warmup() const = 0;
  // A new series (kept until the next Start): throws std::invalid_argument naming the series
  // when it lacks a feature the forecaster needs.
  virtual void Start(const Series& s) = 0;
  // Samples 0..t of the series are known (t one more than the last call's).
  virtual void Observe(size_t t) = 0;
  // The prediction `horizon` samples after the last one observed.
  virtual double Predict(int horizon) const = 0;
  // The confidence of a prediction whose forecaster's recent accuracy is `raw` (in [0, 1]).
  virtual double Calibrate(double raw) const { return raw; }
};

// The classical baselines of `target` (a feature): "last" (the last value), "ewma"
// (exponentially weighted, alpha 0.3, over everything observed), "harmonic_mean" (of the last
// 5 samples, the MPC video-streaming predictor; 0 when one of them is 0).
std::vector<std::unique_ptr<Forecaster>> ClassicalForecasters(
    const std::string& target = "bandwidth");

// Several forecasters of one target as one, the two ways source 003's pba_v3 combines its
// datacenter and internet predictors: "mode" (the mode detector) follows, at each step, the part
// whose confidence is highest (the regime the recent samples are in is the one whose model has
// been predicting them well); "hybrid" averages, weighted by confidence, the predictions of the
// parts whose confidence is at least half the highest (those that fit the regime: a part of
// another regime would pull the blend off by its whole error times its small weight). A part's
// confidence: its recent accuracy (RecentAccuracy over its own predictions), through the part's
// Calibrate. std::invalid_argument for another `how` or fewer than two parts.
std::unique_ptr<Forecaster> MakeEnsemble(const std::string& how, const std::string& target,
                                         std::vector<std::unique_ptr<Forecaster>> parts);

// A monotone map from raw recent accuracy to the observed share within +-20 %, one value per
// confidence bin (pooled adjacent violators over the bins that hold predictions, weighted by
// their counts; an empty bin takes its midpoint held between its neighbours' values).
// `observed[i]` of `predictions[i]` in bin i.
std::vector<double> FitCalibration(const std::vector<int64_t>& predictions,
                                   const std::vector<double>& observed);

struct ForecastFigures {
  double mae = 0.0, rmse = 0.0, mape_pct = 0.0, accuracy = 0.0;
  int64_t samples = 0;      // predicted samples at or above the floor (the figures' base)
  int64_t below_floor = 0;  // predicted samples left out (actual below the floor)
};

// Predictions in one confidence bin, [lo, hi): their mean confidence and the share of them
// within +-20 % (of those whose actual is above 0).
struct CalibrationBin {
  double lo = 0.0, hi = 0.0;
  int64_t predictions = 0;
  double mean_confidence = 0.0, observed = 0.0;  // NaN when empty
  double raw_observed = 0.0;  // by raw recent accuracy instead (what FitCalibration takes)
  int64_t raw_predictions = 0;
};

struct ForecastResult {
  std::string forecaster;
  ForecastFigures overall;
  std::vector<ForecastFigures> per_series;  // as the series were given
  std::vector<CalibrationBin> calibration;  // kConfidenceBins, overall
  // With keep_predictions: per series, the prediction made for each sample (NaN for those
  // not predicted), and its confidence.
  std::vector<std::vector<float>> predicted, confidence;
};

// Runs every forecaster over every series at `horizon` steps (>= 1), predicting `target`. A
// series too short for the warm-up plus the horizon is std::invalid_argument naming it and the
// samples needed; one without the target, naming the feature.
std::vector<ForecastResult> EvaluateForecasters(
    const std::vector<Series>& series, int horizon,
    const std::vector<std::unique_ptr<Forecaster>>& forecasters,
    const std::string& target = "bandwidth", bool keep_predictions = false);

}  // namespace linklab::models
