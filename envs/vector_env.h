#pragma once
// Vector envs: N copies of one env stepped together, with batched (flat, row-major) arrays.
//
// Autoreset follows Gymnasium 1.x "next-step" mode: when sub-env i ends an episode at step t
// (terminated or truncated), step t returns that episode's last observation, reward and
// flags. On step t+1 sub-env i is reset instead of stepped: its action is ignored and it
// returns the first observation of the new episode with reward 0, terminated = truncated =
// false and the reset's info. Agents therefore skip the transition that follows a done flag.
//
// Reset(seed) seeds sub-env i with seed + i; Reset() continues each sub-env's generator.
// Two implementations: SyncVectorEnv steps in-process (cheap envs) and ProcessVectorEnv runs
// one env per worker process (ns-3 allows one simulator per process).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envs/env.h"

namespace linklab::envs {

// One batch of results. Reset fills obs and info and zeros the rest.
struct VectorStep {
  Array obs;                                   // num_envs * obs_size
  std::vector<double> reward;                  // num_envs
  std::vector<uint8_t> terminated, truncated;  // num_envs, 0 or 1
  std::vector<Info> info;                      // num_envs
};

class VectorEnv {
 public:
  virtual ~VectorEnv() = default;
  virtual int num_envs() const = 0;
  virtual const Space& single_observation_space() const = 0;
  virtual const Space& single_action_space() const = 0;
  // Results stay valid until the next Reset or Step.
  virtual const VectorStep& Reset(std::optional<uint64_t> seed = std::nullopt) = 0;
  // `actions` holds num_envs * action_size floats.
  virtual const VectorStep& Step(const Array& actions) = 0;
  // The whole state (every sub-env, autoreset flags, normaliser statistics), so a checkpoint
  // resumes a run exactly. Throws std::runtime_error for envs that cannot be snapshotted.
  virtual std::string SaveState() const = 0;
  virtual void LoadState(const std::string& data) = 0;
  // The sub-envs' description (Env::Describe of the first; they share one config).
  virtual const EnvDescription& description() const = 0;
};

using EnvFactory = std::function<std::unique_ptr<Env>()>;

// Shared autoreset and batching logic; subclasses start and finish one sub-env's command.
class BatchedVectorEnv : public VectorEnv {
 public:
  int num_envs() const override { return num_envs_; }
  const Space& single_observation_space() const override { return obs_space_; }
  const Space& single_action_space() const override { return act_space_; }
  const EnvDescription& description() const override { return description_; }
  const VectorStep& Reset(std::optional<uint64_t> seed = std::nullopt) override;
  const VectorStep& Step(const Array& actions) override;
  std::string SaveState() const override;
  void LoadState(const std::string& data) override;

 protected:
  struct Command {
    bool reset = false;
    std::optional<uint64_t> seed;
    const float* action = nullptr;  // action_size floats when stepping
  };
  void Init(int num_envs, Space obs_space, Space act_space, EnvDescription description);
  // Starts command `c` on sub-env i; may complete it at once, writing slot i of `out`.
  virtual void Begin(int i, const Command& c, VectorStep& out) = 0;
  // Completes sub-env i's command, writing slot i of `out`.
  virtual void Finish(int i, VectorStep& out) {}
  // Snapshot of sub-env i (Env::SaveState bytes) and its restoration.
  virtual std::string SaveSub(int i) const = 0;
  virtual void LoadSub(int i, const std::string& data) = 0;
  // Writes one sub-env's result into slot i.
  void WriteSlot(VectorStep& out, int i, const Array& obs, double reward, bool terminated,
                 bool truncated, Info info) const;

 private:
  void RunAll(const std::vector<Command>& commands);

  int num_envs_ = 0;
  Space obs_space_, act_space_;
  EnvDescription description_;
  VectorStep result_;
  std::vector<uint8_t> autoreset_;
  bool started_ = false;
};

// Steps every sub-env in this process, one after another.
class SyncVectorEnv : public BatchedVectorEnv {
 public:
  SyncVectorEnv(const EnvFactory& factory, int num_envs);

 protected:
  void Begin(int i, const Command& c, VectorStep& out) override;
  std::string SaveSub(int i) const override;
  void LoadSub(int i, const std::string& data) override;

