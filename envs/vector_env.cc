// Vector envs: the shared autoreset and batching logic (BatchedVectorEnv) and the in-process
// SyncVectorEnv. Worker processes are in process_vector_env.cc, normalisers in normalize.cc.

#include "envs/vector_env.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace linklab::envs {

// ---------------------------------------------------------------------------------------------
// Autoreset and batching

void BatchedVectorEnv::Init(int num_envs, Space obs_space, Space act_space,
                            EnvDescription description) {
  if (num_envs < 1) {
    throw std::invalid_argument("num_envs must be >= 1, got " + std::to_string(num_envs));
  }
  num_envs_ = num_envs;
  obs_space_ = std::move(obs_space);
  act_space_ = std::move(act_space);
  description_ = std::move(description);
  result_.obs.assign(static_cast<size_t>(num_envs) * obs_space_.size(), 0.0f);
  result_.reward.assign(num_envs, 0.0);
  result_.terminated.assign(num_envs, 0);
  result_.truncated.assign(num_envs, 0);
  result_.info.assign(num_envs, Info());
  autoreset_.assign(num_envs, 0);
}

void BatchedVectorEnv::WriteSlot(VectorStep& out, int i, const Array& obs, double reward,
                                 bool terminated, bool truncated, Info info) const {
  std::copy(obs.begin(), obs.end(), out.obs.begin() + static_cast<size_t>(i) * obs_space_.size());
  out.reward[i] = reward;
  out.terminated[i] = terminated;
  out.truncated[i] = truncated;
  out.info[i] = std::move(info);
}

void BatchedVectorEnv::RunAll(const std::vector<Command>& commands) {
  for (int i = 0; i < num_envs_; ++i) Begin(i, commands[i], result_);
  // Finish every sub-env even after an error, so that no worker is left with an unread reply.
  std::exception_ptr error;
  for (int i = 0; i < num_envs_; ++i) {
    try {
      Finish(i, result_);
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  if (error) {
    started_ = false;
    std::rethrow_exception(error);
  }
}

const VectorStep& BatchedVectorEnv::Reset(std::optional<uint64_t> seed) {
  std::vector<Command> commands(num_envs_);
  for (int i = 0; i < num_envs_; ++i) {
    commands[i].reset = true;
    if (seed) commands[i].seed = *seed + static_cast<uint64_t>(i);
  }
  RunAll(commands);
  std::fill(autoreset_.begin(), autoreset_.end(), 0);
  started_ = true;
  return result_;
}

const VectorStep& BatchedVectorEnv::Step(const Array& actions) {
  if (!started_) throw std::logic_error("VectorEnv::Step() called before Reset()");
  const int64_t act_size = act_space_.size();
  if (static_cast<int64_t>(actions.size()) != num_envs_ * act_size) {
    throw std::invalid_argument("vector env expects " + std::to_string(num_envs_ * act_size) +
                                " action values (" + std::to_string(num_envs_) + " envs x " +
                                std::to_string(act_size) + "), got " +
                                std::to_string(actions.size()));
  }
  std::vector<Command> commands(num_envs_);
  for (int i = 0; i < num_envs_; ++i) {
    commands[i].reset = autoreset_[i] != 0;
    commands[i].action = actions.data() + static_cast<size_t>(i) * act_size;
  }
  RunAll(commands);
  for (int i = 0; i < num_envs_; ++i) {
    autoreset_[i] = result_.terminated[i] || result_.truncated[i];
  }
  return result_;
}

std::string BatchedVectorEnv::SaveState() const {
  core::ByteWriter w;
  w.Put<int32_t>(num_envs_);
  w.Put(started_);
  w.PutVector(autoreset_);
  w.PutVector(result_.obs);
  w.PutVector(result_.reward);
  w.PutVector(result_.terminated);
  w.PutVector(result_.truncated);
  for (int i = 0; i < num_envs_; ++i) w.PutString(SaveSub(i));
  return w.data();
}

void BatchedVectorEnv::LoadState(const std::string& data) {
  core::ByteReader r(data, "vector env state");
  const auto n = r.Get<int32_t>();
  if (n != num_envs_) {
    throw std::runtime_error("vector env state has " + std::to_string(n) + " envs, this one has " +
                             std::to_string(num_envs_));
  }
  started_ = r.Get<bool>();
  autoreset_ = r.GetVector<uint8_t>();
  result_.obs = r.GetVector<float>();
  result_.reward = r.GetVector<double>();
  result_.terminated = r.GetVector<uint8_t>();
  result_.truncated = r.GetVector<uint8_t>();
  for (int i = 0; i < num_envs_; ++i) LoadSub(i, r.GetString());
  r.ExpectEnd();
}

// ---------------------------------------------------------------------------------------------
// In-process

SyncVectorEnv::SyncVectorEnv(const EnvFactory& factory, int num_envs) {
  if (num_envs < 1) {
    throw std::invalid_argument("num_envs must be >= 1, got " + std::to_string(num_envs));
  }
  for (int i = 0; i < num_envs; ++i) envs_.push_back(factory());
  Init(num_envs, envs_[0]->observation_space(), envs_[0]->action_space(), envs_[0]->Describe());
}

void SyncVectorEnv::Begin(int i, const Command& c, VectorStep& out) {
  Env& env = *envs_[i];
  if (c.reset) {
    ResetResult r = env.Reset(c.seed);
    WriteSlot(out, i, r.obs, 0.0, false, false, std::move(r.info));
  } else {
    const int64_t n = single_action_space().size();
    StepResult r = env.Step(Array(c.action, c.action + n));
    WriteSlot(out, i, r.obs, r.reward, r.terminated, r.truncated, std::move(r.info));
  }
}

std::string SyncVectorEnv::SaveSub(int i) const {
  core::ByteWriter w;
  envs_[i]->SaveState(w);
  return w.data();
}

void SyncVectorEnv::LoadSub(int i, const std::string& data) {
  core::ByteReader r(data, "env " + std::to_string(i) + " state");
  envs_[i]->LoadState(r);
  r.ExpectEnd();
}

}  // namespace linklab::envs
