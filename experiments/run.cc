#include "experiments/run.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "agents/trainer.h"
#include "core/files.h"
#include "core/machine.h"
#include "core/text.h"
#include "datasets/metrics_file.h"
#include "envs/registry.h"
#include "models/policy.h"

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

// Everything one run holds while it trains.
struct Session {
  ExperimentConfig config;
  std::string dir;
  std::unique_ptr<envs::VectorEnv> env;
  std::unique_ptr<agents::Agent> agent;
  core::MetricsLog metrics;
  int64_t last_checkpoint = -1;  // env step of the last checkpoint written
};

Session Build(const ExperimentConfig& config, const std::string& dir) {
  Session s{config, dir, nullptr, nullptr, {}, -1};
  s.env =
      envs::MakeVectorEnv(config.env_id(), config.env_params, envs::VectorOptionsFrom(config.env));
  agents::AgentContext ctx;
  ctx.observation_space = s.env->single_observation_space();
  ctx.action_space = s.env->single_action_space();
  ctx.num_envs = s.env->num_envs();
  ctx.total_steps = config.train.Int("total_steps");
  ctx.seed = config.seed();
  s.agent = agents::MakeAgent(config.algo(), config.agent, ctx);
  return s;
}

// Writes the torch-free policy artefact <dir>/policy.bin (models/policy.h), or, for agents
// without one, <dir>/policy.unavailable with the reason.
void WritePolicyArtefact(Session& s, const std::string& dir, int64_t step) {
  models::PolicyArtefact a;
  try {
    a = agents::ExportPolicy(*s.agent, *s.env);
  } catch (const std::exception& e) {  // an agent or space the artefact cannot express
    core::WriteFileAtomic(dir + "/policy.unavailable", std::string(e.what()) + "\n");
    return;
  }
  a.metadata = {{"env", s.config.env_id()},
                {"algo", s.config.algo()},
                {"seed", std::to_string(s.config.seed())},
                {"step", std::to_string(step)},
                {"git_commit", core::GitCommit()},
                {"created", core::UtcTimestamp()},
                {"config", s.config.ToIni()}};
  const envs::EnvDescription& d = s.env->description();
  if (!d.features.empty()) a.metadata["observation.features"] = core::Json(d.features).dump();
  if (!d.observation_spec.empty()) {
    a.metadata["observation.spec"] = d.observation_spec;
    a.metadata["observation.spec_hash"] = d.observation_spec_hash;
  }
  if (!d.action_spec.empty()) a.metadata["action.spec"] = d.action_spec;
  if (d.step_s > 0) a.metadata["env.step_s"] = core::FormatDouble(d.step_s);
  if (!d.action_columns.empty()) {
    a.action_table = {d.action_columns, d.action_values};
    a.metadata["action.names"] = core::Json(d.action_names).dump();
  }
  models::WritePolicy(dir + "/policy.bin", a);
}

// Writes checkpoints/step_<N>/ whole or not at all (built under a temporary name).
void WriteCheckpoint(Session& s, const agents::TrainState& state) {
  const std::string final_dir = s.dir + "/checkpoints/step_" + std::to_string(state.step);
  const std::string tmp = final_dir + ".tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  s.agent->Save(tmp);
  WritePolicyArtefact(s, tmp, state.step);
  // The env's registry traits say whether it snapshots. When it does not, the run goes on and
  // this checkpoint keeps the model, but says it cannot resume the run exactly.
  if (envs::EnvTraits(s.config.env_id(), s.config.env_params).snapshot) {
    core::WriteFileAtomic(tmp + "/env_state.bin", s.env->SaveState());
  } else {
    core::WriteFileAtomic(tmp + "/env_state.unavailable",
                          "env " + s.config.env_id() +
                              " cannot be snapshotted (its registry traits say so), so a run on "
                              "it cannot resume exactly\n");
  }
  core::WriteFileAtomic(tmp + "/trainer_state.bin", state.Save());
  core::WriteFileAtomic(tmp + "/config.ini", s.config.ToIni());
  datasets::WriteMetrics(tmp + "/metrics.h5", s.metrics, Provenance(s.config));
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  datasets::WriteMetrics(s.dir + "/metrics.h5", s.metrics, Provenance(s.config));
  s.last_checkpoint = state.step;
}