 private:
  std::vector<std::unique_ptr<Env>> envs_;
};

// One worker process per sub-env (fork), commands over a socket pair (protocol in
// process_vector_env.cc). The factory runs in the worker, after the fork; errors inside a
// worker come back as the same exception type with the sub-env index; a worker that dies is
// reported with its exit status.
class ProcessVectorEnv : public BatchedVectorEnv {
 public:
  ProcessVectorEnv(const EnvFactory& factory, int num_envs);
  ~ProcessVectorEnv() override;

 protected:
  void Begin(int i, const Command& c, VectorStep& out) override;
  void Finish(int i, VectorStep& out) override;
  std::string SaveSub(int i) const override;
  void LoadSub(int i, const std::string& data) override;

 private:
  struct Worker {
    int pid = -1;
    int fd = -1;
  };
  [[noreturn]] void WorkerDied(int i) const;
  // Sends one message to worker i (a dead worker is reported).
  void Send(int i, const core::ByteWriter& msg) const;
  // Receives worker i's next reply, positioned after its tag, which must be `expected`; an
  // 'E' reply is thrown as its exception type with the sub-env index.
  core::ByteReader Receive(int i, char expected) const;
  void Shutdown();                       // asks every worker to quit and reaps it
  mutable std::vector<Worker> workers_;  // a dead worker is reaped even in const calls
};

// Normalisers (envs/normalize.cc).

// Running mean and variance of a stream of vectors (parallel Welford merge).
class RunningMeanStd {
 public:
  explicit RunningMeanStd(int64_t size = 0);
  void Update(const float* batch, int64_t rows);
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& var() const { return var_; }
  double count() const { return count_; }
  void Write(core::ByteWriter& out) const;
  void Read(core::ByteReader& in);  // throws std::runtime_error on a size mismatch

 private:
  std::vector<double> mean_, var_;
  double count_ = 1e-4;
};

class VectorWrapper : public VectorEnv {
 public:
  explicit VectorWrapper(std::unique_ptr<VectorEnv> env) : env_(std::move(env)) {}
  int num_envs() const override { return env_->num_envs(); }
  const Space& single_observation_space() const override {
    return env_->single_observation_space();
  }
  const Space& single_action_space() const override { return env_->single_action_space(); }
  const VectorStep& Reset(std::optional<uint64_t> seed) override { return env_->Reset(seed); }
  const VectorStep& Step(const Array& actions) override { return env_->Step(actions); }
  std::string SaveState() const override { return env_->SaveState(); }
  void LoadState(const std::string& data) override { env_->LoadState(data); }
  const EnvDescription& description() const override { return env_->description(); }
  VectorEnv& inner() { return *env_; }

 protected:
  std::unique_ptr<VectorEnv> env_;
};

// Observation normalisation: (obs - mean) / sqrt(var + eps), clipped to [-clip, clip], with
// statistics shared by all sub-envs. Set training(false) to freeze them (evaluation).
class NormalizeObservation : public VectorWrapper {
 public:
  NormalizeObservation(std::unique_ptr<VectorEnv> env, double clip = 10.0, double eps = 1e-8);
  const VectorStep& Reset(std::optional<uint64_t> seed) override;
  const VectorStep& Step(const Array& actions) override;
  std::string SaveState() const override;
  void LoadState(const std::string& data) override;
  void set_training(bool training) { training_ = training; }
  RunningMeanStd& stats() { return rms_; }
  const RunningMeanStd& stats() const { return rms_; }
  double clip() const { return clip_; }
  double epsilon() const { return eps_; }
  // Normalises one batch in place with the current statistics (no update).
  void Apply(float* obs, int64_t rows) const;

 private:
  const VectorStep& Transform(const VectorStep& raw);
  RunningMeanStd rms_;
  double clip_, eps_;
  bool training_ = true;
  VectorStep out_;
};

// Reward scaling: divides rewards by the running standard deviation of the discounted return
// and clips to [-clip, clip]. Set training(false) to freeze the statistics.
class ScaleReward : public VectorWrapper {
 public:
  ScaleReward(std::unique_ptr<VectorEnv> env, double gamma, double clip = 10.0, double eps = 1e-8);
  const VectorStep& Reset(std::optional<uint64_t> seed) override;
  const VectorStep& Step(const Array& actions) override;
  std::string SaveState() const override;
  void LoadState(const std::string& data) override;
  void set_training(bool training) { training_ = training; }
  RunningMeanStd& stats() { return rms_; }

 private:
  RunningMeanStd rms_;
  double gamma_, clip_, eps_;
  bool training_ = true;
  std::vector<double> returns_;
  std::vector<uint8_t> was_done_;
  VectorStep out_;
};

}  // namespace linklab::envs
