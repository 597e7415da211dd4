#include "experiments/run.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "agents/trainer.h"
#include "core/machine.h"
#include "core/text.h"
#include "datasets/metrics_file.h"
#include "envs/registry.h"

namespace linklab::experiments {

namespace fs = std::filesystem;

std::string MakeFreshDir(const std::string& parent, const std::string& name) {
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw std::runtime_error("cannot create folder '" + parent + "': " + ec.message());
  for (int i = 1; i < 1000; ++i) {
    const std::string dir = parent + "/" + name + (i == 1 ? "" : "-" + std::to_string(i));
    if (::mkdir(dir.c_str(), 0755) == 0) return dir;
    if (errno != EEXIST) {
      throw std::runtime_error("cannot create folder '" + dir + "': " + std::strerror(errno));
    }
  }
  throw std::runtime_error("no free run folder under '" + parent + "'");
}

namespace {

datasets::Attributes Provenance(const ExperimentConfig& config) {
  datasets::Attributes a;
  a.text = {{"config", config.ToIni()},
            {"git_commit", core::GitCommit()},
            {"linklab_version", LINKLAB_VERSION},
            {"created", core::UtcTimestamp()},
            {"env", config.env_id()},
            {"algo", config.algo()}};
  a.ints = {{"seed", static_cast<int64_t>(config.seed())}};
  return a;
}

void SaveNormalizers(envs::VectorEnv& env, const std::string& dir) {
  if (auto* n = envs::FindObsNormalizer(env)) {
    std::ofstream f(dir + "/obs_normalizer.txt");
    n->stats().Save(f);
  }
  if (auto* s = envs::FindRewardScaler(env)) {
    std::ofstream f(dir + "/reward_scaler.txt");
    s->stats().Save(f);
  }
}

}  // namespace

RunResult RunExperiment(const ExperimentConfig& config) {
  const std::string name = config.experiment.String("name");
  const std::string dir =
      MakeFreshDir(config.experiment.String("output") + "/" + name, core::UtcTimestamp(true));
  core::WriteFileAtomic(dir + "/config.ini", config.ToIni());
  std::cerr << "linklab: run " << name << " -> " << dir << "\n";

  const uint64_t seed = config.seed();
  const envs::VectorOptions vopts = envs::VectorOptionsFrom(config.env);
  auto env = envs::MakeVectorEnv(config.env_id(), config.env_params, vopts);

  agents::AgentContext ctx;
  ctx.observation_space = env->single_observation_space();
  ctx.action_space = env->single_action_space();
  ctx.num_envs = env->num_envs();
  ctx.total_steps = config.train.Int("total_steps");
  ctx.seed = seed;
  auto agent = agents::MakeAgent(config.algo(), config.agent, ctx);

  core::MetricsLog metrics;
  const datasets::Attributes provenance = Provenance(config);
  auto checkpoint = [&](int64_t step) {
    const std::string cdir = dir + "/checkpoints/step_" + std::to_string(step);
    fs::create_directories(cdir);
    agent->Save(cdir);
    SaveNormalizers(*env, cdir);
    datasets::WriteMetrics(dir + "/metrics.h5", metrics, provenance);
  };

  agents::TrainOptions topts;
  topts.total_steps = config.train.Int("total_steps");
  topts.seed = seed;
  topts.checkpoint_every = config.train.Int("checkpoint_every");
  topts.progress = config.train.Bool("progress");
  const agents::TrainResult train = agents::Train(*agent, *env, topts, metrics, checkpoint);
  checkpoint(train.env_steps);

  core::Json summary = core::Json::Object();
  summary.Set("name", name)
      .Set("description", config.experiment.String("description"))
      .Set("env", config.env_id())
      .Set("algo", config.algo())
      .Set("seed", static_cast<int64_t>(seed))
      .Set("git_commit", core::GitCommit())
      .Set("created", core::UtcTimestamp())
      .Set("config", dir + "/config.ini");
  core::Json& t = summary["train"];
  t.Set("env_steps", train.env_steps)
      .Set("episodes", train.episodes)
      .Set("seconds", train.seconds)
      .Set("steps_per_second", train.seconds > 0 ? train.env_steps / train.seconds : 0.0)
      .Set("mean_return_last100", train.mean_return_last100);

  const int eval_episodes = static_cast<int>(config.eval.Int("episodes"));
  if (eval_episodes > 0) {
    envs::VectorOptions eopts = vopts;
    eopts.num_envs = static_cast<int>(config.eval.Int("num_envs"));
    auto eval_env = envs::MakeVectorEnv(config.env_id(), config.env_params, eopts);
    // Evaluation uses the training statistics, frozen.
    if (auto* n = envs::FindObsNormalizer(*eval_env)) {
      std::stringstream ss;
      envs::FindObsNormalizer(*env)->stats().Save(ss);
      n->stats().Load(ss);
      n->set_training(false);
    }
    if (auto* s = envs::FindRewardScaler(*eval_env)) s->set_training(false);
    const uint64_t eval_seed = seed + static_cast<uint64_t>(config.eval.Int("seed_offset"));
    const agents::EvalResult eval = agents::Evaluate(*agent, *eval_env, eval_episodes, eval_seed,
                                                     config.eval.Bool("explore"));
    for (size_t i = 0; i < eval.returns.size(); ++i) {
      metrics.Add("eval/episodes", {{"episode", static_cast<double>(i)},
                                    {"return", eval.returns[i]},
                                    {"length", eval.lengths[i]}});
    }
    summary["eval"]
        .Set("episodes", static_cast<int64_t>(eval.returns.size()))
        .Set("mean_return", eval.mean_return())
        .Set("std_return", eval.std_return())
        .Set("seed", static_cast<int64_t>(eval_seed));
    std::cerr << "linklab: evaluation over " << eval.returns.size() << " episodes: return "
              << eval.mean_return() << " +- " << eval.std_return() << "\n";
  }
  summary.Set("machine", core::MachineInfo());
  datasets::WriteMetrics(dir + "/metrics.h5", metrics, provenance);
  core::WriteFileAtomic(dir + "/summary.json", summary.Dump());
  std::cerr << "linklab: results in " << dir << "\n";
  return {dir, summary};
}

}  // namespace linklab::experiments
