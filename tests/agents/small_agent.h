#pragma once
// Agents with small budgets for tests: updates happen within a few thousand env steps.

#include <cstdint>
#include <memory>
#include <string>

#include "agents/agent.h"

namespace linklab::testing {

// Agent `algo` for `env` with learning_starts 200, num_steps 64 and buffer_size 1000 where it
// has those keys, and the registry's defaults otherwise.
inline std::unique_ptr<agents::Agent> MakeSmallAgent(const std::string& algo, envs::VectorEnv& env,
                                                     int64_t total_steps, uint64_t seed) {
  core::RawValues raw;
  const auto& entry = agents::AgentRegistry().Find(algo);
  for (const auto& p : entry.params) {
    if (p.name == "learning_starts") raw[p.name] = {"200", "test"};
    if (p.name == "num_steps") raw[p.name] = {"64", "test"};
    if (p.name == "buffer_size") raw[p.name] = {"1000", "test"};
  }
  const agents::AgentContext ctx{env.single_observation_space(), env.single_action_space(),
                                 env.num_envs(), total_steps, seed};
  return agents::MakeAgent(algo, core::Params::Resolve(entry.params, raw, "[agent]"), ctx);
}

}  // namespace linklab::testing
