#include "models/confidence.h"

#include <algorithm>
#include <cmath>

namespace linklab::models {

bool Within20(double predicted, double actual) {
  return std::fabs(predicted - actual) <= 0.2 * actual;
}

int BinOf(double confidence) {
  return std::clamp(static_cast<int>(confidence * kConfidenceBins), 0, kConfidenceBins - 1);
}

void RecentAccuracy::Add(bool hit) {
  if (n_ == kConfidenceWindow) {
    count_ -= hits_[static_cast<size_t>(next_)];
  } else {
    ++n_;
  }
  hits_[static_cast<size_t>(next_)] = hit;
  count_ += hit;
  next_ = (next_ + 1) % kConfidenceWindow;
}

double RecentAccuracy::Share() const { return (count_ + 1.0) / (n_ + 2.0); }

double Calibrated(const std::vector<double>& table, double raw) {
  if (table.empty()) return raw;
  return table[static_cast<size_t>(BinOf(raw))];
}

}  // namespace linklab::models
