#pragma once
// `linklab predictor eval`: every predictor (for now the classical baselines; the learned
// models join them as they are registered) on any trace files or data sets, at one horizon.
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
  std::string model;      // "": the baselines; a registered model is refused (not there yet)
  std::string json_path;  // "" for none
};

// Throws std::invalid_argument for bad input (files, format, a horizon that is not a whole
// number of intervals, series too short, an unknown model) before anything is written.
core::Json RunPredictorEval(const PredictorEvalOptions& options);

}  // namespace linklab::experiments
