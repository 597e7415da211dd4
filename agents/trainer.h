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

// Called at every checkpoint with the env steps done so far.
using CheckpointFn = std::function<void(int64_t env_steps)>;

struct TrainResult {
  int64_t env_steps = 0;
  int64_t episodes = 0;
  double seconds = 0.0;
  double mean_return_last100 = 0.0;  // NaN when no episode finished
};

// Trains `agent` on `env` from a fresh Reset(seed). Writes "train/episodes" (step, env,
// return, length) and "train/updates" (step, the agent's figures) into `metrics`.
TrainResult Train(Agent& agent, envs::VectorEnv& env, const TrainOptions& options,
                  core::MetricsLog& metrics, const CheckpointFn& checkpoint = nullptr);

struct EvalResult {
  std::vector<double> returns, lengths;
  double mean_return() const;
  double std_return() const;
};

// Runs `episodes` whole episodes with the deterministic (or, if `explore`, the training)
// policy, spread evenly over the sub-envs so short episodes are not favoured.
EvalResult Evaluate(Agent& agent, envs::VectorEnv& env, int episodes, uint64_t seed,
                    bool explore = false);

}  // namespace linklab::agents
