#pragma once
// `linklab predictor eval`: a trained predictor (a `predictor train` run folder) and the
// classical baselines on any trace files or data sets, at one horizon.
// Writes a Markdown table to stdout and, with `json_path`, the figures as JSON: a top-level
// object per predictor with its figures overall and per trace (models/forecast.h defines them),
// and an "evaluation" object (horizon, interval, resampling, traces, git commit, machine).

#include <string>
#include <vector>

#include "core/json.h"

namespace linklab::experiments {

struct PredictorEvalOptions {
  std::vector<std::string> traces;  // files or folders
  std::string format;               // mahimahi, pensieve or h5
  double horizon_s = 1.0;
  double interval_s = 1.0;
  std::string model;      // "" or a predictor run folder (RunPredictorTrain's)
  std::string json_path;  // "" for none
};

// Throws std::invalid_argument for bad input (files, format, a horizon that is not a whole
// number of intervals or not the model's, series too short, a folder that is not a predictor
// run) before anything is written.
core::Json RunPredictorEval(const PredictorEvalOptions& options);

// `linklab predictor train CONFIG [--set section.key=value ...]`: trains a bandwidth predictor
// on the series of [data] traces. Config sections:
//   [experiment]  name, seed, output, description
//   [data]        traces (files or folders), format (mahimahi, pensieve, h5), interval_s,
//                 horizon_s, val_fraction (the last part of every series, in time: never
//                 trained on, it picks the epoch), target (level: the bandwidth ahead;
//                 change: its difference from the window's last value)
//   [model]       name (a registered model) and its parameters (window, ...)
//   [train]       epochs, batch_size, patience, progress
// The input is the window of bandwidths, standardised with the mean and deviation of the
// training parts only; the target is the bandwidth horizon_s ahead. Adam on the MSE, a fresh
// shuffle per epoch from the seed; after each epoch the validation MSE; the best epoch's
// weights are kept (model/), and training stops after `patience` epochs without a better one.
// Writes <output>/<name>/<UTC time>/: config.ini (effective), model/ (the best weights),
// scaler.json (mean, std, window, horizon, interval), metrics.h5 (train/epochs: epoch,
// train_loss, val_loss, seconds), summary.json (best epoch and validation loss, samples per
// second, seed, git commit). Returns the run folder.
std::string RunPredictorTrain(const std::string& config_path, const std::vector<std::string>& sets);

}  // namespace linklab::experiments
