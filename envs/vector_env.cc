#include "envs/vector_env.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace linklab::envs {

// ---------------------------------------------------------------------------------------------
// Autoreset and batching

void BatchedVectorEnv::Init(int num_envs, Space obs_space, Space act_space) {
  if (num_envs < 1) {
    throw std::invalid_argument("num_envs must be >= 1, got " + std::to_string(num_envs));
  }
  num_envs_ = num_envs;
  obs_space_ = std::move(obs_space);
  act_space_ = std::move(act_space);
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
  Init(num_envs, envs_[0]->observation_space(), envs_[0]->action_space());
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

// ---------------------------------------------------------------------------------------------
// Worker processes
//
// Parent -> worker: 'R' u8(has_seed) u64(seed) | 'S' float[action_size] | 'Q'
//                   | 'P' (snapshot) | 'L' u32 len bytes (restore)
// Worker -> parent: 'O' float[obs_size] f64(reward) u8(term) u8(trunc) u32(n) {u32 len, key, f64}
//                   'D' u32 len bytes (snapshot; empty after a restore)
//                   'E' u8(kind: 0 invalid_argument, 1 logic_error, 2 runtime_error) u32 len msg
// The first reply after the fork carries the spaces: 'H' u32 len, "<obs space>\n<act space>".

namespace {

void WriteAll(int fd, const std::string& buf) {
  size_t off = 0;
  while (off < buf.size()) {
    const ssize_t n = ::send(fd, buf.data() + off, buf.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("worker pipe closed");
    off += static_cast<size_t>(n);
  }
}

// Returns false on end of file before the first byte.
bool ReadAll(int fd, void* data, size_t size) {
  size_t off = 0;
  auto* p = static_cast<char*>(data);
  while (off < size) {
    const ssize_t n = ::recv(fd, p + off, size - off, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

template <typename T>
void Put(std::string& buf, const T& v) {
  buf.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

template <typename T>
T Take(int fd) {
  T v{};
  if (!ReadAll(fd, &v, sizeof(T))) throw std::runtime_error("worker pipe closed");
  return v;
}

std::string ReadString(int fd) {
  const auto len = Take<uint32_t>(fd);
  std::string msg(len, '\0');
  if (!ReadAll(fd, msg.data(), len)) throw std::runtime_error("worker pipe closed");
  return msg;
}

[[noreturn]] void WorkerLoop(int fd, const EnvFactory& factory) {
  std::unique_ptr<Env> env;
  std::string out;
  auto send_error = [&](char kind, const std::string& msg) {
    out.clear();
    Put(out, 'E');
    Put(out, kind);
    Put(out, static_cast<uint32_t>(msg.size()));
    out += msg;
    WriteAll(fd, out);
  };
  try {
    env = factory();
    const std::string spaces =
        env->observation_space().Encode() + "\n" + env->action_space().Encode();
    out.clear();
    Put(out, 'H');
    Put(out, static_cast<uint32_t>(spaces.size()));
    out += spaces;
    WriteAll(fd, out);
  } catch (const std::exception& e) {
    send_error(2, e.what());
    ::_exit(1);
  }
  const size_t act_size = static_cast<size_t>(env->action_space().size());
  Array action(act_size);
  for (;;) {
    char cmd;
    if (!ReadAll(fd, &cmd, 1) || cmd == 'Q') ::_exit(0);
    try {
      if (cmd == 'P' || cmd == 'L') {
        std::string state;
        if (cmd == 'P') {
          core::ByteWriter w;
          env->SaveState(w);
          state = w.data();
        } else {
          core::ByteReader r(ReadString(fd), "env state");
          env->LoadState(r);
          r.ExpectEnd();
        }
        out.clear();
        Put(out, 'D');
        Put(out, static_cast<uint32_t>(state.size()));
        out += state;
        WriteAll(fd, out);
        continue;
      }
      StepResult r;
      if (cmd == 'R') {
        const auto has_seed = Take<uint8_t>(fd);
        const auto seed = Take<uint64_t>(fd);
        ResetResult rr = env->Reset(has_seed ? std::optional<uint64_t>(seed) : std::nullopt);
        r.obs = std::move(rr.obs);
        r.info = std::move(rr.info);
      } else {
        if (!ReadAll(fd, action.data(), act_size * sizeof(float))) ::_exit(0);
        r = env->Step(action);
      }
      out.clear();
      Put(out, 'O');
      out.append(reinterpret_cast<const char*>(r.obs.data()), r.obs.size() * sizeof(float));
      Put(out, r.reward);
      Put(out, static_cast<uint8_t>(r.terminated));
      Put(out, static_cast<uint8_t>(r.truncated));
      Put(out, static_cast<uint32_t>(r.info.items().size()));
      for (const auto& [k, v] : r.info.items()) {
        Put(out, static_cast<uint32_t>(k.size()));
        out += k;
        Put(out, v);
      }
      WriteAll(fd, out);
    } catch (const std::invalid_argument& e) {
      send_error(0, e.what());
    } catch (const std::logic_error& e) {
      send_error(1, e.what());
    } catch (const std::exception& e) {
      send_error(2, e.what());
    }
  }
}

[[noreturn]] void ThrowRemote(int i, char kind, const std::string& msg) {
  const std::string text = "env " + std::to_string(i) + ": " + msg;
  if (kind == 0) throw std::invalid_argument(text);
  if (kind == 1) throw std::logic_error(text);
  throw std::runtime_error(text);
}

}  // namespace

ProcessVectorEnv::ProcessVectorEnv(const EnvFactory& factory, int num_envs) {
  if (num_envs < 1) {
    throw std::invalid_argument("num_envs must be >= 1, got " + std::to_string(num_envs));
  }
  for (int i = 0; i < num_envs; ++i) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      Shutdown();
      throw std::runtime_error(std::string("socketpair failed: ") + std::strerror(errno));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      Shutdown();
      throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
    }
    if (pid == 0) {
      ::close(fds[0]);
      for (const auto& w : workers_) ::close(w.fd);
      WorkerLoop(fds[1], factory);
    }
    ::close(fds[1]);
    workers_.push_back({pid, fds[0]});
  }
  // Every worker builds its env and replies with its spaces (no env is built in this process).
  std::exception_ptr error;
  std::string spaces;
  for (int i = 0; i < num_envs; ++i) {
    try {
      char tag;
      if (!ReadAll(workers_[i].fd, &tag, 1)) WorkerDied(i);
      if (tag == 'E') {
        const char kind = Take<char>(workers_[i].fd);
        ThrowRemote(i, kind, ReadString(workers_[i].fd));
      }
      spaces = ReadString(workers_[i].fd);  // same framing: u32 length, bytes
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  if (error) {
    Shutdown();
    std::rethrow_exception(error);
  }
  const size_t nl = spaces.find('\n');
  Init(num_envs, Space::Decode(spaces.substr(0, nl)), Space::Decode(spaces.substr(nl + 1)));
}

ProcessVectorEnv::~ProcessVectorEnv() { Shutdown(); }

void ProcessVectorEnv::Shutdown() {
  for (auto& w : workers_) {
    if (w.fd >= 0) {
      const char q = 'Q';
      ::send(w.fd, &q, 1, MSG_NOSIGNAL);
      ::close(w.fd);
      w.fd = -1;
    }
  }
  for (auto& w : workers_) {
    if (w.pid > 0) {
      int status;
      ::waitpid(w.pid, &status, 0);
      w.pid = -1;
    }
  }
}

void ProcessVectorEnv::WorkerDied(int i) const {
  int status = 0;
  std::string how = "closed its pipe";
  if (::waitpid(workers_[i].pid, &status, 0) == workers_[i].pid) {
    workers_[i].pid = -1;
    if (WIFSIGNALED(status))
      how = "was killed by signal " + std::to_string(WTERMSIG(status));
    else if (WIFEXITED(status))
      how = "exited with status " + std::to_string(WEXITSTATUS(status));
  }
  throw std::runtime_error("env " + std::to_string(i) + ": worker process " + how);
}

std::string ProcessVectorEnv::Exchange(int i, const std::string& request) const {
  const int fd = workers_[i].fd;
  try {
    WriteAll(fd, request);
  } catch (const std::runtime_error&) {
    WorkerDied(i);
  }
  char tag;
  if (!ReadAll(fd, &tag, 1)) WorkerDied(i);
  if (tag == 'E') {
    const char kind = Take<char>(fd);
    ThrowRemote(i, kind, ReadString(fd));
  }
  return ReadString(fd);
}

std::string ProcessVectorEnv::SaveSub(int i) const { return Exchange(i, "P"); }

void ProcessVectorEnv::LoadSub(int i, const std::string& data) {
  std::string request;
  Put(request, 'L');
  Put(request, static_cast<uint32_t>(data.size()));
  request += data;
  Exchange(i, request);
}

void ProcessVectorEnv::Begin(int i, const Command& c, VectorStep& out) {
  std::string buf;
  if (c.reset) {
    Put(buf, 'R');
    Put(buf, static_cast<uint8_t>(c.seed.has_value()));
    Put(buf, c.seed.value_or(0));
  } else {
    Put(buf, 'S');
    buf.append(reinterpret_cast<const char*>(c.action),
               static_cast<size_t>(single_action_space().size()) * sizeof(float));
  }
  try {
    WriteAll(workers_[i].fd, buf);
  } catch (const std::runtime_error&) {
    WorkerDied(i);
  }
}

void ProcessVectorEnv::Finish(int i, VectorStep& out) {
  const int fd = workers_[i].fd;
  char tag;
  if (!ReadAll(fd, &tag, 1)) WorkerDied(i);
  if (tag == 'E') {
    const char kind = Take<char>(fd);
    ThrowRemote(i, kind, ReadString(fd));
  }
  const int64_t obs_size = single_observation_space().size();
  float* obs = out.obs.data() + static_cast<size_t>(i) * obs_size;
  if (!ReadAll(fd, obs, static_cast<size_t>(obs_size) * sizeof(float))) WorkerDied(i);
  out.reward[i] = Take<double>(fd);
  out.terminated[i] = Take<uint8_t>(fd);
  out.truncated[i] = Take<uint8_t>(fd);
  const auto n = Take<uint32_t>(fd);
  Info info;
  for (uint32_t k = 0; k < n; ++k) {
    const auto len = Take<uint32_t>(fd);
    std::string key(len, '\0');
    if (!ReadAll(fd, key.data(), len)) WorkerDied(i);
    info.Set(key, Take<double>(fd));
  }
  out.info[i] = std::move(info);
}

// ---------------------------------------------------------------------------------------------
// Normalisation

RunningMeanStd::RunningMeanStd(int64_t size) : mean_(size, 0.0), var_(size, 1.0) {}

void RunningMeanStd::Update(const float* batch, int64_t rows) {
  const size_t dim = mean_.size();
  if (rows <= 0 || dim == 0) return;
  std::vector<double> bmean(dim, 0.0), bvar(dim, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < dim; ++j) bmean[j] += batch[r * dim + j];
  }
  for (auto& m : bmean) m /= rows;
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < dim; ++j) {
      const double d = batch[r * dim + j] - bmean[j];
      bvar[j] += d * d;
    }
  }
  for (auto& v : bvar) v /= rows;
  const double total = count_ + rows;
  for (size_t j = 0; j < dim; ++j) {
    const double delta = bmean[j] - mean_[j];
    const double m2 = var_[j] * count_ + bvar[j] * rows + delta * delta * count_ * rows / total;
    mean_[j] += delta * rows / total;
    var_[j] = m2 / total;
  }
  count_ = total;
}

void RunningMeanStd::Write(core::ByteWriter& out) const {
  out.PutVector(mean_);
  out.PutVector(var_);
  out.Put(count_);
}

void RunningMeanStd::Read(core::ByteReader& in) {
  auto mean = in.GetVector<double>();
  auto var = in.GetVector<double>();
  const double count = in.Get<double>();
  if (mean.size() != mean_.size() || var.size() != var_.size()) {
    throw std::runtime_error("normaliser statistics have " + std::to_string(mean.size()) +
                             " elements, this env needs " + std::to_string(mean_.size()));
  }
  mean_ = std::move(mean);
  var_ = std::move(var);
  count_ = count;
}

NormalizeObservation::NormalizeObservation(std::unique_ptr<VectorEnv> env, double clip, double eps)
    : VectorWrapper(std::move(env)),
      rms_(env_->single_observation_space().size()),
      clip_(clip),
      eps_(eps) {}

void NormalizeObservation::Apply(float* obs, int64_t rows) const {
  const size_t dim = rms_.mean().size();
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < dim; ++j) {
      double v = (obs[r * dim + j] - rms_.mean()[j]) / std::sqrt(rms_.var()[j] + eps_);
      obs[r * dim + j] = static_cast<float>(std::clamp(v, -clip_, clip_));
    }
  }
}

const VectorStep& NormalizeObservation::Transform(const VectorStep& raw) {
  out_ = raw;
  if (training_) rms_.Update(raw.obs.data(), num_envs());
  Apply(out_.obs.data(), num_envs());
  return out_;
}

std::string NormalizeObservation::SaveState() const {
  core::ByteWriter w;
  rms_.Write(w);
  w.Put(training_);
  w.PutString(env_->SaveState());
  return w.data();
}

void NormalizeObservation::LoadState(const std::string& data) {
  core::ByteReader r(data, "observation normaliser state");
  rms_.Read(r);
  training_ = r.Get<bool>();
  env_->LoadState(r.GetString());
  r.ExpectEnd();
}

const VectorStep& NormalizeObservation::Reset(std::optional<uint64_t> seed) {
  return Transform(env_->Reset(seed));
}

const VectorStep& NormalizeObservation::Step(const Array& actions) {
  return Transform(env_->Step(actions));
}

ScaleReward::ScaleReward(std::unique_ptr<VectorEnv> env, double gamma, double clip, double eps)
    : VectorWrapper(std::move(env)),
      rms_(1),
      gamma_(gamma),
      clip_(clip),
      eps_(eps),
      returns_(env_->num_envs(), 0.0),
      was_done_(env_->num_envs(), 0) {}

std::string ScaleReward::SaveState() const {
  core::ByteWriter w;
  rms_.Write(w);
  w.Put(training_);
  w.PutVector(returns_);
  w.PutVector(was_done_);
  w.PutString(env_->SaveState());
  return w.data();
}

void ScaleReward::LoadState(const std::string& data) {
  core::ByteReader r(data, "reward scaler state");
  rms_.Read(r);
  training_ = r.Get<bool>();
  returns_ = r.GetVector<double>();
  was_done_ = r.GetVector<uint8_t>();
  env_->LoadState(r.GetString());
  r.ExpectEnd();
}

const VectorStep& ScaleReward::Reset(std::optional<uint64_t> seed) {
  std::fill(returns_.begin(), returns_.end(), 0.0);
  std::fill(was_done_.begin(), was_done_.end(), 0);
  out_ = env_->Reset(seed);
  return out_;
}

const VectorStep& ScaleReward::Step(const Array& actions) {
  out_ = env_->Step(actions);
  const int n = num_envs();
  std::vector<float> batch(n);
  for (int i = 0; i < n; ++i) {
    returns_[i] = (was_done_[i] ? 0.0 : returns_[i] * gamma_) + out_.reward[i];
    was_done_[i] = out_.terminated[i] || out_.truncated[i];
    batch[i] = static_cast<float>(returns_[i]);
  }
  if (training_) rms_.Update(batch.data(), n);
  const double scale = 1.0 / std::sqrt(rms_.var()[0] + eps_);
  for (int i = 0; i < n; ++i) out_.reward[i] = std::clamp(out_.reward[i] * scale, -clip_, clip_);
  return out_;
}

}  // namespace linklab::envs
