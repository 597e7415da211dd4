#include "experiments/predictor.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/files.h"
#include "core/machine.h"
#include "core/rng.h"
#include "core/text.h"
#include "datasets/metrics_file.h"
#include "experiments/config.h"
#include "experiments/run.h"
#include "models/forecast.h"
#include "models/model.h"

namespace linklab::experiments {

namespace {

core::Json FiguresJson(const models::ForecastFigures& f) {
  core::Json j = core::Json::object();
  j["mae_mbps"] = f.mae;
  j["rmse_mbps"] = f.rmse;
  j["mape_pct"] = f.mape_pct;
  j["accuracy_20pct"] = f.accuracy;
  j["samples"] = f.samples;
  j["below_floor"] = f.below_floor;
  return j;
}

std::string Fixed(double x, int digits) {
  if (!std::isfinite(x)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

const std::vector<std::string> kTrainSections = {"experiment", "data", "model", "train"};

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

// A trained predictor run folder as a forecaster: its model (the best epoch's weights) fed the
// standardised window of the last bandwidths, its prediction unstandardised.
class RunForecaster : public models::Forecaster {
 public:
  explicit RunForecaster(const std::string& dir) : name_(dir) {
    const std::string what = "--model " + dir;
    if (!std::filesystem::exists(dir + "/scaler.json") ||
        !std::filesystem::exists(dir + "/config.ini")) {
      throw std::invalid_argument(what +
                                  ": not a predictor run folder (no scaler.json and "
                                  "config.ini; `linklab predictor train` writes them)");
    }
    RawSections raw = ReadSections(dir + "/config.ini", kTrainSections, "predictor config");
    const ModelChoice model = ResolveModel(raw["model"]);
    const core::Params& params = model.params;
    const core::Json scaler = core::ReadJsonFile(dir + "/scaler.json");
    mean_ = scaler.at("mean").get<double>();
    std_ = scaler.at("std").get<double>();
    horizon_s_ = scaler.at("horizon_s").get<double>();
    interval_s_ = scaler.at("interval_s").get<double>();
    change_ = scaler.value("target", "level") == "change";
    window_ = params.Int("window");
    models::ModelContext c;
    c.input_size = 1;
    c.window = window_;
    c.output_size = 1;
    model_ = model.entry->make(params, c);
    model_->Load(dir + "/model");
    recent_.assign(static_cast<size_t>(window_), 0.0f);
  }
  double horizon_s() const { return horizon_s_; }
  double interval_s() const { return interval_s_; }
  const std::string& name() const override { return name_; }
  int warmup() const override { return static_cast<int>(window_); }
  void Reset() override { std::fill(recent_.begin(), recent_.end(), 0.0f); }
  void Observe(double mbps) override {
    recent_.erase(recent_.begin());
    recent_.push_back(static_cast<float>((mbps - mean_) / std_));
  }
  double Predict(int) const override {
    const double z = model_->Predict(recent_, 1)[0] + (change_ ? recent_.back() : 0.0f);
    return z * std_ + mean_;
  }

 private:
  std::string name_;
  double mean_ = 0, std_ = 1, horizon_s_ = 0, interval_s_ = 0;
  bool change_ = false;  // the model predicts the change from the last value
  int64_t window_ = 1;
  std::unique_ptr<models::Model> model_;
  std::vector<float> recent_;
};

}  // namespace

core::Json RunPredictorEval(const PredictorEvalOptions& o) {
  std::unique_ptr<RunForecaster> learned;
  if (!o.model.empty()) learned = std::make_unique<RunForecaster>(o.model);
  if (!(o.horizon_s > 0) || !std::isfinite(o.horizon_s)) {
    throw std::invalid_argument("--horizon-s " + core::FormatDouble(o.horizon_s) + ": must be > 0");
  }
  const double steps = o.horizon_s / o.interval_s;
  const auto horizon = static_cast<int>(std::llround(steps));
  if (horizon < 1 || std::fabs(steps - horizon) > 1e-6) {
    throw std::invalid_argument("--horizon-s " + core::FormatDouble(o.horizon_s) +
                                ": must be a whole number of intervals of " +
                                core::FormatDouble(o.interval_s) + " s");
  }
  if (learned && (std::fabs(learned->horizon_s() - o.horizon_s) > 1e-9 ||
                  std::fabs(learned->interval_s() - o.interval_s) > 1e-9)) {
    throw std::invalid_argument("--model " + o.model + ": trained for a horizon of " +
                                core::FormatDouble(learned->horizon_s()) + " s at " +
                                core::FormatDouble(learned->interval_s()) + " s intervals, not " +
                                core::FormatDouble(o.horizon_s) + " s at " +
                                core::FormatDouble(o.interval_s) + " s");
  }
  const std::vector<models::Series> series = models::LoadSeries(o.traces, o.format, o.interval_s);
  auto forecasters = models::ClassicalForecasters();
  if (learned) forecasters.insert(forecasters.begin(), std::move(learned));
  const std::vector<models::ForecastResult> results =
      models::EvaluateForecasters(series, horizon, forecasters);

  // A top-level object per predictor (its figures overall, then per trace), and one
  // "evaluation" object with what was evaluated and how.
  core::Json out = core::Json::object();
  core::Json& meta = out["evaluation"];
  meta["horizon_s"] = o.horizon_s;
  meta["interval_s"] = o.interval_s;
  meta["format"] = o.format;
  meta["resampling"] =
      "traces: the bytes the trace could deliver in each interval of one period (a pensieve "
      "log's rate holds until its next sample); data sets: each link's 'all' capacity_mbps "
      "averaged over whole groups of samples";
  meta["floor_mbps"] = models::kMapeFloorMbps;
  meta["figures"] = "over the samples whose actual bandwidth is at least floor_mbps";
  core::Json names = core::Json::array();
  for (const auto& s : series) names.push_back(s.name);
  meta["traces"] = names;
  meta["git_commit"] = core::GitCommit();
  meta["created"] = core::UtcTimestamp();
  meta["machine"] = core::MachineInfo();
  for (const auto& r : results) {
    core::Json p = FiguresJson(r.overall);
    p["kind"] = r.forecaster == o.model ? "model" : "baseline";
    core::Json per = core::Json::object();
    for (size_t i = 0; i < series.size(); ++i) per[series[i].name] = FiguresJson(r.per_series[i]);
    p["per_trace"] = per;
    out[r.forecaster] = p;
  }

  std::cout << "Horizon " << core::FormatDouble(o.horizon_s) << " s, "
            << core::FormatDouble(o.interval_s) << " s intervals, " << series.size()
            << " series; every figure over the samples whose actual bandwidth is >= "
            << core::FormatDouble(models::kMapeFloorMbps) << " Mbit/s; accuracy: within +-20 %.\n\n"
            << "| predictor | MAE Mbit/s | RMSE Mbit/s | MAPE % | accuracy | samples |\n"
            << "|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    const models::ForecastFigures& f = r.overall;
    std::cout << "| " << r.forecaster << " | " << Fixed(f.mae, 3) << " | " << Fixed(f.rmse, 3)
              << " | " << Fixed(f.mape_pct, 1) << " | " << Fixed(f.accuracy, 3) << " | "
              << f.samples << " |\n";
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
      core::DoubleParam("horizon_s", 1.0, "how far ahead the model predicts (s)", 1e-3, 1e7),
      core::DoubleParam("val_fraction", 0.2, "the last part of every series kept for validation",
                        0.01, 0.9),
      core::StringParam("target", "level",
                        "what the model predicts: level (the bandwidth ahead) or change (its "
                        "difference from the last value, added back when predicting)",
                        {"level", "change"}),
  };
}

std::vector<core::ParamSpec> TrainLoopSpecs() {
  return {core::IntParam("epochs", 30, "passes over the training windows", 1, 100000),
          core::IntParam("batch_size", 128, "windows per Adam step", 2, 1 << 20),
          core::IntParam("patience", 5, "epochs without a better validation loss before stopping",
                         1, 100000),
          core::BoolParam("progress", true, "a line per epoch: losses, rate, ETA")};
}

// Windows of one split: the input (window standardised bandwidths) and target of each.
struct Windows {
  std::vector<float> x, y;
  int64_t rows = 0;
};

// `change`: the target is the change from the window's last value (standardised units).
void AddWindow(Windows& w, const std::vector<double>& z, size_t end, int64_t window,
               int64_t horizon, bool change) {
  for (int64_t k = window; k > 0; --k) w.x.push_back(static_cast<float>(z[end - k]));
  const double ahead = z[end - 1 + static_cast<size_t>(horizon)];
  w.y.push_back(static_cast<float>(change ? ahead - z[end - 1] : ahead));
  ++w.rows;
}

double Mse(models::Model& m, const Windows& w, int64_t window) {
  const int64_t chunk = 1024;
  double sum = 0.0;
  for (int64_t r = 0; r < w.rows; r += chunk) {
    const int64_t n = std::min(chunk, w.rows - r);
    const std::vector<float> x(w.x.begin() + r * window, w.x.begin() + (r + n) * window);
    const std::vector<float> p = m.Predict(x, n);
    for (int64_t i = 0; i < n; ++i) {
      const double e = p[static_cast<size_t>(i)] - w.y[static_cast<size_t>(r + i)];
      sum += e * e;
    }
  }
  return w.rows > 0 ? sum / static_cast<double>(w.rows) : NAN;
}

}  // namespace

std::string RunPredictorTrain(const std::string& config_path,
                              const std::vector<std::string>& sets) {
  RawSections raw = ReadSections(config_path, kTrainSections, "predictor config");
  ApplySets(raw, sets, kTrainSections);
  const core::Params experiment =
      core::Params::Resolve(TrainExperimentSpecs(), raw["experiment"], "[experiment]");
  const core::Params data = core::Params::Resolve(DataSpecs(), raw["data"], "[data]");
  const core::Params train = core::Params::Resolve(TrainLoopSpecs(), raw["train"], "[train]");
  const ModelChoice choice = ResolveModel(raw["model"]);
  const std::string& model_name = choice.entry->name;
  const core::Params& model_params = choice.params;

  const double interval = data.Double("interval_s");
  const double steps = data.Double("horizon_s") / interval;
  const auto horizon = static_cast<int64_t>(std::llround(steps));
  if (horizon < 1 || std::fabs(steps - static_cast<double>(horizon)) > 1e-6) {
    throw std::invalid_argument("[data] horizon_s = " + data.Text("horizon_s") +
                                ": must be a whole number of intervals of " +
                                data.Text("interval_s") + " s");
  }
  const std::vector<std::string> traces = core::ParseListValue(data.String("traces"));
  if (traces.empty()) throw std::invalid_argument("[data] traces: none given");
  for (const std::string& t : traces) {
    if (t.empty()) {
      throw std::invalid_argument("[data] traces = '" + data.String("traces") +
                                  "': an empty item (two commas?)");
    }
  }
  const std::vector<models::Series> series =
      models::LoadSeries(traces, data.String("format"), interval);
  const int64_t window = model_params.Int("window");
  const bool change = data.String("target") == "change";

  // The split of every series, and the scaler of the training parts.
  std::vector<size_t> split;
  double sum = 0.0, sq = 0.0;
  int64_t count = 0;
  for (const models::Series& s : series) {
    const size_t n = s.mbps.size();
    const auto cut = static_cast<size_t>(std::floor(n * (1.0 - data.Double("val_fraction"))));
    const size_t need = static_cast<size_t>(window + horizon);
    if (cut < need || n - cut < static_cast<size_t>(horizon) + 1) {
      throw std::invalid_argument(s.name + ": " + std::to_string(n) + " samples: too short for " +
                                  model_name + "'s window of " + std::to_string(window) +
                                  " and the horizon of " + std::to_string(horizon) +
                                  " in both the training and the validation part");
    }
    split.push_back(cut);
    for (size_t i = 0; i < cut; ++i) {
      sum += s.mbps[i];
      sq += s.mbps[i] * s.mbps[i];
      ++count;
    }
  }
  const double mean = sum / static_cast<double>(count);
  const double std_dev =
      std::max(1e-6, std::sqrt(std::max(0.0, sq / static_cast<double>(count) - mean * mean)));
  Windows tr, va;
  for (size_t k = 0; k < series.size(); ++k) {
    std::vector<double> z(series[k].mbps.size());
    for (size_t i = 0; i < z.size(); ++i) z[i] = (series[k].mbps[i] - mean) / std_dev;
    for (size_t end = static_cast<size_t>(window);
         end - 1 + static_cast<size_t>(horizon) < z.size(); ++end) {
      // A window's target decides its split: training targets lie before the cut.
      AddWindow(end - 1 + static_cast<size_t>(horizon) < split[k] ? tr : va, z, end, window,
                horizon, change);
    }
  }

  models::ModelContext context;
  context.input_size = 1;
  context.window = window;
  context.output_size = 1;
  context.seed = static_cast<uint64_t>(experiment.Int("seed"));
  std::unique_ptr<models::Model> model = choice.entry->make(model_params, context);

  std::ostringstream ini;
  ini << "# Effective linklab predictor config (from " << config_path << ")\n\n";
  WriteIniSection(ini, "experiment", {&experiment});
  WriteIniSection(ini, "data", {&data});
  std::ostringstream model_section;
  WriteIniSection(model_section, "model", {&model_params});
  const std::string model_keys = model_section.str();  // after its "[model]" line
  ini << "[model]\n# the registered model\nname = " << model_name << "\n"
      << model_keys.substr(model_keys.find('\n') + 1);
  WriteIniSection(ini, "train", {&train});
  const std::string text = ini.str();
  const std::string dir = MakeFreshDir(
      experiment.String("output") + "/" + experiment.String("name"), core::UtcTimestamp(true));
  core::WriteFileAtomic(dir + "/config.ini", text);
  std::cerr << "linklab: predictor " << model_name << " on " << series.size() << " series ("
            << tr.rows << " training and " << va.rows << " validation windows) -> " << dir << "\n";

  core::Rng rng(context.seed);
  const int64_t batch = train.Int("batch_size"), epochs = train.Int("epochs");
  std::vector<int64_t> order(static_cast<size_t>(tr.rows));
  for (int64_t i = 0; i < tr.rows; ++i) order[static_cast<size_t>(i)] = i;
  core::MetricsLog log;
  double best = INFINITY;
  int64_t best_epoch = 0, epoch = 0;
  const auto start = std::chrono::steady_clock::now();
  std::vector<float> bx, by;
  for (epoch = 1; epoch <= epochs; ++epoch) {
    for (size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[static_cast<size_t>(rng.UniformInt(i))]);
    }
    double loss_sum = 0.0;
    int64_t batches = 0;
    for (int64_t b = 0; b + 2 <= tr.rows; b += batch) {
      const int64_t n = std::min(batch, tr.rows - b);
      if (n < 2) break;
      bx.clear();
      by.clear();
      for (int64_t i = 0; i < n; ++i) {
        const int64_t r = order[static_cast<size_t>(b + i)];
        bx.insert(bx.end(), tr.x.begin() + r * window, tr.x.begin() + (r + 1) * window);
        by.push_back(tr.y[static_cast<size_t>(r)]);
      }
      loss_sum += model->Fit(bx, by, n).at(0).second;
      ++batches;
    }
    const double val = Mse(*model, va, window);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log.Add("train/epochs", {{"epoch", static_cast<double>(epoch)},
                             {"train_loss", loss_sum / std::max<int64_t>(batches, 1)},
                             {"val_loss", val},
                             {"seconds", seconds}});
    if (val < best) {
      best = val;
      best_epoch = epoch;
      model->Save(dir + "/model");
    }
    if (train.Bool("progress")) {
      const double per_epoch = seconds / static_cast<double>(epoch);
      std::cerr << "[train] epoch " << epoch << "/" << epochs << " | train loss "
                << core::FormatDouble(std::round(loss_sum / std::max<int64_t>(batches, 1) * 1e4) /
                                      1e4)
                << " | val loss " << core::FormatDouble(std::round(val * 1e4) / 1e4) << " | best "
                << core::FormatDouble(std::round(best * 1e4) / 1e4) << " (epoch " << best_epoch
                << ") | " << core::FormatDouble(std::round(per_epoch * 10) / 10)
                << " s/epoch | ETA at most "
                << core::FormatDouble(std::round(per_epoch * (epochs - epoch))) << " s\n";
    }
    if (epoch - best_epoch >= train.Int("patience")) break;
  }
  const int64_t epochs_run = std::min(epoch, epochs);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  model->Load(dir + "/model");  // the best epoch's weights

