#include "envs/registry.h"

#include <iostream>
#include <stdexcept>

namespace linklab::envs {

EnvRegistryType& EnvRegistry() {
  static EnvRegistryType* registry = [] {
    auto* r = new EnvRegistryType("env");
    RegisterClassicControl(*r);
    return r;
  }();
  return *registry;
}

void RegisterEnv(EnvRegistryType& registry, std::string name, std::string description,
                 std::vector<core::ParamSpec> params, int64_t max_episode_steps, EnvMaker make,
                 core::TraitsFn traits) {
  if (!traits) throw std::logic_error("env '" + name + "' registered without traits");
  for (const auto& reserved : VectorOptionSpecs()) {
    for (const auto& p : params) {
      if (p.name == reserved.name || p.name == "id") {
        throw std::logic_error("env '" + name + "' uses the reserved parameter '" + p.name + "'");
      }
    }
  }
  params.push_back(core::IntParam("max_episode_steps", max_episode_steps,
                                  "time limit in steps (truncation); 0 for none", 0));
  registry.Add({std::move(name), std::move(description), std::move(params), std::move(make),
                std::move(traits)});
}

core::Params ResolveEnvParams(const std::string& name, const core::RawValues& values,
                              const std::string& context) {
  const auto& entry = EnvRegistry().Find(name);
  return core::Params::Resolve(entry.params, values, context);
}

core::EntryTraits EnvTraits(const std::string& name, const core::Params& params) {
  return EnvRegistry().Find(name).Traits(params);
}

std::unique_ptr<Env> MakeEnv(const std::string& name, const core::Params& params) {
  const auto& entry = EnvRegistry().Find(name);
  std::unique_ptr<Env> env = entry.make(params);
  const int64_t limit = params.Int("max_episode_steps");
  if (limit > 0) env = std::make_unique<TimeLimit>(std::move(env), limit);
  return std::make_unique<EpisodeStatistics>(std::move(env));
}

std::unique_ptr<Env> MakeEnv(const std::string& spec) {
  const core::Spec parsed = core::Spec::Parse(spec, "env spec");
  return MakeEnv(parsed.name(),
                 ResolveEnvParams(parsed.name(), parsed.Values(), "env " + parsed.name()));
}

std::vector<core::ParamSpec> VectorOptionSpecs() {
  return {
      core::IntParam("num_envs", 1, "copies of the env stepped together", 1, 4096),
      core::StringParam("vectorization", "sync",
                        "sync: in this process; process: one worker process per env",
                        {"sync", "process"}),
      core::BoolParam("normalize_obs", false, "normalise observations (running mean/var)"),
      core::BoolParam("normalize_reward", false,
                      "scale rewards by the running std of the discounted return"),
      core::DoubleParam("reward_gamma", 0.99, "discount of the return used to scale rewards", 0.0,
                        1.0),
      core::DoubleParam("clip_obs", 10.0, "clip normalised observations to +-clip_obs", 0.0),
      core::DoubleParam("clip_reward", 10.0, "clip scaled rewards to +-clip_reward", 0.0),
  };
}

VectorOptions VectorOptionsFrom(const core::Params& p) {
  VectorOptions o;
  o.num_envs = static_cast<int>(p.Int("num_envs"));
  o.mode = p.String("vectorization");
  o.normalize_obs = p.Bool("normalize_obs");
  o.normalize_reward = p.Bool("normalize_reward");
  o.reward_gamma = p.Double("reward_gamma");
  o.clip_obs = p.Double("clip_obs");
  o.clip_reward = p.Double("clip_reward");
  return o;
}

std::string EffectiveVectorMode(const std::string& name, const core::Params& params,
                                const VectorOptions& options, std::string* note) {
  if (note) note->clear();
  if (options.mode != "sync" || options.num_envs <= 1) return options.mode;
  if (!EnvTraits(name, params).own_process) return options.mode;
  if (note) {
    *note = "env " + name + " needs a process of its own (one simulation per process): " +
            "vectorization = sync with num_envs = " + std::to_string(options.num_envs) +
            " runs as process";
  }
  return "process";
}

std::unique_ptr<VectorEnv> MakeVectorEnv(const std::string& name, const core::Params& params,
                                         const VectorOptions& options) {
  EnvFactory factory = [name, params] { return MakeEnv(name, params); };
  std::string note;
  const std::string mode = EffectiveVectorMode(name, params, options, &note);
  if (!note.empty()) std::cerr << "linklab: " << note << "\n";
  std::unique_ptr<VectorEnv> env;
  if (mode == "process") {
    env = std::make_unique<ProcessVectorEnv>(factory, options.num_envs);
  } else if (mode == "sync") {
    env = std::make_unique<SyncVectorEnv>(factory, options.num_envs);
  } else {
    throw std::invalid_argument("vectorization = '" + options.mode + "': must be sync or process");
  }
  if (options.normalize_reward) {
    env = std::make_unique<ScaleReward>(std::move(env), options.reward_gamma, options.clip_reward);
  }
  if (options.normalize_obs) {
    env = std::make_unique<NormalizeObservation>(std::move(env), options.clip_obs);
  }
  return env;
}

NormalizeObservation* FindObsNormalizer(VectorEnv& env) {
  return dynamic_cast<NormalizeObservation*>(&env);
}

ScaleReward* FindRewardScaler(VectorEnv& env) {
  if (auto* s = dynamic_cast<ScaleReward*>(&env)) return s;
  if (auto* n = dynamic_cast<NormalizeObservation*>(&env)) {
    return dynamic_cast<ScaleReward*>(&n->inner());
  }
  return nullptr;
}

}  // namespace linklab::envs
