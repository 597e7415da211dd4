#include "experiments/predictor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/files.h"
#include "core/ini.h"
#include "core/machine.h"
#include "core/rng.h"
#include "core/text.h"
#include "datasets/metrics_file.h"
#include "experiments/config.h"
#include "experiments/run.h"
#include "models/boosted_trees.h"
#include "models/forecast.h"
#include "models/model.h"
#include "models/onnx_export.h"

namespace linklab::experiments {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTrainSections = {"experiment", "data", "model", "train", "trees"};

std::string Fixed(double x, int digits) {
  if (!std::isfinite(x)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

std::string Seconds(const std::vector<double>& values) {
  std::vector<std::string> parts;
  for (double v : values) parts.push_back(core::FormatDouble(v));
  return core::Join(parts, ", ");
}

// A predictor config's [model] section: the registered model `name` (default pba_v1) and its
// parameters, checked against its schema.
struct ModelChoice {
  const models::ModelRegistryType::Entry* entry = nullptr;
  core::Params params;
};
ModelChoice ResolveModel(core::RawValues raw) {
  const std::string name = raw.count("name") ? core::Trim(raw["name"].text) : "pba_v1";
  raw.erase("name");
  ModelChoice c;
  c.entry = &models::ModelRegistry().Find(name);
  c.params = core::Params::Resolve(c.entry->params, raw, "[model] " + name);
  return c;
}

// What a trained predictor reads and predicts (a run's scaler.json).
struct Spec {
  std::string model;
  std::vector<std::string> features, targets;
  std::vector<double> horizons_s;
  std::vector<int64_t> horizons;  // steps
  double interval_s = 1.0;
  int64_t window = 1;
  bool change = false;
  std::vector<double> mean, std;  // per feature
  bool trees = false;
  core::Json calibration = core::Json::object();  // "<kind>/<target>/<horizon_s>": per bin

  int64_t Outputs() const { return static_cast<int64_t>(horizons.size() * targets.size()); }
  size_t FeatureIndex(const std::string& f) const {
    return static_cast<size_t>(std::find(features.begin(), features.end(), f) - features.begin());
  }
  static std::string CalibrationKey(const std::string& kind, const std::string& target,
                                    double horizon_s) {
    return kind + "/" + target + "/" + core::FormatDouble(horizon_s);
  }

  core::Json ToJson() const {
    core::Json j = core::Json::object();
    j["model"] = model;
    j["features"] = features;
    j["targets"] = targets;
    j["horizons_s"] = horizons_s;
    j["interval_s"] = interval_s;
    j["window"] = window;
    j["target"] = change ? "change" : "level";
    j["mean"] = mean;
    j["std"] = std;
    j["trees"] = trees;
    j["calibration"] = calibration;
    return j;
  }
  static Spec FromJson(const core::Json& j, const std::string& what) {
    Spec s;
    try {
      s.model = j.at("model").get<std::string>();
      s.features = j.at("features").get<std::vector<std::string>>();
      s.targets = j.at("targets").get<std::vector<std::string>>();
      s.horizons_s = j.at("horizons_s").get<std::vector<double>>();
      s.interval_s = j.at("interval_s").get<double>();
      s.window = j.at("window").get<int64_t>();
      s.change = j.at("target").get<std::string>() == "change";
      s.mean = j.at("mean").get<std::vector<double>>();
      s.std = j.at("std").get<std::vector<double>>();
      s.trees = j.at("trees").get<bool>();
      s.calibration = j.at("calibration");
    } catch (const nlohmann::json::exception& e) {
      throw std::invalid_argument(what + ": not a predictor's scaler.json of this version (" +
                                  std::string(e.what()) + ")");
    }
    auto bad = [&](const std::string& why) {
      return std::invalid_argument(what + ": " + why + " (not written by this version?)");
    };
    if (s.features.empty() || s.mean.size() != s.features.size() ||
        s.std.size() != s.features.size()) {
      throw bad("features, mean and std of different lengths");
    }
    for (const std::string& t : s.targets) {
      if (s.FeatureIndex(t) == s.features.size()) throw bad("target " + t + " is not a feature");
    }
    if (s.targets.empty() || s.horizons_s.empty() || s.window < 1 || !(s.interval_s > 0)) {
      throw bad("no targets, no horizons, or a window or interval below 1");
    }
    for (const auto& [key, table] : s.calibration.items()) {
      if (!table.is_array() || table.size() != static_cast<size_t>(models::kConfidenceBins) ||
          !std::all_of(table.begin(), table.end(), [](const auto& v) { return v.is_number(); })) {
        throw bad("calibration " + key + " does not have " +
                  std::to_string(models::kConfidenceBins) + " bins");
      }
    }
    for (double h : s.horizons_s) s.horizons.push_back(std::llround(h / s.interval_s));
    return s;
  }
};

// The series' features standardised with the spec's scaler, feature-major; a series without
// one of them is std::invalid_argument naming it.
std::vector<std::vector<double>> Standardise(const Spec& spec, const models::Series& s) {
  std::vector<std::vector<double>> z;
  for (size_t f = 0; f < spec.features.size(); ++f) {
    const std::vector<double>& x = s.Feature(spec.features[f]);
    std::vector<double>& out = z.emplace_back(x.size());
    for (size_t i = 0; i < x.size(); ++i) out[i] = (x[i] - spec.mean[f]) / spec.std[f];
  }
  return z;
}

// The input of the window that ends with sample end - 1: `window` time steps, each the
// features in the spec's order.
void AppendWindow(std::vector<float>& x, const std::vector<std::vector<double>>& z, size_t end,
                  int64_t window) {
  for (auto k = static_cast<size_t>(window); k > 0; --k) {
    for (const auto& feature : z) x.push_back(static_cast<float>(feature[end - k]));
  }
}

using PredictFn = std::function<std::vector<float>(const std::vector<float>&, int64_t)>;

// A trained predictor (the network or its boosted trees) as a forecaster of one target at one
// of its horizons: Start predicts every window of the series in batches (each from samples up
// to its end only), Predict hands out the one for the last sample observed.
class LearnedForecaster : public models::Forecaster {
 public:
  LearnedForecaster(std::string name, const Spec& spec, PredictFn predict, size_t target,
                    size_t horizon, std::vector<double> calibration)
      : name_(std::move(name)),
        spec_(spec),
        predict_(std::move(predict)),
        target_(target),
        horizon_(horizon),
        calibration_(std::move(calibration)) {}
  const std::string& name() const override { return name_; }
  int warmup() const override { return static_cast<int>(spec_.window); }
  void Start(const models::Series& s) override {
    const std::vector<std::vector<double>> z = Standardise(spec_, s);
    const size_t n = s.mbps.size(), tf = spec_.FeatureIndex(spec_.targets[target_]);
    const auto window = static_cast<size_t>(spec_.window);
    const auto column = horizon_ * spec_.targets.size() + target_;
    const auto outputs = static_cast<size_t>(spec_.Outputs());
    predicted_.assign(n, NAN);
    std::vector<float> x;
    for (size_t first = window; first <= n; first += 512) {
      const size_t last = std::min(n, first + 511);
      x.clear();
      for (size_t end = first; end <= last; ++end) AppendWindow(x, z, end, spec_.window);
      const std::vector<float> y = predict_(x, static_cast<int64_t>(last - first + 1));
      for (size_t end = first; end <= last; ++end) {
        double v = y[(end - first) * outputs + column];
        if (spec_.change) v += z[tf][end - 1];
        predicted_[end - 1] = v * spec_.std[tf] + spec_.mean[tf];
      }
    }
  }
  void Observe(size_t t) override { t_ = t; }
  double Predict(int) const override { return predicted_[t_]; }
  double Calibrate(double raw) const override { return models::Calibrated(calibration_, raw); }

 private:
  std::string name_;
  const Spec& spec_;
  PredictFn predict_;
  size_t target_, horizon_;
  std::vector<double> calibration_;
  std::vector<double> predicted_;
  size_t t_ = 0;
};

// A trained predictor run folder: its spec, network (best epoch) and boosted trees.
struct TrainedRun {
  std::string dir;
  Spec spec;
  std::unique_ptr<models::Model> model;
  models::BoostedTrees trees;

  explicit TrainedRun(const std::string& run) : dir(run) {
    const std::string what = "--model " + dir;
    if (!IsPredictorRun(dir)) {
      throw std::invalid_argument(what +
                                  ": not a predictor run folder (no scaler.json and "
                                  "config.ini; `linklab predictor train` writes them)");
    }
    if (!fs::exists(dir + "/scaler.json")) {
      throw std::invalid_argument(what +
                                  ": its training has not finished (no scaler.json; "
                                  "`linklab predictor train --resume " +
                                  dir + "` continues it)");
    }
    spec = Spec::FromJson(core::ReadJsonFile(dir + "/scaler.json"), dir + "/scaler.json");
    RawSections raw = ReadSections(dir + "/config.ini", kTrainSections, "predictor config");
    const ModelChoice choice = ResolveModel(raw["model"]);
    if (choice.entry->name != spec.model) {
      throw std::invalid_argument(what + ": config.ini names model " + choice.entry->name +
                                  ", scaler.json " + spec.model);
    }
    models::ModelContext c;
    c.input_size = static_cast<int64_t>(spec.features.size());
    c.window = spec.window;
    c.output_size = spec.Outputs();
    c.horizons = static_cast<int64_t>(spec.horizons.size());
    model = choice.entry->make(choice.params, c);
    try {
      model->Load(dir + "/model");
      if (spec.trees) {
        trees =
            models::BoostedTrees::Load(dir + "/trees", c.input_size * spec.window, spec.Outputs());
      }
    } catch (const std::runtime_error& e) {
      throw std::invalid_argument(what + ": " + e.what());
    }
  }

  // Forecasters of target k at horizon index h: the network, then (`with_trees`) the trees
  // under `trees_name`.
  std::vector<std::unique_ptr<models::Forecaster>> Forecasters(size_t k, size_t h, bool with_trees,
                                                               const std::string& trees_name) {
    std::vector<std::unique_ptr<models::Forecaster>> out;
    auto table = [&](const std::string& kind) {
      const std::string key = Spec::CalibrationKey(kind, spec.targets[k], spec.horizons_s[h]);
      return spec.calibration.contains(key) ? spec.calibration[key].get<std::vector<double>>()
                                            : std::vector<double>{};
    };
    models::Model* m = model.get();
    out.push_back(std::make_unique<LearnedForecaster>(
        dir, spec, [m](const std::vector<float>& x, int64_t rows) { return m->Predict(x, rows); },
        k, h, table("model")));
    if (spec.trees && with_trees) {
      const models::BoostedTrees* t = &trees;
      out.push_back(std::make_unique<LearnedForecaster>(
          trees_name, spec,
          [t](const std::vector<float>& x, int64_t rows) { return t->Predict(x, rows); }, k, h,
          table("trees")));
    }
    return out;
  }
};

core::Json FiguresJson(const models::ForecastFigures& f) {
  core::Json j = core::Json::object();
  j["mae"] = f.mae;
  j["rmse"] = f.rmse;
  j["mape_pct"] = f.mape_pct;
  j["accuracy_20pct"] = f.accuracy;
  j["samples"] = f.samples;
  j["below_floor"] = f.below_floor;
  return j;
}

// The largest gap (percentage points) between a bin's mean confidence and its observed share,
// over the bins with at least `min_predictions`.
constexpr int64_t kCalibrationMinPredictions = 30;
double CalibrationGap(const std::vector<models::CalibrationBin>& bins) {
  double gap = NAN;
  for (const auto& b : bins) {
    if (b.predictions < kCalibrationMinPredictions) continue;
    const double g = 100.0 * std::fabs(b.observed - b.mean_confidence);
    gap = std::isfinite(gap) ? std::max(gap, g) : g;
  }
  return gap;
}

core::Json ResultJson(const models::ForecastResult& r, const std::vector<models::Series>& series,
                      const std::string& target) {
  core::Json p = FiguresJson(r.overall);
  if (target == "bandwidth") {  // Mbit/s, under the names the reference figures use
    p["mae_mbps"] = p["mae"];
    p["rmse_mbps"] = p["rmse"];
  }
  core::Json per = core::Json::object();
  for (size_t i = 0; i < series.size(); ++i) per[series[i].name] = FiguresJson(r.per_series[i]);
  p["per_trace"] = per;
  core::Json bins = core::Json::array();
  for (const auto& b : r.calibration) {
    core::Json j = core::Json::object();
    j["lo"] = b.lo;
    j["hi"] = b.hi;
    j["predictions"] = b.predictions;
    j["mean_confidence"] = b.mean_confidence;
    j["observed_within_20pct"] = b.observed;
    bins.push_back(j);
  }
  core::Json cal = core::Json::object();
  cal["bins"] = bins;
  cal["max_gap_points"] = CalibrationGap(r.calibration);
  cal["gap_over_bins_with_at_least"] = kCalibrationMinPredictions;
  p["calibration"] = cal;
  return p;
}

int64_t HorizonSteps(double horizon_s, double interval_s, const std::string& what) {
  if (!(horizon_s > 0) || !std::isfinite(horizon_s)) {
    throw std::invalid_argument(what + " " + core::FormatDouble(horizon_s) + ": must be > 0");
  }
  const double steps = horizon_s / interval_s;
  const auto h = static_cast<int64_t>(std::llround(steps));
  if (h < 1 || std::fabs(steps - static_cast<double>(h)) > 1e-6) {
    throw std::invalid_argument(what + " " + core::FormatDouble(horizon_s) +
                                ": must be a whole number of intervals of " +
                                core::FormatDouble(interval_s) + " s");
  }
  return h;
}

}  // namespace

bool IsPredictorRun(const std::string& dir) {
  return fs::exists(dir + "/config.ini") &&
         (fs::exists(dir + "/scaler.json") || fs::exists(dir + "/checkpoint") ||
          fs::exists(dir + "/checkpoint.new"));
}

bool IsPredictorConfig(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (core::Trim(line) == "[model]") return true;
  }
  return false;
}

core::Json RunPredictorEval(const PredictorEvalOptions& o) {
  std::vector<std::unique_ptr<TrainedRun>> runs;
  for (const std::string& m : o.models) runs.push_back(std::make_unique<TrainedRun>(m));
  const int64_t horizon = HorizonSteps(o.horizon_s, o.interval_s, "--horizon-s");
  std::vector<size_t> h_index;  // per run: the index of the horizon among its horizons
  for (const auto& run : runs) {
    const Spec& spec = run->spec;
    const auto it = std::find_if(spec.horizons_s.begin(), spec.horizons_s.end(),
                                 [&](double h) { return std::fabs(h - o.horizon_s) < 1e-9; });
    if (it == spec.horizons_s.end() || std::fabs(spec.interval_s - o.interval_s) > 1e-9) {
      throw std::invalid_argument(
          "--model " + run->dir + ": trained for a horizon of " + Seconds(spec.horizons_s) +
          " s at " + core::FormatDouble(spec.interval_s) + " s intervals, not " +
          core::FormatDouble(o.horizon_s) + " s at " + core::FormatDouble(o.interval_s) + " s");
    }
    h_index.push_back(static_cast<size_t>(it - spec.horizons_s.begin()));
    if (spec.targets != runs[0]->spec.targets) {
      throw std::invalid_argument("--model " + run->dir + " predicts " +
                                  core::Join(spec.targets, ", ") + ", --model " + runs[0]->dir +
                                  " " + core::Join(runs[0]->spec.targets, ", ") +
                                  ": models evaluated together predict the same targets");
    }
  }
  std::vector<std::string> ensembles;
  if (o.ensemble == "both") {
    ensembles = {"mode", "hybrid"};
  } else if (o.ensemble == "mode" || o.ensemble == "hybrid") {
    ensembles = {o.ensemble};
  } else if (!o.ensemble.empty()) {
    throw std::invalid_argument("--ensemble '" + core::Printable(o.ensemble) +
                                "': must be mode, hybrid or both");
  }
  if (!ensembles.empty() && runs.size() < 2) {
    throw std::invalid_argument("--ensemble " + o.ensemble + ": needs two or more --model");
  }
  const std::vector<models::Series> series = models::LoadSeries(o.traces, o.format, o.interval_s);
  const std::vector<std::string> targets =
      runs.empty() ? std::vector<std::string>{"bandwidth"} : runs[0]->spec.targets;
  const bool keep = !o.predictions_path.empty();
  auto is_model = [&](const std::string& name) {
    return std::find(o.models.begin(), o.models.end(), name) != o.models.end();
  };

  // Per target: the trained predictors' forecasters, the ensembles, then the baselines.
  std::vector<std::vector<models::ForecastResult>> results;
  for (size_t k = 0; k < targets.size(); ++k) {
    std::vector<std::unique_ptr<models::Forecaster>> forecasters;
    for (size_t r = 0; r < runs.size(); ++r) {
      const std::string trees =
          runs.size() == 1 ? "boosted_trees" : "boosted_trees:" + runs[r]->dir;
      for (auto& f : runs[r]->Forecasters(k, h_index[r], true, trees)) {
        forecasters.push_back(std::move(f));
      }
    }
    for (const std::string& how : ensembles) {
      std::vector<std::unique_ptr<models::Forecaster>> parts;
      for (size_t r = 0; r < runs.size(); ++r) {
        parts.push_back(std::move(runs[r]->Forecasters(k, h_index[r], false, "").front()));
      }
      forecasters.push_back(models::MakeEnsemble(how, targets[k], std::move(parts)));
    }
    for (auto& f : models::ClassicalForecasters(targets[k])) forecasters.push_back(std::move(f));
    results.push_back(models::EvaluateForecasters(series, static_cast<int>(horizon), forecasters,
                                                  targets[k], keep));
  }

  // A top-level object per predictor (the first target's figures overall, per trace, the
  // calibration; the other targets' under "targets"), and one "evaluation" object.
  core::Json out = core::Json::object();
  core::Json& meta = out["evaluation"];
  meta["horizon_s"] = o.horizon_s;
  meta["interval_s"] = o.interval_s;
  meta["format"] = o.format;
  meta["targets"] = targets;
  meta["resampling"] =
      "traces: the bytes the trace could deliver in each interval of one period (a pensieve "
      "log's rate holds until its next sample); data sets: each link's 'all' samples averaged "
      "over whole groups of samples (hour and day: the group's last)";
  meta["floor_mbps"] = models::kMapeFloorMbps;
  meta["figures"] =
      "bandwidth: over the samples whose actual bandwidth is at least floor_mbps; other "
      "targets: over all; MAPE and accuracy (within +-20 %) over those whose actual is above 0";
  meta["confidence"] = "the smoothed share within +-20 % of the forecaster's last " +
                       std::to_string(models::kConfidenceWindow) +
                       " checked predictions, through the trained predictor's calibration";
  core::Json names = core::Json::array();
  for (const auto& s : series) names.push_back(s.name);
  meta["traces"] = names;
  meta["git_commit"] = core::GitCommit();
  meta["created"] = core::UtcTimestamp();
  meta["machine"] = core::MachineInfo();
  meta["models"] = o.models;
  for (size_t k = 0; k < targets.size(); ++k) {
    for (const auto& r : results[k]) {
      core::Json p = ResultJson(r, series, targets[k]);
      if (k == 0) {
        p["kind"] = is_model(r.forecaster)                               ? "model"
                    : r.forecaster == "mode" || r.forecaster == "hybrid" ? "ensemble"
                                                                         : "baseline";
        p["target"] = targets[0];
        out[r.forecaster] = p;
      } else {
        out[r.forecaster]["targets"][targets[k]] = p;
      }
    }
  }

  std::cout << "Horizon " << core::FormatDouble(o.horizon_s) << " s, "
            << core::FormatDouble(o.interval_s) << " s intervals, " << series.size()
            << " series; bandwidth figures over the samples whose actual bandwidth is >= "
            << core::FormatDouble(models::kMapeFloorMbps)
            << " Mbit/s; accuracy: within +-20 %; calibration: the largest gap between a "
               "confidence bin and its observed accuracy.\n";
  for (size_t k = 0; k < targets.size(); ++k) {
    const std::string unit = targets[k] == "bandwidth" ? " Mbit/s" : "";
    std::cout << "\n"
              << targets[k] << "\n\n| predictor | MAE" << unit << " | RMSE" << unit
              << " | MAPE % | accuracy | calibration gap (points) | samples |\n"
              << "|---|---|---|---|---|---|---|\n";
    for (const auto& r : results[k]) {
      const models::ForecastFigures& f = r.overall;
      std::cout << "| " << r.forecaster << " | " << Fixed(f.mae, 3) << " | " << Fixed(f.rmse, 3)
                << " | " << Fixed(f.mape_pct, 1) << " | " << Fixed(f.accuracy, 3) << " | "
                << Fixed(CalibrationGap(r.calibration), 1) << " | " << f.samples << " |\n";
    }
  }
  if (keep) {
    std::ostringstream csv;
    csv << "series,time_s,target,actual";
    for (const auto& r : results[0]) {
      csv << "," << (runs.size() == 1 && is_model(r.forecaster) ? "model" : r.forecaster);
    }
    if (!runs.empty()) csv << ",model_confidence";
    csv << "\n";
    for (size_t k = 0; k < targets.size(); ++k) {
      for (size_t i = 0; i < series.size(); ++i) {
        const std::vector<double>& actual = series[i].Feature(targets[k]);
        for (size_t t = 0; t < actual.size(); ++t) {
          if (!std::isfinite(results[k][0].predicted[i][t])) continue;
          csv << series[i].name << "," << core::FormatDouble(series[i].interval_s * (t + 1)) << ","
              << targets[k] << "," << actual[t];
          for (const auto& r : results[k]) csv << "," << r.predicted[i][t];
          if (!runs.empty()) csv << "," << results[k][0].confidence[i][t];
          csv << "\n";
        }
      }
    }
    core::WriteFileAtomic(o.predictions_path, csv.str());
  }
  if (!o.json_path.empty()) core::WriteFileAtomic(o.json_path, out.dump(2) + "\n");
  return out;
}

namespace {

std::vector<core::ParamSpec> TrainExperimentSpecs() {
  return {core::StringParam("name", "predictor", "the run's name (its results folder)"),
          core::IntParam("seed", 1, "seed of the network's initialisation and the shuffles", 0),
          core::StringParam("output", "results", "folder the runs go under"),
          core::StringParam("description", "", "free text")};
}

std::vector<core::ParamSpec> DataSpecs() {
  return {
      core::StringParam("traces", "", "training traces: files or folders, e.g. [a.down,b.down]"),
      core::StringParam("format", "mahimahi", "the traces' format", {"mahimahi", "pensieve", "h5"}),
      core::DoubleParam("interval_s", 1.0, "resampling interval (s)", 1e-3, 86400.0),
      core::StringParam("horizon_s", "1",
                        "how far ahead the model predicts (s): one value or a list, e.g. "
                        "[60,900,3600]"),
      core::StringParam("features", "[bandwidth]",
                        "the model's inputs per step: bandwidth, latency, loss, jitter, hour, day, "
                        "traffic, throughput, packets, rtt, delay_p95, backlog (traces carry the "
                        "bandwidth only)"),
      core::StringParam("targets", "[bandwidth]", "what it predicts, among the features"),
      core::DoubleParam("val_fraction", 0.2, "the last part of every series kept for validation",
                        0.01, 0.9),
      core::StringParam("target", "level",
                        "what the model predicts: level (the value ahead) or change (its "
                        "difference from the last value, added back when predicting)",
                        {"level", "change"}),
  };
}

std::vector<core::ParamSpec> TrainLoopSpecs() {
  return {core::IntParam("epochs", 30, "passes over the training windows", 1, 100000),
          core::IntParam("batch_size", 128, "windows per Adam step", 2, 1 << 20),
          core::IntParam("patience", 5, "epochs without a better validation loss before stopping",
                         1, 100000),
          core::StringParam("loss", "mse",
                            "what training minimises (the network, the trees, early stopping): "
                            "mse (squared error) or mae (absolute error, the MAE the evaluation "
                            "reports)",
                            {"mse", "mae"}),
          core::BoolParam("progress", true, "a line per epoch: losses, rate, ETA")};
}

std::vector<core::ParamSpec> TreesSpecs() {
  return {core::IntParam("rounds", 300, "boosting rounds at most (0: no boosted trees)", 0, 100000),
          core::IntParam("max_depth", 6, "depth of each tree", 1, 32),
          core::DoubleParam("learning_rate", 0.1, "shrinkage per round", 1e-4, 1.0),
          core::DoubleParam("subsample", 0.8, "share of the rows each tree sees", 0.05, 1.0),
          core::IntParam("patience", 20, "rounds without a better validation loss before stopping",
                         1, 100000)};
}

// A list value of names, each one of `allowed`.
std::vector<std::string> NameList(const core::Params& p, const std::string& key,
                                  const std::vector<std::string>& allowed) {
  std::vector<std::string> out;
  for (const std::string& item : core::ParseListValue(p.String(key))) {
    const std::string name = core::Trim(item);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      throw std::invalid_argument("[data] " + key + " = '" + core::Printable(p.String(key)) +
                                  "': '" + core::Printable(name) + "' is not one of " +
                                  core::Join(allowed, ", "));
    }
    if (std::find(out.begin(), out.end(), name) != out.end()) {
      throw std::invalid_argument("[data] " + key + ": '" + name + "' twice");
    }
    out.push_back(name);
  }
  if (out.empty()) throw std::invalid_argument("[data] " + key + ": none given");
  return out;
}

// Windows of one split: inputs [rows, window x features] and targets [rows, outputs].
// The mean loss ("mse" or "mae") of `m` over the windows `w`.
double MeanLoss(models::Model& m, const models::Table& w, int64_t per_row, int64_t outputs,
                const std::string& loss) {
  const int64_t chunk = 1024;
  double sum = 0.0;
  for (int64_t r = 0; r < w.rows; r += chunk) {
    const int64_t n = std::min(chunk, w.rows - r);
    const std::vector<float> x(w.x.begin() + r * per_row, w.x.begin() + (r + n) * per_row);
    const std::vector<float> p = m.Predict(x, n);
    for (int64_t i = 0; i < n * outputs; ++i) {
      const double e = p[static_cast<size_t>(i)] - w.y[static_cast<size_t>(r * outputs + i)];
      sum += loss == "mae" ? std::fabs(e) : e * e;
    }
  }
  return w.rows > 0 ? sum / static_cast<double>(w.rows * outputs) : NAN;
}

// Everything a training run needs, resolved from its config.
struct TrainSetup {
  std::string config_text;  // the effective config
  core::Params experiment, data, train, trees;
  ModelChoice choice;
  Spec spec;
  std::vector<models::Series> series;
  std::vector<size_t> split;  // per series: the first validation sample
  models::Table tr, va;
};

TrainSetup Setup(RawSections raw, const std::string& source) {
  TrainSetup s;
  s.experiment = core::Params::Resolve(TrainExperimentSpecs(), raw["experiment"], "[experiment]");
  s.data = core::Params::Resolve(DataSpecs(), raw["data"], "[data]");
  s.train = core::Params::Resolve(TrainLoopSpecs(), raw["train"], "[train]");
  s.trees = core::Params::Resolve(TreesSpecs(), raw["trees"], "[trees]");
  s.choice = ResolveModel(raw["model"]);
  const core::Params& data = s.data;
  Spec& spec = s.spec;
  spec.model = s.choice.entry->name;
  spec.interval_s = data.Double("interval_s");
  spec.window = s.choice.params.Int("window");
  spec.change = data.String("target") == "change";
  spec.features = NameList(data, "features", models::SeriesFeatures());
  spec.targets = NameList(data, "targets", spec.features);
  for (const std::string& h : core::ParseListValue(data.String("horizon_s"))) {
    const double v = core::ParseDouble(core::Trim(h), "[data] horizon_s item");
    spec.horizons_s.push_back(v);
    spec.horizons.push_back(HorizonSteps(v, spec.interval_s, "[data] horizon_s ="));
  }
  if (spec.horizons.empty()) throw std::invalid_argument("[data] horizon_s: none given");
  spec.trees = s.trees.Int("rounds") > 0;

  const std::vector<std::string> traces = core::ParseListValue(data.String("traces"));
  if (traces.empty()) throw std::invalid_argument("[data] traces: none given");
  for (const std::string& t : traces) {
    if (t.empty()) {
      throw std::invalid_argument("[data] traces = '" + data.String("traces") +
                                  "': an empty item (two commas?)");
    }
  }
  s.series = models::LoadSeries(traces, data.String("format"), spec.interval_s);
  const int64_t max_h = *std::max_element(spec.horizons.begin(), spec.horizons.end());

  // The split of every series, and the scaler of the training parts.
  const size_t nf = spec.features.size();
  std::vector<double> sum(nf, 0.0), sq(nf, 0.0);
  int64_t count = 0;
  for (const models::Series& x : s.series) {
    const size_t n = x.mbps.size();
    const auto cut = static_cast<size_t>(std::floor(n * (1.0 - data.Double("val_fraction"))));
    const auto need = static_cast<size_t>(spec.window + max_h);
    if (cut < need || n - cut < static_cast<size_t>(max_h) + 1) {
      throw std::invalid_argument(x.name + ": " + std::to_string(n) + " samples: too short for " +
                                  spec.model + "'s window of " + std::to_string(spec.window) +
                                  " and the horizon of " + std::to_string(max_h) +
                                  " in both the training and the validation part");
    }
    s.split.push_back(cut);
    for (size_t f = 0; f < nf; ++f) {
      const std::vector<double>& v = x.Feature(spec.features[f]);  // names a missing feature
      for (size_t i = 0; i < cut; ++i) {
        sum[f] += v[i];
        sq[f] += v[i] * v[i];
      }
    }
    count += static_cast<int64_t>(cut);
  }
  for (size_t f = 0; f < nf; ++f) {
    const double m = sum[f] / static_cast<double>(count);
    spec.mean.push_back(m);
    // A feature constant over the training parts (no loss, say) is only centred: a later
    // change must not become a huge standardised value.
    const double dev = std::sqrt(std::max(0.0, sq[f] / static_cast<double>(count) - m * m));
    spec.std.push_back(dev > 1e-9 * std::max(1.0, std::fabs(m)) ? dev : 1.0);
  }
  for (size_t k = 0; k < s.series.size(); ++k) {
    const std::vector<std::vector<double>> z = Standardise(spec, s.series[k]);
    const size_t n = s.series[k].mbps.size();
    for (auto end = static_cast<size_t>(spec.window); end - 1 + max_h < n; ++end) {
      // A window's farthest target decides its split: training targets lie before the cut.
      models::Table& w = end - 1 + max_h < s.split[k] ? s.tr : s.va;
      AppendWindow(w.x, z, end, spec.window);
      for (int64_t h : spec.horizons) {
        for (const std::string& t : spec.targets) {
          const std::vector<double>& zt = z[spec.FeatureIndex(t)];
          const double ahead = zt[end - 1 + static_cast<size_t>(h)];
          w.y.push_back(static_cast<float>(spec.change ? ahead - zt[end - 1] : ahead));
        }
      }
      ++w.rows;
    }
  }

  if (s.tr.rows < 2 || s.va.rows < 1) {
    throw std::invalid_argument("[data] traces: " + std::to_string(s.tr.rows) + " training and " +
                                std::to_string(s.va.rows) + " validation windows of " +
                                std::to_string(spec.window) + " steps: too few to train on");
  }
  std::ostringstream ini;
  ini << "# Effective linklab predictor config (from " << source << ")\n\n";
  WriteIniSection(ini, "experiment", {&s.experiment});
  WriteIniSection(ini, "data", {&s.data});
  std::ostringstream model_section;
  WriteIniSection(model_section, "model", {&s.choice.params});
  const std::string model_keys = model_section.str();  // after its "[model]" line
  ini << "[model]\n# the registered model\nname = " << spec.model << "\n"
      << model_keys.substr(model_keys.find('\n') + 1);
  WriteIniSection(ini, "train", {&s.train});
  WriteIniSection(ini, "trees", {&s.trees});
  s.config_text = ini.str();
  return s;
}

// Training state after an epoch (checkpoint/state.json): the epochs' rows, the best so far.
struct TrainState {
  int64_t epoch = 0, best_epoch = 0;
  double best = INFINITY;
  std::vector<std::vector<double>> rows;  // epoch, train_loss, val_loss, seconds
};

// Written as checkpoint.new (state.json last), then swapped in for checkpoint by renames: a
// stop at any point leaves one complete checkpoint.
void SaveCheckpoint(const std::string& dir, models::Model& model, const TrainState& st) {
  const std::string fresh = dir + "/checkpoint.new", kept = dir + "/checkpoint",
                    old = dir + "/checkpoint.old";
  fs::remove_all(fresh);
  model.Save(fresh);
  core::Json j = core::Json::object();
  j["epoch"] = st.epoch;
  j["best_epoch"] = st.best_epoch;
  j["best_val_loss_scaled"] = st.best;
  j["rows"] = st.rows;
  core::WriteFileAtomic(fresh + "/state.json", j.dump() + "\n");
  fs::remove_all(old);
  if (fs::exists(kept)) fs::rename(kept, old);
  fs::rename(fresh, kept);
  fs::remove_all(old);
}

// The run folder's last complete checkpoint, moved to checkpoint/ when a stop came between
// SaveCheckpoint's renames; std::invalid_argument when it has none.
std::string CheckpointDir(const std::string& dir) {
  const std::string kept = dir + "/checkpoint";
  if (fs::exists(kept + "/state.json")) return kept;
  for (const std::string& c : {dir + "/checkpoint.new", dir + "/checkpoint.old"}) {
    if (fs::exists(c + "/state.json")) {
      fs::remove_all(kept);
      fs::rename(c, kept);
      return kept;
    }
  }
  throw std::invalid_argument(dir + ": no checkpoint/state.json to resume from");
}

// Fits the confidence calibration of each forecaster on the validation parts: raw recent
// accuracy against the observed share within +-20 %, per bin.
void FitCalibrations(TrainSetup& s, models::Model& model, const models::BoostedTrees* trees) {
  Spec& spec = s.spec;
  std::vector<models::Series> tails;
  for (size_t k = 0; k < s.series.size(); ++k) {
    const models::Series& x = s.series[k];
    const size_t from = s.split[k] > static_cast<size_t>(spec.window)
                            ? s.split[k] - static_cast<size_t>(spec.window)
                            : 0;
    models::Series t;
    t.name = x.name;
    t.interval_s = x.interval_s;
    t.mbps.assign(x.mbps.begin() + static_cast<std::ptrdiff_t>(from), x.mbps.end());
    for (const auto& [f, v] : x.more) {
      t.more[f].assign(v.begin() + static_cast<std::ptrdiff_t>(from), v.end());
    }
    tails.push_back(std::move(t));
  }
  spec.calibration = core::Json::object();
  for (size_t k = 0; k < spec.targets.size(); ++k) {
    for (size_t h = 0; h < spec.horizons.size(); ++h) {
      std::vector<std::unique_ptr<models::Forecaster>> f;
      f.push_back(std::make_unique<LearnedForecaster>(
          "model", spec,
          [&model](const std::vector<float>& x, int64_t rows) { return model.Predict(x, rows); }, k,
          h, std::vector<double>{}));
      if (trees) {
        f.push_back(std::make_unique<LearnedForecaster>(
            "trees", spec,
            [trees](const std::vector<float>& x, int64_t rows) { return trees->Predict(x, rows); },
            k, h, std::vector<double>{}));
      }
      const auto results = models::EvaluateForecasters(tails, static_cast<int>(spec.horizons[h]), f,
                                                       spec.targets[k]);
      for (const auto& r : results) {
        std::vector<int64_t> n;
        std::vector<double> observed;
        for (const auto& b : r.calibration) {
          n.push_back(b.raw_predictions);
          observed.push_back(b.raw_observed);
        }
        spec.calibration[Spec::CalibrationKey(r.forecaster, spec.targets[k], spec.horizons_s[h])] =
            models::FitCalibration(n, observed);
      }
    }
  }
}

// Trains (from `state` on, an empty one for a fresh run) and writes the run folder's results.
std::string Train(TrainSetup& s, const std::string& dir, TrainState state) {
  Spec& spec = s.spec;
  const auto seed = static_cast<uint64_t>(s.experiment.Int("seed"));
  models::ModelContext context;
  context.input_size = static_cast<int64_t>(spec.features.size());
  context.window = spec.window;
  context.output_size = spec.Outputs();
  context.horizons = static_cast<int64_t>(spec.horizons.size());
  context.seed = seed;
  context.loss = s.train.String("loss");
  std::unique_ptr<models::Model> model = s.choice.entry->make(s.choice.params, context);
  if (state.epoch > 0) model->Load(CheckpointDir(dir));
  std::cerr << "linklab: predictor " << spec.model << " on " << s.series.size() << " series ("
            << s.tr.rows << " training and " << s.va.rows << " validation windows; "
            << core::Join(spec.features, ", ") << " -> " << core::Join(spec.targets, ", ") << " at "
            << Seconds(spec.horizons_s) << " s) -> " << dir
            << (state.epoch > 0 ? " (resumed after epoch " + std::to_string(state.epoch) + ")"
                                : std::string())
            << "\n";

  const int64_t per_row = context.window * context.input_size, outputs = context.output_size;
  const int64_t batch = s.train.Int("batch_size"), epochs = s.train.Int("epochs");
  const bool progress = s.train.Bool("progress");
  const double seconds_before = state.rows.empty() ? 0.0 : state.rows.back()[3];
  const auto start = std::chrono::steady_clock::now();
  std::vector<int64_t> order(static_cast<size_t>(s.tr.rows));
  std::vector<float> bx, by;
  while (state.epoch < epochs && state.epoch - state.best_epoch < s.train.Int("patience")) {
    const int64_t epoch = ++state.epoch;
    // Each epoch's shuffle and dropout from the seed and the epoch: a resumed run repeats.
    const uint64_t epoch_seed = seed * 1000003ULL + static_cast<uint64_t>(epoch);
    core::Rng rng(epoch_seed);
    model->Reseed(epoch_seed);
    for (int64_t i = 0; i < s.tr.rows; ++i) order[static_cast<size_t>(i)] = i;
    for (size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[static_cast<size_t>(rng.UniformInt(i))]);
    }
    double loss_sum = 0.0;
    int64_t batches = 0;
    for (int64_t b = 0; b + 2 <= s.tr.rows; b += batch) {
      const int64_t n = std::min(batch, s.tr.rows - b);
      if (n < 2) break;
      bx.clear();
      by.clear();
      for (int64_t i = 0; i < n; ++i) {
        const int64_t r = order[static_cast<size_t>(b + i)];
        bx.insert(bx.end(), s.tr.x.begin() + r * per_row, s.tr.x.begin() + (r + 1) * per_row);
        by.insert(by.end(), s.tr.y.begin() + r * outputs, s.tr.y.begin() + (r + 1) * outputs);
      }
      loss_sum += model->Fit(bx, by, n).at(0).second;
      ++batches;
    }
    const double val = MeanLoss(*model, s.va, per_row, outputs, context.loss);
    const double seconds =
        seconds_before +
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double train_loss = loss_sum / static_cast<double>(std::max<int64_t>(batches, 1));
    state.rows.push_back({static_cast<double>(epoch), train_loss, val, seconds});
    if (val < state.best) {
      state.best = val;
      state.best_epoch = epoch;
      model->Save(dir + "/model");
    }
    SaveCheckpoint(dir, *model, state);
    if (progress) {
      const double per_epoch = seconds / static_cast<double>(epoch);
      auto r4 = [](double x) { return core::FormatDouble(std::round(x * 1e4) / 1e4); };
      std::cerr << "[train] epoch " << epoch << "/" << epochs << " | train loss " << r4(train_loss)
                << " | val loss " << r4(val) << " | best " << r4(state.best) << " (epoch "
                << state.best_epoch << ") | " << core::FormatDouble(std::round(per_epoch * 10) / 10)
                << " s/epoch | ETA at most "
                << core::FormatDouble(std::round(per_epoch * static_cast<double>(epochs - epoch)))
                << " s\n";
    }
  }
  if (state.best_epoch == 0) {
    throw std::runtime_error(dir +
                             ": no epoch had a finite validation loss (the training "
                             "diverged: try a lower [model] learning_rate)");
  }
  model->Load(dir + "/model");  // the best epoch's weights

