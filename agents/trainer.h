#pragma once
// The training and evaluation loops shared by every agent: act, step, observe, update; episode
// statistics and update figures into the metrics log; progress with the latest returns;
// checkpoints every N env steps.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "agents/agent.h"
#include "core/metrics.h"

namespace linklab::agents {

struct TrainOptions {
  int64_t total_steps = 100000;  // env steps, summed over sub-envs
  uint64_t seed = 0;
  int64_t checkpoint_every = 0;  // env steps; 0: none
  bool progress = true;
};

// The loop's own state between two steps: with the agent's and the env's state it is all a
// checkpoint needs to resume a run exactly.
struct TrainState {
  int64_t step = 0;             // env steps done
  int64_t episodes = 0;         // episodes finished
  int64_t next_checkpoint = 0;  // env steps at which the next checkpoint is due (0: none)
  Array obs;                    // observations the next actions are chosen from
  std::vector<uint8_t> valid;   // per sub-env: 0 when its next step is an autoreset
  std::vector<double> recent;   // returns of the last (up to) 100 episodes

  std::string Save() const;
  // Throws std::runtime_error naming `what` on malformed data.
  static TrainState Load(const std::string& data, const std::string& what);
};

// Called at every checkpoint.
using CheckpointFn = std::function<void(const TrainState& state)>;

struct TrainResult {
  int64_t env_steps = 0;
  int64_t episodes = 0;
  double seconds = 0.0;
  double mean_return_last100 = 0.0;  // NaN when no episode finished
  TrainState final_state;            // for the checkpoint at the end
};

// Trains `agent` on `env` from a fresh Reset(seed), or from `resume` (the agent and env
// restored to the same checkpoint by the caller). Writes "train/episodes" (step, env, return,
// length) and "train/updates" (step, the agent's figures) into `metrics`.
TrainResult Train(Agent& agent, envs::VectorEnv& env, const TrainOptions& options,
                  core::MetricsLog& metrics, const CheckpointFn& checkpoint = nullptr,
                  const TrainState* resume = nullptr);

struct EvalResult {
  std::vector<double> returns, lengths;
  double mean_return() const;
  double std_return() const;
};

// The agent's greedy policy as a torch-free artefact (Agent::ExportPolicy) with the
// observation normaliser statistics of `env` (as evaluation uses them) when it normalises.
models::PolicyArtefact ExportPolicy(const Agent& agent, envs::VectorEnv& env);

// Runs `episodes` whole episodes with the deterministic (or, if `explore`, the training)
// policy, spread evenly over the sub-envs so short episodes are not favoured.
EvalResult Evaluate(Agent& agent, envs::VectorEnv& env, int episodes, uint64_t seed,
                    bool explore = false);

}  // namespace linklab::agents