RunResult Execute(Session& s, const agents::TrainState* resume,
                  const std::string& init_checkpoint = "") {
  const ExperimentConfig& config = s.config;
  const uint64_t seed = config.seed();
  agents::TrainOptions topts;
  topts.total_steps = config.train.Int("total_steps");
  topts.seed = seed;
  topts.checkpoint_every = config.train.Int("checkpoint_every");
  topts.progress = config.train.Bool("progress");
  const agents::TrainResult train = agents::Train(
      *s.agent, *s.env, topts, s.metrics,
      [&](const agents::TrainState& st) { WriteCheckpoint(s, st); }, resume);
  if (s.last_checkpoint != train.final_state.step) WriteCheckpoint(s, train.final_state);
  WritePolicyArtefact(s, s.dir, train.final_state.step);

  core::Json summary = core::Json::object();
  summary["name"] = config.experiment.String("name");
  summary["description"] = config.experiment.String("description");
  summary["env"] = config.env_id();
  summary["algo"] = config.algo();
  summary["seed"] = static_cast<int64_t>(seed);
  summary["git_commit"] = core::GitCommit();
  summary["created"] = core::UtcTimestamp();
  summary["config"] = s.dir + "/config.ini";
  if (resume) summary["resumed_from_step"] = resume->step;
  if (!init_checkpoint.empty()) summary["init_from"] = init_checkpoint;
  core::Json& t = summary["train"];
  t["env_steps"] = train.env_steps;
  t["episodes"] = train.episodes;
  t["seconds"] = train.seconds;
  t["steps_per_second"] =
      train.seconds > 0 ? (train.env_steps - (resume ? resume->step : 0)) / train.seconds : 0.0;
  t["mean_return_last100"] = train.mean_return_last100;

  const int eval_episodes = static_cast<int>(config.eval.Int("episodes"));
  if (eval_episodes > 0) {
    envs::VectorOptions eopts = envs::VectorOptionsFrom(config.env);
    eopts.num_envs = static_cast<int>(config.eval.Int("num_envs"));
    // Evaluation uses the training statistics, frozen.
    core::ByteWriter obs_stats;
    if (auto* n = envs::FindObsNormalizer(*s.env)) n->stats().Write(obs_stats);
    // An env that needs a process of its own is evaluated in workers, once the training env
    // has let go of this process's one simulation (workers fork from this process).
    if (envs::EnvTraits(config.env_id(), config.env_params).own_process) {
      eopts.mode = "process";
      s.env.reset();
    }
    auto eval_env = envs::MakeVectorEnv(config.env_id(), config.env_params, eopts);
    if (auto* n = envs::FindObsNormalizer(*eval_env)) {
      core::ByteReader r(obs_stats.data(), "observation statistics");
      n->stats().Read(r);
      n->set_training(false);
    }
    if (auto* scaler = envs::FindRewardScaler(*eval_env)) scaler->set_training(false);
    const uint64_t eval_seed = seed + static_cast<uint64_t>(config.eval.Int("seed_offset"));
    const agents::EvalResult eval = agents::Evaluate(*s.agent, *eval_env, eval_episodes, eval_seed,
                                                     config.eval.Bool("explore"));
    for (size_t i = 0; i < eval.returns.size(); ++i) {
      s.metrics.Add("eval/episodes", {{"episode", static_cast<double>(i)},
                                      {"return", eval.returns[i]},
                                      {"length", eval.lengths[i]}});
    }
    summary["eval"]["episodes"] = static_cast<int64_t>(eval.returns.size());
    summary["eval"]["mean_return"] = eval.mean_return();
    summary["eval"]["std_return"] = eval.std_return();
    summary["eval"]["seed"] = static_cast<int64_t>(eval_seed);
    char buf[128];
    std::snprintf(buf, sizeof buf, "evaluation over %zu episodes: return %.2f +- %.2f",
                  eval.returns.size(), eval.mean_return(), eval.std_return());
    std::cerr << "linklab: " << buf << "\n";
  }
  summary["machine"] = core::MachineInfo();
  datasets::WriteMetrics(s.dir + "/metrics.h5", s.metrics, Provenance(config));
  core::WriteFileAtomic(s.dir + "/summary.json", core::DumpJson(summary));
  std::cerr << "linklab: results in " << s.dir << "\n";
  return {s.dir, summary};
}

}  // namespace

