#pragma once
// `linklab run`: one experiment from config to results.
//
// results/<name>/<time>/           (never overwrites: a suffix is added when the folder exists)
//   config.ini      the effective config (every default filled in)
//   metrics.h5      train/episodes, train/updates, eval/episodes; config, seed, git commit
//   summary.json    headline figures, config, seed, git commit, machine
//   checkpoints/    agent state every [train] checkpoint_every steps and at the end

#include <string>

#include "core/json.h"
#include "experiments/config.h"

namespace linklab::experiments {

struct RunResult {
  std::string dir;
  core::Json summary;
};

RunResult RunExperiment(const ExperimentConfig& config);

// Creates a fresh folder under `parent` named `name` (or name-2, name-3, ... when taken).
std::string MakeFreshDir(const std::string& parent, const std::string& name);

}  // namespace linklab::experiments
