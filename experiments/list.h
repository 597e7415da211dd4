#pragma once
// `linklab list`: every registered env, agent, model and scenario with its parameters.

#include <string>
#include <vector>

namespace linklab::experiments {

// The kinds `linklab list` knows, one per registry: "envs", "agents", "models", "scenarios".
std::vector<std::string> ListKinds();
// The entries of `kind` ("" = every kind). Throws std::invalid_argument on an unknown kind,
// naming the known ones.
std::string ListRegistered(const std::string& kind);

}  // namespace linklab::experiments
