#pragma once
// `linklab eval CONFIG`: every policy on the same held-out traces and seeds, one table.
//
//   [experiment]  name, output, description
//   [env]         id (shaping) and the env's parameters: the scenario, step_s, the episode's
//                 length (max_episode_steps or episode_s), classes, SLAs, reward weights, ...
//   [eval]        policies, traces, format, seeds, seed, workers
//
// Policies are baselines by name (BaselineNames: none, bottleneck_fq_codel, sqm, static_htb,
// autorate, oracle; the env's `controller` parameter applies them) or trained run folders
// holding policy.bin (models/policy.h, run torch-free). For each policy x trace x seed one
// episode runs in a worker process of its own (fork; ns-3 allows one simulation per process),
// at most `workers` at a time; the episode's env is the [env] section with the trace as the
// scenario's trace and no per-episode trace draw, reset with seed `seed + i` for the i-th seed
// (the same for every policy and trace). Results go to <output>/<name>/<UTC time>/ (or --out):
//   table.md, table.json   per policy: mean reward per step with a 95 % t-interval over seeds,
//                          per class throughput, p95 one-way delay, SLA violation rate, video
//                          bitrate and stalls per minute, game RTT p95 and loss, web page time,
//                          link utilisation, training wall time and env steps; the config,
//                          seeds, traces, git commit and machine
//   episodes/*.json        each episode's per-step reward and info
// Bad input (unknown policy, a run folder without policy.bin or with other spaces, a trace
// that does not exist or does not parse, an episode without an end, any bad env key) is
// std::invalid_argument naming file:line, key and value, before any episode runs.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/params.h"

namespace linklab::experiments {

// The baselines `[eval] policies` knows by name.
const std::vector<std::string>& BaselineNames();

struct EvalConfig {
  std::string source;  // the config file
  core::Params experiment, eval;
  std::string env_id;
  core::RawValues env_raw;  // [env] without id, as written (origins kept)
  // Resolved: policies as given (baseline names or run folders), trace files (paths).
  std::vector<std::string> policies;
  std::vector<std::string> traces;
  std::string out;  // --out, or "" for <output>/<name>/<time>
};

// Command-line overrides of a config's [eval] keys (empty: keep the config's).
struct EvalOverrides {
  std::vector<std::string> policies;  // --policy (repeatable)
  std::vector<std::string> traces;    // --traces PATH...
  std::string format;                 // --format mahimahi|pensieve
  int seeds = 0;                      // --seeds N
  std::string out;                    // --out DIR
  std::vector<std::string> sets;      // --set section.key=value
};

// Reads and checks an eval config (every check that needs no episode: sections, keys, env
// parameters, policies, traces; see CheckEvalConfig for the rest).
EvalConfig LoadEvalConfig(const std::string& path, const EvalOverrides& overrides = {});
// Builds each policy's env once (in a worker process) and checks that it takes the policy
// (observation and action spaces) and that an episode ends; throws std::invalid_argument.
void CheckEvalConfig(const EvalConfig& config);

struct EvalResult {
  std::string dir;
  core::Json table;  // table.json's content
};
// CheckEvalConfig, then every episode, then the tables. Progress on stderr when `progress`.
EvalResult RunEval(const EvalConfig& config, bool progress = true);

// The two-sided 95 % Student t quantile for `dof` degrees of freedom (a table to 30, then
// an expansion about 1.96; NaN below 1).
double StudentT95(int dof);

}  // namespace linklab::experiments
