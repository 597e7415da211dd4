#pragma once
// The confidence of a forecast (torch- and ns-3-free: the predictors' evaluation and
// linklab-live share it): the smoothed share of the forecaster's last kConfidenceWindow
// predictions whose actual is known that were within +-20 %, mapped through a calibration
// table of kConfidenceBins bins (fitted on a trained predictor's validation part).

#include <array>
#include <vector>

namespace linklab::models {

constexpr int kConfidenceWindow = 20;
constexpr int kConfidenceBins = 10;

// Whether `predicted` is within +-20 % of `actual` (the source documents' accuracy).
bool Within20(double predicted, double actual);

// The confidence bin of `confidence` in [0, 1].
int BinOf(double confidence);

// Recent accuracy: of the last kConfidenceWindow predictions, the share that were within
// +-20 %, smoothed as (hits + 1) / (n + 2).
class RecentAccuracy {
 public:
  void Add(bool hit);
  double Share() const;

 private:
  std::array<bool, kConfidenceWindow> hits_{};
  int n_ = 0, next_ = 0, count_ = 0;
};

// `raw` (a recent accuracy) through `table` (kConfidenceBins values; empty: `raw` itself).
double Calibrated(const std::vector<double>& table, double raw);

}  // namespace linklab::models