  models::BoostedTrees trees;
  if (spec.trees) {
    models::TreesOptions t;
    t.rounds = static_cast<int>(s.trees.Int("rounds"));
    t.max_depth = static_cast<int>(s.trees.Int("max_depth"));
    t.learning_rate = s.trees.Double("learning_rate");
    t.subsample = s.trees.Double("subsample");
    t.patience = static_cast<int>(s.trees.Int("patience"));
    t.seed = seed;
    t.loss = context.loss;
    trees = models::BoostedTrees::Fit(
        s.tr, s.va, per_row, outputs, t, [&](int64_t k, int round, double mse) {
          if (progress) {
            std::cerr << "[trees] output " << k + 1 << "/" << outputs << " | round " << round
                      << " | val loss " << core::FormatDouble(std::round(mse * 1e4) / 1e4) << "\n";
          }
        });
    fs::remove_all(dir + "/trees");
    trees.Save(dir + "/trees");
  }
  FitCalibrations(s, *model, spec.trees ? &trees : nullptr);
  core::WriteFileAtomic(dir + "/scaler.json", spec.ToJson().dump(2) + "\n");

  core::MetricsLog log;
  for (const auto& r : state.rows) {
    log.Add("train/epochs",
            {{"epoch", r[0]}, {"train_loss", r[1]}, {"val_loss", r[2]}, {"seconds", r[3]}});
  }
  datasets::Attributes attrs;
  attrs.text = {
      {"config", s.config_text}, {"git_commit", core::GitCommit()}, {"model", spec.model}};
  attrs.ints = {{"seed", s.experiment.Int("seed")}};
  datasets::WriteMetrics(dir + "/metrics.h5", log, attrs);
  const double seconds = state.rows.empty() ? 0.0 : state.rows.back()[3];
  core::Json summary = core::Json::object();
  summary["name"] = s.experiment.String("name");
  summary["model"] = spec.model;
  summary["seed"] = s.experiment.Int("seed");
  summary["git_commit"] = core::GitCommit();
  summary["created"] = core::UtcTimestamp();
  summary["config"] = dir + "/config.ini";
  core::Json names = core::Json::array();
  for (const auto& x : s.series) names.push_back(x.name);
  summary["traces"] = names;
  summary["features"] = spec.features;
  summary["targets"] = spec.targets;
  summary["horizons_s"] = spec.horizons_s;
  summary["train_windows"] = s.tr.rows;
  summary["val_windows"] = s.va.rows;
  summary["epochs_run"] = state.epoch;
  summary["best_epoch"] = state.best_epoch;
  summary["loss"] = context.loss;
  summary["best_val_loss_scaled"] = state.best;
  summary["seconds"] = seconds;
  summary["samples_per_second"] =
      seconds > 0 ? static_cast<double>(s.tr.rows) * static_cast<double>(state.epoch) / seconds : 0;
  if (spec.trees) summary["trees_best_rounds"] = trees.best_rounds();
  summary["machine"] = core::MachineInfo();
  core::WriteFileAtomic(dir + "/summary.json", summary.dump(2) + "\n");
  std::cerr << "linklab: best epoch " << state.best_epoch << " of " << state.epoch
            << ", validation " << context.loss << " (standardised) "
            << core::FormatDouble(state.best) << "; results in " << dir << "\n";
  return dir;
}

}  // namespace

