#pragma once
// The env registry: every env by name, with typed parameters, and the one way envs are built
// for experiments (time limit, episode statistics, vectorisation, normalisation).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.h"
#include "envs/vector_env.h"

namespace linklab::envs {

using EnvMaker = std::function<std::unique_ptr<Env>(const core::Params&)>;
using EnvRegistryType = core::Registry<EnvMaker>;

// All registered envs (built-ins are registered on first use).
EnvRegistryType& EnvRegistry();

// Registers an env. Its schema gets the common parameter max_episode_steps with the given
// default (0: no time limit). `traits` say whether it snapshots, needs a process of its own
// and roughly what a step costs (core/registry.h); every env must say.
void RegisterEnv(EnvRegistryType& registry, std::string name, std::string description,
                 std::vector<core::ParamSpec> params, int64_t max_episode_steps, EnvMaker make,
                 core::TraitsFn traits);

// Checks raw values against env `name`'s schema; `context` prefixes messages.
core::Params ResolveEnvParams(const std::string& name, const core::RawValues& values,
                              const std::string& context);
// The registry traits of env `name` with resolved params.
core::EntryTraits EnvTraits(const std::string& name, const core::Params& params);
// Env `name` built from resolved params, wrapped in TimeLimit (when max_episode_steps > 0)
// and EpisodeStatistics.
std::unique_ptr<Env> MakeEnv(const std::string& name, const core::Params& params);
// The same from a spec string: "CartPole-v1", "Pendulum-v1(g=9.81,max_episode_steps=100)".
std::unique_ptr<Env> MakeEnv(const std::string& spec);

// How a vector env is built around the registered env (the [env] section's common keys).
struct VectorOptions {
  int num_envs = 1;
  std::string mode = "sync";  // sync | process
  bool normalize_obs = false;
  bool normalize_reward = false;
  double reward_gamma = 0.99;
  double clip_obs = 10.0;
  double clip_reward = 10.0;
};
std::vector<core::ParamSpec> VectorOptionSpecs();
VectorOptions VectorOptionsFrom(const core::Params& params);
// The mode MakeVectorEnv uses for env `name`: options.mode, except process for an own-process
// env asked for with sync and num_envs > 1. `note`, when given, receives the reason for a
// change (empty when there is none).
std::string EffectiveVectorMode(const std::string& name, const core::Params& params,
                                const VectorOptions& options, std::string* note = nullptr);

// The vector env with the wrappers `options` ask for. Outermost wrapper first, so callers can
// reach the normalisers: NormalizeObservation(ScaleReward(Sync|ProcessVectorEnv)).
// An env whose traits say own_process, asked for with mode sync and num_envs > 1, runs as
// process instead, with one line on stderr saying so (EffectiveVectorMode).
std::unique_ptr<VectorEnv> MakeVectorEnv(const std::string& name, const core::Params& params,
                                         const VectorOptions& options);

// The normalisers inside a vector env built by MakeVectorEnv (null when absent).
NormalizeObservation* FindObsNormalizer(VectorEnv& env);
ScaleReward* FindRewardScaler(VectorEnv& env);

// Registers the classic-control ports (envs/classic/).
void RegisterClassicControl(EnvRegistryType& registry);

}  // namespace linklab::envs
