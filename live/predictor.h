#pragma once
// An exported predictor (`linklab export` of a predictor run) in linklab-live: the link's
// samples are aggregated into the predictor's interval and features (the data sets' columns,
// with the live stand-ins for what an interface cannot know: sim::SetLiveProxies), scaled as
// in training, and every interval the model forecasts each target at each horizon. Each
// forecast's confidence is its recent accuracy (the share of the last 20 whose actual has come
// that were within +-20 %) through the predictor's calibration table, as in `linklab predictor
// eval`. The forecasts go to /metrics, the status and the recording; policies do not read them.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/confidence.h"
#include "sim/link_sample.h"

namespace linklab::models {
class OnnxRuntime;
}

namespace linklab::live {

struct Forecast {
  std::string target;
  double horizon_s = 0.0;
  double value = 0.0;       // NaN until the window has filled
  double confidence = 0.0;  // calibrated, 0..1
};

class LivePredictor {
 public:
  // Throws std::invalid_argument naming the file: missing, corrupt, not a predictor, metadata
  // missing or inconsistent, a feature linklab-live cannot give.
  explicit LivePredictor(const std::string& path);
  ~LivePredictor();

  double interval_s() const { return interval_s_; }
  int64_t window() const { return window_; }
  // The runner's decision interval: a predictor interval closes every interval_s() /
  // `live_interval_s` samples. Throws std::invalid_argument unless that is a whole number.
  void SetLiveInterval(double live_interval_s);
  // Adds one live interval's "all" sample of the link (proxies set); returns true when it
  // closed a predictor interval (and so updated forecasts()).
  bool Add(const sim::LinkSample& all);
  const std::vector<Forecast>& forecasts() const { return forecasts_; }
  double inference_us() const { return inference_us_; }

 private:
  std::string path_;
  std::unique_ptr<models::OnnxRuntime> runtime_;
  std::vector<std::string> features_, targets_;
  std::vector<double> horizons_s_, mean_, std_;
  std::vector<size_t> target_feature_;  // index of each target among the features
  std::vector<size_t> feature_column_;  // index into sim::SeriesFeatureColumns()
  std::vector<int64_t> horizon_steps_;
  bool change_ = false;
  double interval_s_ = 0.0;
  int64_t window_ = 0;
  std::vector<std::vector<double>> calibration_;  // per (horizon, target)

  // The interval being aggregated.
  int64_t per_interval_ = 0;  // live samples per predictor interval
  int64_t pending_ = 0;
  std::vector<double> sum_, last_;
  std::vector<int64_t> count_;
  std::vector<double> held_;  // the previous interval's value per feature
  // Closed intervals: raw feature values (newest last), at most window + the longest horizon.
  std::deque<std::vector<double>> history_;
  int64_t step_ = 0;
  struct Due {
    int64_t step;
    size_t index;  // into forecasts_
    double value;
  };
  std::deque<Due> due_;
  std::vector<models::RecentAccuracy> recent_;
  std::vector<Forecast> forecasts_;
  std::vector<float> input_;
  double inference_us_ = 0.0;
};

}  // namespace linklab::live