std::string RunPredictorTrain(const std::string& config_path, const std::vector<std::string>& sets,
                              const std::string& run_dir) {
  RawSections raw = ReadSections(config_path, kTrainSections, "predictor config");
  ApplySets(raw, sets, kTrainSections);
  TrainSetup s = Setup(std::move(raw), config_path);
  std::string dir = run_dir;
  if (dir.empty()) {
    dir = MakeFreshDir(s.experiment.String("output") + "/" + s.experiment.String("name"),
                       core::UtcTimestamp(true));
  } else {
    fs::create_directories(dir);
  }
  core::WriteFileAtomic(dir + "/config.ini", s.config_text);
  return Train(s, dir, TrainState{});
}

const std::vector<std::string>& PredictorSections() { return kTrainSections; }

void CheckPredictorConfig(RawSections raw) {
  core::Params::Resolve(TrainExperimentSpecs(), raw["experiment"], "[experiment]");
  core::Params::Resolve(DataSpecs(), raw["data"], "[data]");
  core::Params::Resolve(TrainLoopSpecs(), raw["train"], "[train]");
  core::Params::Resolve(TreesSpecs(), raw["trees"], "[trees]");
  ResolveModel(raw["model"]);
}

std::string ResumePredictorTrain(const std::string& run_dir, const std::vector<std::string>& sets) {
  if (!fs::exists(run_dir + "/config.ini")) {
    throw std::invalid_argument(run_dir + ": not a predictor run folder (no config.ini)");
  }
  for (const std::string& set : sets) {
    if (core::StartsWith(core::Trim(set), "train.loss")) {
      throw std::invalid_argument(
          "--set " + set + ": a resumed run keeps its loss (its best epoch was chosen by it)");
    }
  }
  const std::string checkpoint = CheckpointDir(run_dir);
  RawSections raw = ReadSections(run_dir + "/config.ini", kTrainSections, "predictor config");
  ApplySets(raw, sets, {"train"});
  TrainSetup s = Setup(std::move(raw), run_dir + "/config.ini");
  const core::Json j = core::ReadJsonFile(checkpoint + "/state.json");
  TrainState state;
  state.epoch = j.at("epoch").get<int64_t>();
  state.best_epoch = j.at("best_epoch").get<int64_t>();
  state.best = j.at("best_val_loss_scaled").is_number() ? j.at("best_val_loss_scaled").get<double>()
                                                        : INFINITY;
  state.rows = j.at("rows").get<std::vector<std::vector<double>>>();
  core::WriteFileAtomic(run_dir + "/config.ini", s.config_text);
  return Train(s, run_dir, state);
}

