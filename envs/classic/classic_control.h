#pragma once
// Exact C++ ports of Gymnasium 1.x classic control (gymnasium/envs/classic_control): the same
// constants, integrators, termination and rewards, used to validate the agents against
// published results. Internal state is float64 as in Gymnasium; observations are float32.
// Time limits (500 / 500 / 200 / 200 steps) come from the registry's max_episode_steps.

#include <array>

#include "envs/env.h"

namespace linklab::envs::classic {

// Pole on a cart; actions {0: push left, 1: push right}; +1 per step until |x| > 2.4 or
// |theta| > 12 degrees. State (x, x_dot, theta, theta_dot).
class CartPole : public EnvBase {
 public:
  CartPole();
  const Space& observation_space() const override { return obs_space_; }
  const Space& action_space() const override { return act_space_; }
  void set_state(const std::array<double, 4>& s) { state_ = s; }
  const std::array<double, 4>& state() const { return state_; }

 protected:
  ResetResult DoReset(core::Rng& rng) override;
  StepResult DoStep(const Array& action) override;
  void SaveDynamics(core::ByteWriter& out) const override { out.Put(state_); }
  void LoadDynamics(core::ByteReader& in) override { state_ = in.Get<decltype(state_)>(); }

 private:
  Array Observation() const;
  Space obs_space_, act_space_;
  std::array<double, 4> state_{};
};

// Two-link underactuated pendulum ("book" dynamics, RK4 over dt = 0.2); torques {-1, 0, +1};
// -1 per step until the tip rises one link length above the base. State (th1, th2, dth1, dth2).
class Acrobot : public EnvBase {
 public:
  Acrobot();
  const Space& observation_space() const override { return obs_space_; }
  const Space& action_space() const override { return act_space_; }
  void set_state(const std::array<double, 4>& s) { state_ = s; }
  const std::array<double, 4>& state() const { return state_; }
  // Time derivative of (th1, th2, dth1, dth2) under torque `a`.
  static std::array<double, 4> Derivatives(const std::array<double, 4>& s, double a);

 protected:
  ResetResult DoReset(core::Rng& rng) override;
  StepResult DoStep(const Array& action) override;
  void SaveDynamics(core::ByteWriter& out) const override { out.Put(state_); }
  void LoadDynamics(core::ByteReader& in) override { state_ = in.Get<decltype(state_)>(); }

 private:
  Array Observation() const;
  Space obs_space_, act_space_;
  std::array<double, 4> state_{};
};

// Under-powered car in a valley; actions {0: left, 1: none, 2: right}; -1 per step until the
// car reaches position 0.5. State (position, velocity).
class MountainCar : public EnvBase {
 public:
  MountainCar();
  const Space& observation_space() const override { return obs_space_; }
  const Space& action_space() const override { return act_space_; }
  void set_state(const std::array<double, 2>& s) { state_ = s; }
  const std::array<double, 2>& state() const { return state_; }

 protected:
  ResetResult DoReset(core::Rng& rng) override;
  StepResult DoStep(const Array& action) override;
  void SaveDynamics(core::ByteWriter& out) const override { out.Put(state_); }
  void LoadDynamics(core::ByteReader& in) override { state_ = in.Get<decltype(state_)>(); }

 private:
  Space obs_space_, act_space_;
  std::array<double, 2> state_{};
};

// Inverted pendulum swing-up; continuous torque in [-2, 2]; reward -(angle^2 + 0.1 w^2 +
// 0.001 u^2); never terminates. State (theta, theta_dot); `g` is gravity (default 10).
class Pendulum : public EnvBase {
 public:
  explicit Pendulum(double g = 10.0);
  const Space& observation_space() const override { return obs_space_; }
  const Space& action_space() const override { return act_space_; }
  void set_state(const std::array<double, 2>& s) { state_ = s; }
  const std::array<double, 2>& state() const { return state_; }

 protected:
  ResetResult DoReset(core::Rng& rng) override;
  StepResult DoStep(const Array& action) override;
  void SaveDynamics(core::ByteWriter& out) const override { out.Put(state_); }
  void LoadDynamics(core::ByteReader& in) override { state_ = in.Get<decltype(state_)>(); }

 private:
  Array Observation() const;
  double g_;
  Space obs_space_, act_space_;
  std::array<double, 2> state_{};
};

}  // namespace linklab::envs::classic
