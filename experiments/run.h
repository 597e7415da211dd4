#pragma once
// `linklab run`: one experiment from config to results.
//
// results/<name>/<time>/           (never overwrites: a suffix is added when the folder exists)
//   config.ini      the effective config (every default filled in)
//   metrics.h5      train/episodes, train/updates, eval/episodes; config, seed, git commit
//   summary.json    headline figures, config, seed, git commit, machine
//   policy.bin      the final greedy policy, torch-free (models/policy.h), with the normaliser
//                   statistics evaluation uses; policy.unavailable (the reason) for agents
//                   without one (random)
//   checkpoints/step_<N>/   every [train] checkpoint_every env steps and at the end:
//       agent files (model, optimiser, buffers), policy.bin, env_state.bin (envs and normalisers),
//       trainer_state.bin, metrics.h5 and config.ini as of that step
//
// `linklab run --resume <run folder or checkpoint>` continues a run from a checkpoint, in the
// same folder, and reaches exactly the results the uninterrupted run would have.

#include <nlohmann/json.hpp>
#include <string>

#include "core/json.h"
#include "experiments/config.h"

namespace linklab::experiments {

struct RunResult {
  std::string dir;
  core::Json summary;
};

// `dir`: the run folder to write (created when missing; a sweep's point), instead of a fresh
// <output>/<name>/<time>.
RunResult RunExperiment(const ExperimentConfig& config, const std::string& dir = "");
// `path` is a run folder (its latest checkpoint is used) or one checkpoint folder.
RunResult ResumeExperiment(const std::string& path);

// The checkpoint folder `path` names: itself, or a run folder's latest checkpoint; `what`
// starts the std::invalid_argument thrown when it is neither.
std::string FindCheckpoint(const std::string& path, const std::string& what);

// Creates a fresh folder under `parent` named `name` (or name-2, name-3, ... when taken).
std::string MakeFreshDir(const std::string& parent, const std::string& name);

}  // namespace linklab::experiments