std::string ExportPredictorOnnx(const std::string& run_dir) {
  std::unique_ptr<TrainedRun> loaded;
  try {
    loaded = std::make_unique<TrainedRun>(run_dir);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(run_dir + ": " + e.what());
  }
  TrainedRun& run = *loaded;
  const Spec& spec = run.spec;
  std::map<std::string, std::string> meta = {
      {"linklab.features", core::Json(spec.features).dump()},
      {"linklab.targets", core::Json(spec.targets).dump()},
      {"linklab.horizons_s", core::Json(spec.horizons_s).dump()},
      {"linklab.interval_s", core::FormatDouble(spec.interval_s)},
      {"linklab.target", spec.change ? "change" : "level"},
      {"linklab.scaler", core::Json({{"mean", spec.mean}, {"std", spec.std}}).dump()},
      {"linklab.outputs",
       "output[h * targets + k]: horizon h, target k, scaled: the value is "
       "(output + the window's last scaled target when target = change) "
       "* std + mean of the target; inputs are (x - mean) / std per "
       "feature"},
      {"linklab.calibration", spec.calibration.dump()},
      {"linklab.config", core::ReadFile(run_dir + "/config.ini")},
      {"linklab.export_commit", core::GitCommit()},
  };
  if (fs::exists(run_dir + "/summary.json")) {
    const core::Json summary = core::ReadJsonFile(run_dir + "/summary.json");
    if (summary.contains("git_commit") && summary["git_commit"].is_string()) {
      meta["linklab.git_commit"] = summary["git_commit"].get<std::string>();
    }
    if (summary.contains("seed")) meta["linklab.seed"] = summary["seed"].dump();
  }
  try {
    return models::ExportSequenceOnnx(run.model->Weights(), meta);
  } catch (const std::exception& e) {
    throw std::invalid_argument(run_dir + ": " + e.what());
  }
}

}  // namespace linklab::experiments
