#pragma once
// A test env that behaves like an ns-3 env: at most one live instance per process (a second
// one throws, as a second ns-3 simulation would), no snapshots, registered with the traits
// own_process = true, snapshot = false as "test-OwnProcess-v0".

#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "envs/registry.h"

namespace linklab::testing {

// obs = [pid of the process it runs in, t]; Discrete(2) actions; episodes of 5 steps.
class OwnProcessEnv : public envs::EnvBase {
 public:
  OwnProcessEnv() {
    if (live() > 0) throw std::runtime_error("a second OwnProcessEnv in process " + Pid());
    ++live();
  }
  ~OwnProcessEnv() override { --live(); }
  const envs::Space& observation_space() const override { return obs_; }
  const envs::Space& action_space() const override { return act_; }
  // Instances alive in this process.
  static int& live() {
    static int n = 0;
    return n;
  }

 protected:
  envs::ResetResult DoReset(core::Rng&) override {
    t_ = 0;
    return {Obs(), {}};
  }
  envs::StepResult DoStep(const envs::Array& action) override {
    ++t_;
    envs::StepResult r;
    r.obs = Obs();
    r.reward = action[0];
    r.terminated = t_ >= 5;
    return r;
  }

 private:
  static std::string Pid() { return std::to_string(::getpid()); }
  envs::Array Obs() const { return {static_cast<float>(::getpid()), static_cast<float>(t_)}; }
  int t_ = 0;
  envs::Space obs_ = envs::Space::Box({0.0, 0.0}, {1e9, 10.0});
  envs::Space act_ = envs::Space::Discrete(2);
};

inline const char* kOwnProcessEnv = "test-OwnProcess-v0";

// Registers "test-OwnProcess-v0" once per process.
inline void RegisterOwnProcessEnv() {
  if (envs::EnvRegistry().Has(kOwnProcessEnv)) return;
  envs::RegisterEnv(
      envs::EnvRegistry(), kOwnProcessEnv, "test env: one instance per process, no snapshots", {},
      0, [](const core::Params&) { return std::make_unique<OwnProcessEnv>(); },
      core::FixedTraits({/*snapshot=*/false, /*own_process=*/true, 1000.0}));
}

}  // namespace linklab::testing
