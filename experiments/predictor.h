#pragma once
// `linklab predictor train` and `linklab predictor eval`: learned predictors of a link's
// bandwidth, latency, loss and jitter, trained on traces or data sets and judged beside the
// classical baselines and boosted trees on any trace files or data sets.

#include <string>
#include <vector>

#include "core/json.h"
#include "experiments/config.h"

namespace linklab::experiments {

struct PredictorEvalOptions {
  std::vector<std::string> traces;  // files or folders
  std::string format;               // mahimahi, pensieve or h5
  double horizon_s = 1.0;
  double interval_s = 1.0;
  std::vector<std::string> models;  // predictor run folders (RunPredictorTrain's), maybe none
  std::string ensemble;             // with 2+ models: "mode", "hybrid" or "both" (or "")
  std::string json_path;            // "" for none
  std::string predictions_path;     // "" or a CSV of every prediction
};

// Evaluates the classical baselines and, with `models`, the trained predictors and their
// boosted trees, at one horizon (one of the models'), on every target the models predict
// (bandwidth alone without one; models evaluated together predict the same targets). With
// `ensemble`, the models combined too (models::MakeEnsemble: "mode" follows the most confident,
// "hybrid" blends by confidence; pba_v3's datacenter and internet models, say). Writes a
// Markdown table to stdout and, with `json_path`, JSON: a top-level object per predictor (a
// model under its folder's name, "boosted_trees" (of several models: "boosted_trees:<folder>"),
// "mode", "hybrid", each baseline) with its first target's figures overall, per trace, its
// confidence calibration
// (kConfidenceBins bins: predictions, mean confidence, observed share within +-20 %) and, for
// a model of more targets, "targets": the others' figures; and an "evaluation" object
// (horizon, interval, resampling, traces, models, git commit, machine). `predictions_path`: a
// CSV with one row per predicted sample: series, time_s, target, actual, then each predictor's
// prediction (a single model's column is "model") and the first model's confidence.
// Throws std::invalid_argument for bad input (files, format, a horizon that is not a whole
// number of intervals or not one of the model's, series too short for the window, series
// without a feature the model needs, a folder that is not a predictor run) before anything is
// written.
core::Json RunPredictorEval(const PredictorEvalOptions& options);

// `linklab predictor train CONFIG [--set section.key=value ...]` (or `linklab run CONFIG` of
// a config with a [model] section). Config sections:
//   [experiment]  name, seed, output, description
//   [data]        traces (files or folders), format (mahimahi, pensieve, h5), interval_s,
//                 horizon_s (one or a list: a multi-horizon model answers each), features
//                 (the model's inputs, models::SeriesFeatures() names), targets (what it
//                 predicts, among the features), val_fraction (the last part of every series,
//                 in time: never trained on, it picks the epoch and fits the calibration),
//                 target (level: the value ahead; change: its difference from the window's
//                 last value)
//   [model]       name (a registered model) and its parameters (window, ...)
//   [train]       epochs, batch_size, patience, loss (mse or mae), progress
//   [trees]       the boosted-trees baseline on the same windows: rounds (0: none),
//                 max_depth, learning_rate, subsample, patience
// Inputs: the window of features, each standardised with the mean and deviation of the
// training parts only; outputs: every target at every horizon. Adam on [train] loss (MSE or
// MAE), a shuffle per epoch from the seed and the epoch; after each epoch the validation
// loss; the best epoch's
// weights are kept (model/), and training stops after `patience` epochs without a better one.
// A checkpoint after every epoch (checkpoint/: weights, optimiser, state) lets
// ResumePredictorTrain continue exactly where it stopped.
// Writes <output>/<name>/<UTC time>/: config.ini (effective), model/ (the best weights),
// trees/ (the boosted trees), scaler.json (features, targets, horizons, interval, window,
// means, deviations, calibration), metrics.h5 (train/epochs: epoch, train_loss, val_loss,
// seconds), summary.json (best epoch and validation loss, samples per second, seed, git
// commit). Returns the run folder.
// `dir`: the run folder to write (created when missing; a sweep's point) instead of a fresh one.
std::string RunPredictorTrain(const std::string& config_path, const std::vector<std::string>& sets,
                              const std::string& dir = "");
// The sections of a predictor config: experiment, data, model, train, trees.
const std::vector<std::string>& PredictorSections();
// Checks a predictor config's sections (keys, types, ranges, the model and its parameters)
// without reading its data; throws std::invalid_argument naming each value's origin.
void CheckPredictorConfig(RawSections raw);

// Continues `run_dir`'s training from its last checkpoint with the config it was started
// with; `sets` may change [train] keys only (more epochs, say). Returns run_dir.
std::string ResumePredictorTrain(const std::string& run_dir, const std::vector<std::string>& sets);

// Whether the INI file at `path` has a [model] section (a predictor config, for `linklab run`).
bool IsPredictorConfig(const std::string& path);
// Whether `dir` is a predictor run folder (for `linklab run --resume`).
bool IsPredictorRun(const std::string& dir);

// The ONNX file (models/onnx_export.h) of a finished predictor run's network, on scaled inputs,
// with its scaler.json (features, targets, horizons, interval, scaler statistics, calibration),
// config.ini and training commit as metadata. Throws std::invalid_argument naming the folder.
std::string ExportPredictorOnnx(const std::string& run_dir);

}  // namespace linklab::experiments
