#pragma once
// `linklab list`: every registered env, agent, model and scenario with its parameters.

#include <string>

namespace linklab::experiments {

// Kinds: "envs", "agents" ("" = all). Throws std::invalid_argument on an unknown kind.
std::string ListRegistered(const std::string& kind);

}  // namespace linklab::experiments
