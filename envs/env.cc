#include "envs/env.h"

#include <chrono>
#include <cmath>
#include <random>
#include <stdexcept>

namespace linklab::envs {

void Info::Set(const std::string& key, double value) {
  for (auto& [k, v] : items_) {
    if (k == key) {
      v = value;
      return;
    }
  }
  items_.emplace_back(key, value);
}

bool Info::Has(const std::string& key) const {
  for (const auto& item : items_) {
    if (item.first == key) return true;
  }
  return false;
}

double Info::Get(const std::string& key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return v;
  }
  throw std::out_of_range("info has no key '" + key + "'");
}

uint64_t EntropySeed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}

void Env::SaveState(core::ByteWriter&) const {
  throw std::runtime_error("this env cannot be snapshotted, so a run on it cannot resume exactly");
}

void Env::LoadState(core::ByteReader&) {
  throw std::runtime_error("this env cannot be snapshotted, so a run on it cannot resume exactly");
}

void EnvBase::SaveDynamics(core::ByteWriter& out) const { Env::SaveState(out); }
void EnvBase::LoadDynamics(core::ByteReader& in) { Env::LoadState(in); }

void EnvBase::SaveState(core::ByteWriter& out) const {
  out.Put(rng_);
  out.Put(seeded_);
  out.Put(started_);
  out.Put(done_);
  SaveDynamics(out);
}

void EnvBase::LoadState(core::ByteReader& in) {
  rng_ = in.Get<core::Rng>();
  seeded_ = in.Get<bool>();
  started_ = in.Get<bool>();
  done_ = in.Get<bool>();
  LoadDynamics(in);
}

ResetResult EnvBase::Reset(std::optional<uint64_t> seed) {
  if (seed) {
    rng_.Seed(*seed);
  } else if (!seeded_) {
    rng_.Seed(EntropySeed());
  }
  seeded_ = true;
  started_ = true;
  done_ = false;
  ResetResult r = DoReset(rng_);
  for (size_t i = 0; i < r.obs.size(); ++i) {
    if (!std::isfinite(r.obs[i])) {
      throw std::runtime_error("env reset produced a non-finite observation element " +
                               std::to_string(i) + ": " + ArrayText(r.obs));
    }
  }
  return r;
}

StepResult EnvBase::Step(const Array& action) {
  if (!started_) throw std::logic_error("Step() called before Reset()");
  if (done_) {
    throw std::logic_error(
        "Step() called on a finished episode (terminated or truncated); "
        "call Reset() first");
  }
  if (!action_space().Contains(action)) {
    throw std::invalid_argument("action " + ArrayText(action) + " is not in the action space " +
                                action_space().ToString() + ": " + action_space().Mismatch(action));
  }
  StepResult r = DoStep(action);
  if (!std::isfinite(r.reward)) {
    throw std::runtime_error("env step produced a non-finite reward (" + std::to_string(r.reward) +
                             ")");
  }
  for (size_t i = 0; i < r.obs.size(); ++i) {
    if (!std::isfinite(r.obs[i])) {
      throw std::runtime_error("env step produced a non-finite observation element " +
                               std::to_string(i) + ": " + ArrayText(r.obs));
    }
  }
  done_ = r.terminated || r.truncated;
  return r;
}

TimeLimit::TimeLimit(std::unique_ptr<Env> env, int64_t max_steps)
    : Wrapper(std::move(env)), max_steps_(max_steps) {
  if (max_steps < 1) {
    throw std::invalid_argument("max_episode_steps must be >= 1, got " + std::to_string(max_steps));
  }
}

ResetResult TimeLimit::Reset(std::optional<uint64_t> seed) {
  elapsed_ = 0;
  done_ = false;
  return env_->Reset(seed);
}

StepResult TimeLimit::Step(const Array& action) {
  if (done_) {
    throw std::logic_error(
        "Step() called on a finished episode (truncated by the time limit); "
        "call Reset() first");
  }
  StepResult r = env_->Step(action);
  if (++elapsed_ >= max_steps_) r.truncated = true;
  done_ = r.done();
  return r;
}

void TimeLimit::SaveState(core::ByteWriter& out) const {
  out.Put(elapsed_);
  out.Put(done_);
  env_->SaveState(out);
}

void TimeLimit::LoadState(core::ByteReader& in) {
  elapsed_ = in.Get<int64_t>();
  done_ = in.Get<bool>();
  env_->LoadState(in);
}

static double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

ResetResult EpisodeStatistics::Reset(std::optional<uint64_t> seed) {
  return_ = 0.0;
  length_ = 0;
  start_seconds_ = NowSeconds();
  return env_->Reset(seed);
}

StepResult EpisodeStatistics::Step(const Array& action) {
  StepResult r = env_->Step(action);
  return_ += r.reward;
  ++length_;
  if (r.done()) {
    r.info.Set("episode_return", return_);
    r.info.Set("episode_length", static_cast<double>(length_));
    r.info.Set("episode_seconds", NowSeconds() - start_seconds_);
  }
  return r;
}

}  // namespace linklab::envs

namespace linklab::envs {

void EpisodeStatistics::SaveState(core::ByteWriter& out) const {
  out.Put(return_);
  out.Put(length_);
  env_->SaveState(out);
}

void EpisodeStatistics::LoadState(core::ByteReader& in) {
  return_ = in.Get<double>();
  length_ = in.Get<int64_t>();
  start_seconds_ = NowSeconds();  // wall time does not resume
  env_->LoadState(in);
}

}  // namespace linklab::envs
