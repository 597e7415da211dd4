#include "experiments/bench.h"

#include <chrono>
#include <iostream>
#include <stdexcept>

#include "core/machine.h"
#include "core/text.h"
#include "envs/registry.h"

namespace linklab::experiments {

namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Pre-sampled random actions, cycled, so that action sampling is not what is measured.
std::vector<envs::Array> ActionPool(const envs::Space& space, int count, uint64_t seed) {
  core::Rng rng(seed);
  std::vector<envs::Array> pool;
  for (int i = 0; i < count; ++i) pool.push_back(space.Sample(rng));
  return pool;
}

core::Json BenchSingle(const std::string& name, double seconds) {
  auto env = envs::MakeEnv(name);
  const auto pool = ActionPool(env->action_space(), 4096, 7);
  env->Reset(0);
  int64_t steps = 0, episodes = 0;
  const auto t0 = Clock::now();
  double elapsed = 0.0;
  while (elapsed < seconds) {
    for (int k = 0; k < 1024; ++k) {
      const envs::StepResult r = env->Step(pool[steps & 4095]);
      ++steps;
      if (r.done()) {
        env->Reset();
        ++episodes;
      }
    }
    elapsed = Since(t0);
  }
  core::Json j = core::Json::Object();
  j.Set("env", name).Set("mode", "single").Set("num_envs", 1).Set("steps", steps)
      .Set("episodes", episodes).Set("seconds", elapsed).Set("steps_per_second", steps / elapsed);
  return j;
}

core::Json BenchVector(const std::string& name, const std::string& mode, int num_envs,
                       double seconds) {
  envs::VectorOptions opts;
  opts.num_envs = num_envs;
  opts.mode = mode;
  const core::Params params = envs::ResolveEnvParams(name, {}, "env " + name);
  auto env = envs::MakeVectorEnv(name, params, opts);
  const auto pool = ActionPool(env->single_action_space(), 4096, 7);
  envs::Array actions;
  env->Reset(0);
  int64_t steps = 0, k = 0;
  const auto t0 = Clock::now();
  double elapsed = 0.0;
  while (elapsed < seconds) {
    for (int rep = 0; rep < 64; ++rep) {
      actions.clear();
      for (int i = 0; i < num_envs; ++i) {
        const auto& a = pool[(k++) & 4095];
        actions.insert(actions.end(), a.begin(), a.end());
      }
      env->Step(actions);
      steps += num_envs;
    }
    elapsed = Since(t0);
  }
  core::Json j = core::Json::Object();
  j.Set("env", name).Set("mode", mode).Set("num_envs", num_envs).Set("steps", steps)
      .Set("seconds", elapsed).Set("steps_per_second", steps / elapsed);
  return j;
}

core::Json Header(const std::string& area) {
  core::Json j = core::Json::Object();
  j.Set("area", area)
      .Set("created", core::UtcTimestamp())
      .Set("git_commit", core::GitCommit())
      .Set("machine", core::MachineInfo());
  return j;
}

}  // namespace

core::Json BenchEnvs(const BenchOptions& options) {
  core::Json report = Header("envs");
  core::Json results = core::Json::Array();
  for (const auto& name : envs::EnvRegistry().Names()) {
    if (!options.only.empty() && name.find(options.only) == std::string::npos) continue;
    std::cerr << "bench envs: " << name << "\n";
    results.Push(BenchSingle(name, options.seconds));
    results.Push(BenchVector(name, "sync", 8, options.seconds));
    results.Push(BenchVector(name, "process", 2, options.seconds));
  }
  report.Set("results", std::move(results));
  core::Json ref = core::Json::Object();
  ref.Set("CartPole-v1 single, Gymnasium (Python) steps_per_second", 400000)
      .Set("source", "issue 2: the reference Python implementation steps about 0.4 M/s");
  report.Set("reference", std::move(ref));
  report.Set("notes",
             "actions are pre-sampled; single mode resets on episode end; vector modes use "
             "next-step autoreset. Env steps are summed over sub-envs.");
  return report;
}

std::vector<std::string> BenchAreas() { return {"envs"}; }

core::Json RunBench(const std::string& area, const BenchOptions& options) {
  if (area == "envs") return BenchEnvs(options);
  throw std::invalid_argument("unknown bench area '" + area + "'; areas: " +
                              core::Join(BenchAreas(), ", "));
}

}  // namespace linklab::experiments