std::string FindCheckpoint(const std::string& path, const std::string& what) {
  std::string checkpoint = path;
  while (!checkpoint.empty() && checkpoint.back() == '/') checkpoint.pop_back();
  if (fs::exists(checkpoint + "/trainer_state.bin")) return checkpoint;
  int64_t best = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(checkpoint + "/checkpoints", ec)) {
    const std::string name = entry.path().filename();
    if (!core::StartsWith(name, "step_") || name.find('.') != std::string::npos) continue;
    const int64_t step = core::ParseInt(name.substr(5), "checkpoint folder");
    if (step > best && fs::exists(entry.path() / "trainer_state.bin")) {
      best = step;
      checkpoint = entry.path();
    }
  }
  if (best < 0) {
    throw std::invalid_argument(what + " " + path +
                                ": neither a checkpoint nor a run folder with checkpoints");
  }
  return checkpoint;
}

// [train] init_from: the agent starts from checkpoint `path`'s (or a run's latest) weights,
// optimiser and buffers, trained on another env config (fine-tuning); the algorithm and the
// spaces must match. Returns the checkpoint folder.
std::string InitFrom(Session& s, const std::string& path) {
  const std::string what = "[train] init_from = " + path;
  const std::string checkpoint = FindCheckpoint(path, what);
  const ExperimentConfig from = LoadExperiment(checkpoint + "/config.ini");
  if (from.algo() != s.config.algo()) {
    throw std::invalid_argument(what + ": trained by " + from.algo() + ", this run uses " +
                                s.config.algo());
  }
  for (const char* key : {"normalize_obs", "normalize_reward"}) {
    if (s.config.env.Bool(key) || from.env.Bool(key)) {
      throw std::invalid_argument(what + ": [env] " + key +
                                  " is on (here or there); starting from another run needs its "
                                  "normaliser statistics, which are not carried over yet");
    }
  }
  const models::PolicyArtefact a = models::ReadPolicy(checkpoint + "/policy.bin");
  if (!(a.observation_space == s.env->single_observation_space()) ||
      !(a.action_space == s.env->single_action_space())) {
    throw std::invalid_argument(what +
                                ": its observation or action space differs from this "
                                "run's env");
  }
  s.agent->Load(checkpoint);
  std::cerr << "linklab: the agent starts from " << checkpoint << "\n";
  return checkpoint;
}

RunResult RunExperiment(const ExperimentConfig& config, const std::string& dir) {
  const std::string name = config.experiment.String("name");
  // The envs and the agent first: sizes they refuse (memory) leave no run folder behind.
  Session s = Build(config, "");
  const std::string init_from = config.train.String("init_from");
  std::string init_checkpoint;
  if (!init_from.empty()) init_checkpoint = InitFrom(s, init_from);
  if (dir.empty()) {
    s.dir = MakeFreshDir(config.experiment.String("output") + "/" + name, core::UtcTimestamp(true));
  } else {
    fs::create_directories(dir);
    s.dir = dir;
  }
  core::WriteFileAtomic(s.dir + "/config.ini", config.ToIni());
  std::cerr << "linklab: run " << name << " (seed " << config.seed() << ") -> " << s.dir << "\n";
  return Execute(s, nullptr, init_checkpoint);
}

RunResult ResumeExperiment(const std::string& path) {
  const std::string checkpoint = FindCheckpoint(path, "--resume");
  if (fs::exists(checkpoint + "/env_state.unavailable")) {
    throw std::runtime_error("--resume " + checkpoint + ": " +
                             core::Trim(core::ReadFile(checkpoint + "/env_state.unavailable")));
  }
  const std::string run_dir = fs::path(checkpoint).parent_path().parent_path().string();
  Session s = Build(LoadExperiment(checkpoint + "/config.ini"), run_dir);
  s.agent->Load(checkpoint);
  const std::string env_state = checkpoint + "/env_state.bin";
  const std::string env_data = core::ReadFile(env_state);
  try {
    s.env->LoadState(env_data);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(env_state + ": " + e.what());
  }
  const agents::TrainState state = agents::TrainState::Load(
      core::ReadFile(checkpoint + "/trainer_state.bin"), checkpoint + "/trainer_state.bin");
  s.metrics = datasets::ReadMetrics(checkpoint + "/metrics.h5");
  std::cerr << "linklab: resuming " << run_dir << " from env step " << state.step << "\n";
  return Execute(s, &state);
}

}  // namespace linklab::experiments
