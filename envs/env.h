#pragma once
// The Env API (DESIGN.md contract 1), mirroring Gymnasium 1.x:
//   Reset(seed) -> {obs, info}
//   Step(action) -> {obs, reward, terminated, truncated, info}
// terminated: the MDP reached a terminal state (no bootstrapping past it).
// truncated: an outside limit ended the episode (time limit); the value of the last state
// still counts. Stepping a finished episode, or before the first Reset, is an error.
// Reset(seed) restarts the env's generator from `seed`; Reset() continues it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "core/serialize.h"
#include "envs/space.h"

namespace linklab::envs {

// Named numbers an env reports besides the observation (episode statistics, link metrics).
// A flat list: cheap when empty, which is most steps.
class Info {
 public:
  void Set(const std::string& key, double value);
  bool Has(const std::string& key) const;
  double Get(const std::string& key) const;  // throws std::out_of_range when missing
  const std::vector<std::pair<std::string, double>>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  void Clear() { items_.clear(); }

 private:
  std::vector<std::pair<std::string, double>> items_;
};

struct ResetResult {
  Array obs;
  Info info;
};

struct StepResult {
  Array obs;
  double reward = 0.0;
  bool terminated = false;
  bool truncated = false;
  Info info;
  bool done() const { return terminated || truncated; }
};

// What an env says about its observations and actions beyond the spaces, for the policy
// artefact and ONNX export (models/policy.h): one name per observation element, the
// observation spec's canonical text and hash (sim/observation.h), and for a Discrete action
// space its table (columns, values row-major) and one name per action. Empty where the env
// has none.
struct EnvDescription {
  std::vector<std::string> features;
  std::string observation_spec, observation_spec_hash;
  std::vector<std::string> action_columns, action_names;
  std::vector<float> action_values;
  std::string action_spec;  // sim::ActionSpec::Text() of a shaping env's decoder
  double step_s = 0.0;      // seconds of the env's time per step (0: not a timed env)
};

class Env {
 public:
  virtual ~Env() = default;
  virtual ResetResult Reset(std::optional<uint64_t> seed = std::nullopt) = 0;
  virtual StepResult Step(const Array& action) = 0;
  virtual const Space& observation_space() const = 0;
  virtual const Space& action_space() const = 0;

  // Snapshots for checkpoints that resume a run exactly: the whole state (dynamics, generator,
  // wrapper counters). Envs that cannot be snapshotted (a running ns-3 simulation) keep the
  // default, which throws std::runtime_error saying so.
  virtual void SaveState(core::ByteWriter& out) const;
  virtual void LoadState(core::ByteReader& in);
  virtual EnvDescription Describe() const { return {}; }
};

// Base of concrete envs: owns the generator and enforces the contract (reset before step, no
// step after the end, actions inside the space, finite observations and rewards), so that
// subclasses implement only the dynamics.
class EnvBase : public Env {
 public:
  ResetResult Reset(std::optional<uint64_t> seed = std::nullopt) final;
  StepResult Step(const Array& action) final;
  void SaveState(core::ByteWriter& out) const final;
  void LoadState(core::ByteReader& in) final;

 protected:
  virtual ResetResult DoReset(core::Rng& rng) = 0;
  virtual StepResult DoStep(const Array& action) = 0;
  // The dynamics' own state; the default says the env cannot be snapshotted.
  virtual void SaveDynamics(core::ByteWriter& out) const;
  virtual void LoadDynamics(core::ByteReader& in);
  core::Rng& rng() { return rng_; }

 private:
  core::Rng rng_;
  bool seeded_ = false;
  bool started_ = false;
  bool done_ = false;
};

// Forwards everything to the wrapped env; wrappers override what they change.
class Wrapper : public Env {
 public:
  explicit Wrapper(std::unique_ptr<Env> env) : env_(std::move(env)) {}
  ResetResult Reset(std::optional<uint64_t> seed = std::nullopt) override {
    return env_->Reset(seed);
  }
  StepResult Step(const Array& action) override { return env_->Step(action); }
  const Space& observation_space() const override { return env_->observation_space(); }
  const Space& action_space() const override { return env_->action_space(); }
  void SaveState(core::ByteWriter& out) const override { env_->SaveState(out); }
  void LoadState(core::ByteReader& in) override { env_->LoadState(in); }
  EnvDescription Describe() const override { return env_->Describe(); }
  Env& inner() { return *env_; }

 protected:
  std::unique_ptr<Env> env_;
};

// Ends episodes after `max_steps` steps with truncated = true (Gymnasium's TimeLimit:
// truncated is set even when the last step also terminated).
class TimeLimit : public Wrapper {
 public:
  TimeLimit(std::unique_ptr<Env> env, int64_t max_steps);
  ResetResult Reset(std::optional<uint64_t> seed = std::nullopt) override;
  StepResult Step(const Array& action) override;
  void SaveState(core::ByteWriter& out) const override;
  void LoadState(core::ByteReader& in) override;

 private:
  int64_t max_steps_;
  int64_t elapsed_ = 0;
  bool done_ = false;
};

// On the last step of an episode adds "episode_return", "episode_length" and
// "episode_seconds" (wall time) to the info.
class EpisodeStatistics : public Wrapper {
 public:
  using Wrapper::Wrapper;
  ResetResult Reset(std::optional<uint64_t> seed = std::nullopt) override;
  StepResult Step(const Array& action) override;
  void SaveState(core::ByteWriter& out) const override;
  void LoadState(core::ByteReader& in) override;

 private:
  double return_ = 0.0;
  int64_t length_ = 0;
  double start_seconds_ = 0.0;
};

// Seed used when an env is reset without ever being given one (from the OS entropy source).
uint64_t EntropySeed();

}  // namespace linklab::envs
