// ProcessVectorEnv: one worker process per sub-env (fork), commands over a socket pair.
//
// Every message, both ways, is one frame: a u64 length and that many bytes, written and read
// with core::ByteWriter / core::ByteReader (core/serialize.h). Payloads, first field a char tag:
//   parent -> worker: 'R' bool(has_seed) u64(seed)     reset
//                     'S' vector<float>(action)        step
//                     'P'                              snapshot
//                     'L' string(state)                restore
//                     'Q'                              quit
//   worker -> parent: 'H' string(obs space) string(act space) description   first reply after
//                     the fork; description: string[] features, string spec, string hash,
//                     string[] action columns, string[] action names, float32[] action values
//                     'O' vector<float>(obs) f64(reward) u8(terminated) u8(truncated)
//                         u64(n) n x {string(key) f64(value)}   reset or step result
//                     'D' string(state)                snapshot (empty after a restore)
//                     'E' u8(kind: 0 invalid_argument, 1 logic_error, 2 runtime_error)
//                         string(message)

#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "envs/vector_env.h"

namespace linklab::envs {

namespace {

// Frames larger than this are refused as corrupt (a snapshot of an env is far smaller).
constexpr uint64_t kMaxFrameBytes = uint64_t{1} << 32;

// Writes `buf` whole; false when the other end is gone.
bool WriteAll(int fd, const std::string& buf) {
  size_t off = 0;
  while (off < buf.size()) {
    const ssize_t n = ::send(fd, buf.data() + off, buf.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads `size` bytes; false on end of file or error before they all came.
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

// Sends the message `msg` holds as one frame; false when the other end is gone.
bool SendMessage(int fd, const core::ByteWriter& msg) {
  core::ByteWriter frame;
  frame.PutString(msg.data());
  return WriteAll(fd, frame.data());
}

// Receives one frame into `msg`; false when the other end closed before a whole frame came.
bool ReceiveMessage(int fd, std::string& msg) {
  uint64_t size = 0;
  if (!ReadAll(fd, &size, sizeof size)) return false;
  if (size > kMaxFrameBytes) {
    throw std::runtime_error("worker message of " + std::to_string(size) + " bytes: corrupt");
  }
  msg.resize(size);
  return ReadAll(fd, msg.data(), size);
}

core::ByteWriter ErrorMessage(uint8_t kind, const std::string& text) {
  core::ByteWriter w;
  w.Put('E');
  w.Put(kind);
  w.PutString(text);
  return w;
}

void PutStrings(core::ByteWriter& w, const std::vector<std::string>& v) {
  w.Put<uint64_t>(v.size());
  for (const std::string& s : v) w.PutString(s);
}

std::vector<std::string> GetStrings(core::ByteReader& r) {
  const auto n = r.Get<uint64_t>();
  std::vector<std::string> out;
  for (uint64_t i = 0; i < n && out.size() < (1u << 20); ++i) out.push_back(r.GetString());
  return out;
}

[[noreturn]] void WorkerLoop(int fd, const EnvFactory& factory) {
  std::unique_ptr<Env> env;
  try {
    env = factory();
    core::ByteWriter hello;
    hello.Put('H');
    hello.PutString(env->observation_space().Encode());
    hello.PutString(env->action_space().Encode());
    const EnvDescription d = env->Describe();
    PutStrings(hello, d.features);
    hello.PutString(d.observation_spec);
    hello.PutString(d.observation_spec_hash);
    PutStrings(hello, d.action_columns);
    PutStrings(hello, d.action_names);
    hello.PutVector(d.action_values);
    hello.PutString(d.action_spec);
    hello.PutVector(std::vector<double>{d.step_s});
    SendMessage(fd, hello);
  } catch (const std::exception& e) {
    SendMessage(fd, ErrorMessage(2, e.what()));
    ::_exit(1);
  }
  const size_t act_size = static_cast<size_t>(env->action_space().size());
  std::string request;
  for (;;) {
    try {
      if (!ReceiveMessage(fd, request)) ::_exit(0);
    } catch (const std::exception&) {
      ::_exit(1);  // a broken frame from the parent: the parent reports this worker as gone
    }
    core::ByteWriter reply;
    try {
      core::ByteReader in(request, "worker request");
      const char cmd = in.Get<char>();
      if (cmd == 'Q') ::_exit(0);
      if (cmd == 'P' || cmd == 'L') {
        std::string state;
        if (cmd == 'P') {
          core::ByteWriter w;
          env->SaveState(w);
          state = w.data();
        } else {
          core::ByteReader r(in.GetString(), "env state");
          env->LoadState(r);
          r.ExpectEnd();
        }
        in.ExpectEnd();
        reply.Put('D');
        reply.PutString(state);
      } else {
        StepResult r;
        if (cmd == 'R') {
          const bool has_seed = in.Get<bool>();
          const auto seed = in.Get<uint64_t>();
          in.ExpectEnd();
          ResetResult rr = env->Reset(has_seed ? std::optional<uint64_t>(seed) : std::nullopt);
          r.obs = std::move(rr.obs);
          r.info = std::move(rr.info);
        } else if (cmd == 'S') {
          const Array action = in.GetVector<float>();
          in.ExpectEnd();
          if (action.size() != act_size) {
            throw std::runtime_error("worker got " + std::to_string(action.size()) +
                                     " action values, expects " + std::to_string(act_size));
          }
          r = env->Step(action);
        } else {
          throw std::runtime_error(std::string("unknown worker command '") + cmd + "'");
        }
        reply.Put('O');
        reply.PutVector(r.obs);
        reply.Put(r.reward);
        reply.Put(static_cast<uint8_t>(r.terminated));
        reply.Put(static_cast<uint8_t>(r.truncated));
        reply.Put<uint64_t>(r.info.items().size());
        for (const auto& [k, v] : r.info.items()) {
          reply.PutString(k);
          reply.Put(v);
        }
      }
    } catch (const std::invalid_argument& e) {
      reply = ErrorMessage(0, e.what());
    } catch (const std::logic_error& e) {
      reply = ErrorMessage(1, e.what());
    } catch (const std::exception& e) {
      reply = ErrorMessage(2, e.what());
    }
    if (!SendMessage(fd, reply)) ::_exit(0);
  }
}

[[noreturn]] void ThrowRemote(int i, uint8_t kind, const std::string& msg) {
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
  std::string obs_space, act_space;
  EnvDescription description;
  for (int i = 0; i < num_envs; ++i) {
    try {
      core::ByteReader in = Receive(i, 'H');
      obs_space = in.GetString();
      act_space = in.GetString();
      description.features = GetStrings(in);
      description.observation_spec = in.GetString();
      description.observation_spec_hash = in.GetString();
      description.action_columns = GetStrings(in);
      description.action_names = GetStrings(in);
      description.action_values = in.GetVector<float>();
      description.action_spec = in.GetString();
      description.step_s = in.GetVector<double>().at(0);
      in.ExpectEnd();
    } catch (...) {
      if (!error) error = std::current_exception();
    }
  }
  if (error) {
    Shutdown();
    std::rethrow_exception(error);
  }
  Init(num_envs, Space::Decode(obs_space), Space::Decode(act_space), std::move(description));
}

ProcessVectorEnv::~ProcessVectorEnv() { Shutdown(); }

void ProcessVectorEnv::Shutdown() {
  core::ByteWriter quit;
  quit.Put('Q');
  for (auto& w : workers_) {
    if (w.fd >= 0) {
      SendMessage(w.fd, quit);
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

void ProcessVectorEnv::Send(int i, const core::ByteWriter& msg) const {
  if (!SendMessage(workers_[i].fd, msg)) WorkerDied(i);
}

core::ByteReader ProcessVectorEnv::Receive(int i, char expected) const {
  std::string msg;
  if (!ReceiveMessage(workers_[i].fd, msg)) WorkerDied(i);
  core::ByteReader in(std::move(msg), "env " + std::to_string(i) + " worker reply");
  const char tag = in.Get<char>();
  if (tag == 'E') {
    const auto kind = in.Get<uint8_t>();
    ThrowRemote(i, kind, in.GetString());
  }
  if (tag != expected) {
    throw std::runtime_error("env " + std::to_string(i) + ": worker replied '" +
                             std::string(1, tag) + "', expected '" + expected + "'");
  }
  return in;
}

std::string ProcessVectorEnv::SaveSub(int i) const {
  core::ByteWriter request;
  request.Put('P');
  Send(i, request);
  core::ByteReader in = Receive(i, 'D');
  std::string state = in.GetString();
  in.ExpectEnd();
  return state;
}

void ProcessVectorEnv::LoadSub(int i, const std::string& data) {
  core::ByteWriter request;
  request.Put('L');
  request.PutString(data);
  Send(i, request);
  Receive(i, 'D');
}

void ProcessVectorEnv::Begin(int i, const Command& c, VectorStep& out) {
  core::ByteWriter request;
  if (c.reset) {
    request.Put('R');
    request.Put(c.seed.has_value());
    request.Put<uint64_t>(c.seed.value_or(0));
  } else {
    request.Put('S');
    request.PutVector(Array(c.action, c.action + single_action_space().size()));
  }
  Send(i, request);
}

void ProcessVectorEnv::Finish(int i, VectorStep& out) {
  core::ByteReader in = Receive(i, 'O');
  const Array obs = in.GetVector<float>();
  if (static_cast<int64_t>(obs.size()) != single_observation_space().size()) {
    throw std::runtime_error("env " + std::to_string(i) + ": worker sent " +
                             std::to_string(obs.size()) + " observation values, expected " +
                             std::to_string(single_observation_space().size()));
  }
  const auto reward = in.Get<double>();
  const auto terminated = in.Get<uint8_t>();
  const auto truncated = in.Get<uint8_t>();
  const auto n = in.Get<uint64_t>();
  Info info;
  for (uint64_t k = 0; k < n; ++k) {
    std::string key = in.GetString();
    info.Set(key, in.Get<double>());
  }
  in.ExpectEnd();
  WriteSlot(out, i, obs, reward, terminated != 0, truncated != 0, std::move(info));
}

}  // namespace linklab::envs