  core::Json scaler = core::Json::object();
  scaler["model"] = model_name;
  scaler["feature"] = "bandwidth_mbps";
  scaler["mean"] = mean;
  scaler["std"] = std_dev;
  scaler["window"] = window;
  scaler["horizon_s"] = data.Double("horizon_s");
  scaler["interval_s"] = interval;
  scaler["target"] = data.String("target");
  core::WriteFileAtomic(dir + "/scaler.json", scaler.dump(2) + "\n");
  datasets::Attributes attrs;
  attrs.text = {{"config", text}, {"git_commit", core::GitCommit()}, {"model", model_name}};
  attrs.ints = {{"seed", experiment.Int("seed")}};
  datasets::WriteMetrics(dir + "/metrics.h5", log, attrs);
  core::Json summary = core::Json::object();
  summary["name"] = experiment.String("name");
  summary["model"] = model_name;
  summary["seed"] = experiment.Int("seed");
  summary["git_commit"] = core::GitCommit();
  summary["created"] = core::UtcTimestamp();
  summary["config"] = dir + "/config.ini";
  core::Json names = core::Json::array();
  for (const auto& s : series) names.push_back(s.name);
  summary["traces"] = names;
  summary["train_windows"] = tr.rows;
  summary["val_windows"] = va.rows;
  summary["epochs_run"] = epochs_run;
  summary["best_epoch"] = best_epoch;
  summary["best_val_mse_scaled"] = best;
  summary["seconds"] = seconds;
  summary["samples_per_second"] =
      seconds > 0 ? static_cast<double>(tr.rows) * static_cast<double>(epochs_run) / seconds : 0;
  summary["machine"] = core::MachineInfo();
  core::WriteFileAtomic(dir + "/summary.json", summary.dump(2) + "\n");
  std::cerr << "linklab: best epoch " << best_epoch << " of " << epochs_run
            << ", validation MSE (standardised) " << core::FormatDouble(best) << "; results in "
            << dir << "\n";
  return dir;
}

}  // namespace linklab::experiments
