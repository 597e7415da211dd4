#include "models/boosted_trees.h"

#include <xgboost/c_api.h>

#include <cmath>
#include <filesystem>
#include <stdexcept>

namespace linklab::models {

namespace {

void Check(int rc, const std::string& what) {
  if (rc != 0) throw std::runtime_error(what + ": " + XGBGetLastError());
}

// A DMatrix of `rows` x `columns` features, freed with the object.
class Matrix {
 public:
  Matrix(const std::vector<float>& x, int64_t rows, int64_t columns) {
    Check(XGDMatrixCreateFromMat(x.data(), static_cast<bst_ulong>(rows),
                                 static_cast<bst_ulong>(columns), NAN, &handle_),
          "boosted trees: data");
  }
  ~Matrix() { XGDMatrixFree(handle_); }
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;
  DMatrixHandle get() const { return handle_; }
  void SetLabels(const std::vector<float>& y, int64_t rows, int64_t outputs, int64_t k) {
    std::vector<float> label(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) label[static_cast<size_t>(r)] = y[r * outputs + k];
    Check(XGDMatrixSetFloatInfo(handle_, "label", label.data(), static_cast<bst_ulong>(rows)),
          "boosted trees: labels");
  }

 private:
  DMatrixHandle handle_ = nullptr;
};

std::vector<float> PredictOne(BoosterHandle b, DMatrixHandle m) {
  bst_ulong n = 0;
  const float* out = nullptr;
  Check(XGBoosterPredict(b, m, 0, 0, 0, &n, &out), "boosted trees: predict");
  return std::vector<float>(out, out + n);
}

}  // namespace

BoostedTrees::~BoostedTrees() { Free(); }

BoostedTrees::BoostedTrees(BoostedTrees&& o) noexcept { *this = std::move(o); }

BoostedTrees& BoostedTrees::operator=(BoostedTrees&& o) noexcept {
  if (this != &o) {
    Free();
    columns_ = o.columns_;
    boosters_ = std::move(o.boosters_);
    best_rounds_ = std::move(o.best_rounds_);
    o.boosters_.clear();
  }
  return *this;
}

void BoostedTrees::Free() {
  for (void* b : boosters_) XGBoosterFree(b);
  boosters_.clear();
}

BoostedTrees BoostedTrees::Fit(const Table& train, const Table& val, int64_t columns,
                               int64_t outputs, const TreesOptions& o,
                               const std::function<void(int64_t, int, double)>& progress) {
  if (train.rows < 2 || val.rows < 1) {
    throw std::invalid_argument("boosted trees: " + std::to_string(train.rows) + " training and " +
                                std::to_string(val.rows) + " validation rows: too few");
  }
  BoostedTrees t;
  t.columns_ = columns;
  Matrix dtrain(train.x, train.rows, columns), dval(val.x, val.rows, columns);
  for (int64_t k = 0; k < outputs; ++k) {
    dtrain.SetLabels(train.y, train.rows, outputs, k);
    BoosterHandle b = nullptr;
    DMatrixHandle cache[] = {dtrain.get(), dval.get()};
    Check(XGBoosterCreate(cache, 2, &b), "boosted trees: create");
    t.boosters_.push_back(b);
    const std::vector<std::pair<std::string, std::string>> params = {
        {"objective", o.loss == "mae" ? "reg:absoluteerror" : "reg:squarederror"},
        {"tree_method", "hist"},
        {"nthread", "1"},
        {"max_depth", std::to_string(o.max_depth)},
        {"eta", std::to_string(o.learning_rate)},
        {"subsample", std::to_string(o.subsample)},
        {"seed", std::to_string(o.seed % 2147483647)},
        {"verbosity", "0"}};
    for (const auto& [key, value] : params) {
      Check(XGBoosterSetParam(b, key.c_str(), value.c_str()), "boosted trees: " + key);
    }
    double best = INFINITY;
    int best_round = 0;
    for (int round = 1; round <= o.rounds; ++round) {
      Check(XGBoosterUpdateOneIter(b, round - 1, dtrain.get()), "boosted trees: round");
      const std::vector<float> p = PredictOne(b, dval.get());
      double sum = 0.0;
      for (int64_t r = 0; r < val.rows; ++r) {
        const double e = p[static_cast<size_t>(r)] - val.y[r * outputs + k];
        sum += o.loss == "mae" ? std::fabs(e) : e * e;
      }
      const double loss = sum / static_cast<double>(val.rows);
      if (loss < best) {
        best = loss;
        best_round = round;
      }
      if (progress && round % 50 == 0) progress(k, round, loss);
      if (round - best_round >= o.patience) break;
    }
    if (best_round == 0) {
      throw std::runtime_error("boosted trees: output " + std::to_string(k) +
                               ": no round had a finite validation loss");
    }
    BoosterHandle kept = nullptr;
    Check(XGBoosterSlice(b, 0, best_round, 1, &kept), "boosted trees: keep the best rounds");
    XGBoosterFree(b);
    t.boosters_.back() = kept;
    t.best_rounds_.push_back(best_round);
  }
  return t;
}

std::vector<float> BoostedTrees::Predict(const std::vector<float>& x, int64_t rows) const {
  if (static_cast<int64_t>(x.size()) != rows * columns_) {
    throw std::invalid_argument("boosted trees: " + std::to_string(x.size()) + " inputs for " +
                                std::to_string(rows) + " rows of " + std::to_string(columns_));
  }
  Matrix m(x, rows, columns_);
  const auto outputs = static_cast<int64_t>(boosters_.size());
  std::vector<float> out(static_cast<size_t>(rows * outputs));
  for (int64_t k = 0; k < outputs; ++k) {
    const std::vector<float> p = PredictOne(boosters_[static_cast<size_t>(k)], m.get());
    for (int64_t r = 0; r < rows; ++r) out[static_cast<size_t>(r * outputs + k)] = p[r];
  }
  return out;
}

void BoostedTrees::Save(const std::string& dir) const {
  std::filesystem::create_directories(dir);
  for (size_t k = 0; k < boosters_.size(); ++k) {
    const std::string file = dir + "/trees_" + std::to_string(k) + ".json";
    const std::string tmp = dir + "/trees_" + std::to_string(k) + ".tmp.json";  // JSON by name
    Check(XGBoosterSaveModel(boosters_[k], tmp.c_str()), "boosted trees: " + file);
    std::filesystem::rename(tmp, file);
  }
}

BoostedTrees BoostedTrees::Load(const std::string& dir, int64_t columns, int64_t outputs) {
  BoostedTrees t;
  t.columns_ = columns;
  for (int64_t k = 0; k < outputs; ++k) {
    const std::string file = dir + "/trees_" + std::to_string(k) + ".json";
    if (!std::filesystem::exists(file)) throw std::runtime_error(file + ": missing");
    BoosterHandle b = nullptr;
    Check(XGBoosterCreate(nullptr, 0, &b), "boosted trees: create");
    t.boosters_.push_back(b);
    Check(XGBoosterSetParam(b, "nthread", "1"), "boosted trees: nthread");
    Check(XGBoosterLoadModel(b, file.c_str()), file);
    bst_ulong features = 0;
    Check(XGBoosterGetNumFeature(b, &features), file);
    if (static_cast<int64_t>(features) != columns) {
      throw std::runtime_error(file + ": trees over " + std::to_string(features) +
                               " features, this predictor has " + std::to_string(columns));
    }
  }
  return t;
}

}  // namespace linklab::models
