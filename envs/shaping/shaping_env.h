#pragma once
// The `shaping` env: an agent shapes the traffic classes of a shared bottleneck with HTB, on
// any scenario of the scenario registry and either backend (ns-3 or fluid):
//
//   shaping(scenario=tethered(capacity=trace,backend=fluid),step_s=0.1,action=discrete)
//
// Each step decodes the action into an HTB config (sim/action.h), applies it at the shaping
// point, advances the scenario by step_s, encodes the window of the link's samples
// (sim/observation.h, observable fields only) and computes the reward (sim/reward.h). The
// info carries the simulator's per-class truth (throughput, one-way delay p95, video bitrate
// and stalls, game RTT and loss, web completion times, link utilisation) for evaluation
// tables; none of it reaches the observation. Reset rebuilds the scenario in this process
// (ns-3: one simulation per process, so the registry traits say own_process on ns-3) with the
// episode's randomisation (training trace, offset into it, RTT, buffer) drawn from the env's
// generator.
//
// It lives in its own library (linklab_shaping_env: linklab_envs + linklab_sim), since
// linklab_envs links no simulator; binaries and tests that link it register it.

#include "envs/registry.h"

namespace linklab::envs::shaping {

// Registers "shaping" into `registry`; a second call does nothing.
void RegisterShapingEnv(EnvRegistryType& registry);

}  // namespace linklab::envs::shaping
