#pragma once
// The agent interface. The Trainer (agents/trainer.h) owns the interaction loop: it asks the
// agent for actions, steps the vector env, hands every step back (Observe), and lets the agent
// update when it is due. Algorithms (PPO, DQN) and baselines (random, fixed) implement only
// their own part.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/registry.h"
#include "envs/vector_env.h"
#include "models/policy.h"

namespace linklab::agents {

using envs::Array;

// One vector step as the learner sees it. `valid[i]` is 0 when sub-env i was autoreset on
// this step (the action was ignored: no transition to learn from, see vector_env.h).
struct Transition {
  const Array& obs;                   // [n, obs_size] the actions were chosen from
  const Array& actions;               // [n, action_size]
  const envs::VectorStep& result;     // what the env returned
  const std::vector<uint8_t>& valid;  // [n]
};

class Agent {
 public:
  virtual ~Agent() = default;
  // One action per row of `obs` ([rows, obs_size]). `explore`: training behaviour (sampling,
  // epsilon-greedy); otherwise the deterministic policy (greedy, Gaussian mean).
  virtual Array Act(const Array& obs, int rows, bool explore) = 0;
  // Records the step that followed the last Act(explore = true).
  virtual void Observe(const Transition& t) {}
  // Runs an update if one is due after `env_steps` env steps; returns its figures (losses,
  // learning rate, ...) or nothing when no update ran.
  virtual core::Row Update(int64_t env_steps) { return {}; }
  // Whole learner state (model, optimiser, buffers, generator) to/from a directory.
  virtual void Save(const std::string& dir) const {}
  virtual void Load(const std::string& dir) {}
  // The greedy policy (Act with explore = false) as a torch-free artefact: spaces, network,
  // parameters, action head (models/policy.h); the caller adds normaliser statistics. Throws
  // std::runtime_error for agents without one (the random baseline).
  virtual models::PolicyArtefact ExportPolicy() const;
};

// What every agent factory gets besides its own parameters.
struct AgentContext {
  envs::Space observation_space;
  envs::Space action_space;
  int num_envs = 1;
  int64_t total_steps = 0;  // training budget (for schedules)
  uint64_t seed = 0;
};

using AgentMaker = std::function<std::unique_ptr<Agent>(const core::Params&, const AgentContext&)>;
using AgentRegistryType = core::Registry<AgentMaker>;

// All registered agents (built-ins are registered on first use).
AgentRegistryType& AgentRegistry();
std::unique_ptr<Agent> MakeAgent(const std::string& name, const core::Params& params,
                                 const AgentContext& context);

// Registration of the built-in agents (baselines.cc, dqn.cc, ppo.cc).
void RegisterBaselines(AgentRegistryType& registry);
void RegisterDqn(AgentRegistryType& registry);
void RegisterPpo(AgentRegistryType& registry);

}  // namespace linklab::agents
