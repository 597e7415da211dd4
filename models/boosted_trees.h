#pragma once
// Gradient-boosted regression trees (Debian's libxgboost): the strong non-neural baseline of
// the predictors, fitted on the same standardised window features as the recurrent models
// (source 001's boosting-ensemble idea). One booster per output; squared error; histogram
// trees; one thread, so a seed repeats a fit exactly. Each booster keeps the rounds up to its
// best validation loss (early stopping after `patience` rounds without a better one).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace linklab::models {

struct TreesOptions {
  int rounds = 300;
  int max_depth = 6;
  double learning_rate = 0.1;
  double subsample = 0.8;
  int patience = 20;
  uint64_t seed = 1;
  std::string loss = "mse";  // mse (squared error) or mae (absolute error): fitted and stopped on
};

// Row-major [rows, columns] features and [rows, outputs] targets.
struct Table {
  std::vector<float> x, y;
  int64_t rows = 0;
};

class BoostedTrees {
 public:
  BoostedTrees() = default;
  ~BoostedTrees();
  BoostedTrees(BoostedTrees&& o) noexcept;
  BoostedTrees& operator=(BoostedTrees&& o) noexcept;
  BoostedTrees(const BoostedTrees&) = delete;
  BoostedTrees& operator=(const BoostedTrees&) = delete;

  // Fits one booster per output column on `train`, stopping each on `val`'s loss. `progress`
  // (optional) hears (output, round, validation loss) every 50 rounds.
  static BoostedTrees Fit(const Table& train, const Table& val, int64_t columns, int64_t outputs,
                          const TreesOptions& options,
                          const std::function<void(int64_t, int, double)>& progress = {});
  // Predictions [rows, outputs].
  std::vector<float> Predict(const std::vector<float>& x, int64_t rows) const;
  // <dir>/trees_<k>.json per output; Load throws std::runtime_error naming a missing or
  // unreadable file, or one for another number of columns.
  void Save(const std::string& dir) const;
  static BoostedTrees Load(const std::string& dir, int64_t columns, int64_t outputs);

  int64_t outputs() const { return static_cast<int64_t>(boosters_.size()); }
  const std::vector<int>& best_rounds() const { return best_rounds_; }

 private:
  void Free();
  int64_t columns_ = 0;
  std::vector<void*> boosters_;  // BoosterHandle
  std::vector<int> best_rounds_;
};

}  // namespace linklab::models
