#include "experiments/eval.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "core/files.h"
#include "core/ini.h"
#include "core/machine.h"
#include "core/progress.h"
#include "core/registry.h"
#include "core/text.h"
#include "envs/registry.h"
#include "experiments/run.h"
#include "models/policy.h"
#include "sim/capacity.h"
#include "sim/controllers.h"
#include "sim/scenario.h"

namespace linklab::experiments {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kSections = {"experiment", "env", "eval"};
constexpr const char* kFqCodelBaseline = "bottleneck_fq_codel";

std::vector<core::ParamSpec> ExperimentSpecs() {
  return {core::StringParam("name", "shaping_eval", "the table's name (its results folder)"),
          core::StringParam("output", "results", "folder the results go under"),
          core::StringParam("description", "", "free text, copied into table.json")};
}

std::vector<core::ParamSpec> EvalSpecs() {
  return {
      core::StringParam("policies", "[none,bottleneck_fq_codel,sqm,static_htb,autorate,oracle]",
                        "policies to evaluate: baseline names (none, bottleneck_fq_codel, "
                        "static_htb, autorate, oracle) and trained run folders (policy.bin)"),
      core::StringParam("traces", "",
                        "held-out traces: files, folders (every trace file in them; an X.up "
                        "next to X.down is its uplink twin, not a trace of its own) or names "
                        "found as the scenario finds them; empty: the scenario's own capacity"),
      core::StringParam("format", "mahimahi", "the traces' format",
                        {"mahimahi", "pensieve", "auto"}),
      core::IntParam("seeds", 5, "seeds per policy and trace (the CI is over seeds)", 2, 1000),
      core::IntParam("seed", 1, "the first seed; episodes use seed, seed + 1, ...", 0),
      core::IntParam("workers", 2, "episodes run at once (one process each)", 1, 256),
  };
}

bool IsBaseline(const std::string& p) {
  const auto& b = BaselineNames();
  return std::find(b.begin(), b.end(), p) != b.end();
}

// The controller a baseline runs in the env; "agent" for trained policies.
std::string ControllerOf(const std::string& policy) {
  if (policy == kFqCodelBaseline) return "none";
  return IsBaseline(policy) ? policy : "agent";
}

std::string Origin(const core::RawValues& raw, const std::string& key) {
  auto it = raw.find(key);
  return it == raw.end() ? "default" : it->second.origin;
}

std::string BaseName(const std::string& path) { return fs::path(path).filename().string(); }

// A trace folder's traces (sim::TraceFilesIn), without the .up twin of a .down trace in the
// same folder.
std::vector<std::string> TracesInFolder(const std::string& dir) {
  const std::vector<std::string> files = sim::TraceFilesIn(dir);
  const std::set<std::string> names(files.begin(), files.end());
  std::vector<std::string> out;
  for (const std::string& n : files) {
    const bool up = n.size() > 3 && n.compare(n.size() - 3, 3, ".up") == 0;
    if (up && names.count(n.substr(0, n.size() - 3) + ".down")) continue;
    out.push_back(n);
  }
  return out;
}

struct RunInfo {
  bool found = false;
  double seconds = NAN, env_steps = NAN;
  std::string trained_on;  // the run's training traces (or its scenario's trace), as text
  std::vector<std::string> trained_traces;  // their file names
};

RunInfo ReadRunInfo(const std::string& dir) {
  RunInfo r;
  const std::string summary = dir + "/summary.json";
  if (fs::exists(summary)) {
    try {
      const core::Json j = core::ReadJsonFile(summary);
      if (j.contains("train")) {
        r.found = true;
        r.seconds = j["train"].value("seconds", NAN);
        r.env_steps = j["train"].value("env_steps", NAN);
      }
    } catch (const std::exception&) {
    }
  }
  const std::string config = dir + "/config.ini";
  if (fs::exists(config)) {
    try {
      std::string traces, scenario;
      for (const auto& e : core::ParseIni(core::ReadFile(config), config,
                                          {"experiment", "env", "agent", "train", "eval"})) {
        if (e.section == "env" && e.key == "traces") traces = core::Trim(e.value);
        if (e.section == "env" && e.key == "scenario") scenario = core::Trim(e.value);
      }
      if (!core::ParseListValue(traces).empty()) {
        r.trained_on = core::Join(core::ParseListValue(traces), ", ");
        for (const std::string& t : core::ParseListValue(traces))
          r.trained_traces.push_back(BaseName(t));
      } else if (!scenario.empty()) {
        const core::Spec s = core::Spec::Parse(scenario, config + " scenario");
        if (s.Has("trace") && s.Has("capacity") && s.Get("capacity") == "trace") {
          r.trained_on = s.Get("trace");
          r.trained_traces.push_back(BaseName(s.Get("trace")));
        } else {
          r.trained_on = "scenario " + scenario;
        }
      }
    } catch (const std::exception&) {
    }
  }
  return r;
}

// One episode to run.
struct Job {
  size_t policy = 0, trace = 0, seed = 0;
};

// The env parameters of `policy` on trace `trace` ("" for the scenario's own capacity).
core::Params EpisodeParams(const EvalConfig& c, const std::string& policy, const std::string& trace,
                           const std::string& action_mode) {
  core::RawValues raw = c.env_raw;
  const std::string origin = "[eval] policy " + policy;
  const core::Params resolved = envs::ResolveEnvParams(c.env_id, raw, "[env]");
  if (resolved.Has("scenario")) {
    core::Spec spec = core::Spec::Parse(resolved.String("scenario"), "[env] scenario");
    if (!trace.empty()) spec.Set("trace", trace);
    if (policy == kFqCodelBaseline) spec.Set("bottleneck_qdisc", "fq_codel");
    raw["scenario"] = core::RawValue{spec.Text(), origin};
  }
  if (resolved.Has("traces")) raw["traces"] = core::RawValue{"", origin};
  raw["controller"] = core::RawValue{ControllerOf(policy), origin};
  if (!action_mode.empty()) raw["action"] = core::RawValue{action_mode, origin};
  return envs::ResolveEnvParams(c.env_id, raw, "[env] (" + origin + ")");
}

std::string ActionMode(const models::PolicyArtefact& a) {
  return a.action_space.is_discrete() ? "discrete" : "continuous";
}

// Runs `f` in a child process; its std::invalid_argument comes back as one, anything else as
// std::runtime_error. `scratch` is a file the child may write its message to.
template <typename F>
void InChild(const std::string& scratch, F f) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    int code = 0;
    try {
      f();
    } catch (const std::invalid_argument& e) {
      core::WriteFileAtomic(scratch, e.what());
      code = 2;
    } catch (const std::exception& e) {
      core::WriteFileAtomic(scratch, e.what());
      code = 1;
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0) return;
  std::string msg = fs::exists(scratch) ? core::ReadFile(scratch) : "worker process died";
  fs::remove(scratch);
  if (code == 2) throw std::invalid_argument(msg);
  throw std::runtime_error(msg);
}

double MeanOf(const std::vector<double>& v) {
  double s = 0;
  size_t n = 0;
  for (double x : v) {
    if (std::isfinite(x)) {
      s += x;
      ++n;
    }
  }
  return n ? s / static_cast<double>(n) : NAN;
}

// The q-quantile (linear interpolation) of the finite values.
double QuantileOf(std::vector<double> v, double q) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !std::isfinite(x); }), v.end());
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t i = static_cast<size_t>(std::floor(pos));
  const size_t j = std::min(i + 1, v.size() - 1);
  return v[i] + (v[j] - v[i]) * (pos - static_cast<double>(i));
}

double SumOf(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::isfinite(x) ? x : 0.0;
  return s;
}

core::Json Num(double x) { return std::isfinite(x) ? core::Json(x) : core::Json(nullptr); }

std::string Fmt(const char* f, double x) {
  if (!std::isfinite(x)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

double JsonNum(const core::Json& j) { return j.is_number() ? j.get<double>() : NAN; }

}  // namespace

const std::vector<std::string>& BaselineNames() {
  static const std::vector<std::string> names = {"none",       kFqCodelBaseline, "sqm",
                                                 "static_htb", "autorate",       "oracle"};
  return names;
}

double StudentT95(int dof) {
  static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                             2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                             2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (dof < 1) return NAN;
  if (dof <= 30) return t[dof - 1];
  // Beyond the table: the Cornish-Fisher expansion about the normal quantile (within 1e-4).
  const double z = 1.959963985, v = dof, z2 = z * z;
  return z + (z2 * z + z) / (4 * v) + (5 * z2 * z2 * z + 16 * z2 * z + 3 * z) / (96 * v * v) +
         (3 * z2 * z2 * z2 * z + 19 * z2 * z2 * z + 17 * z2 * z - 15 * z) / (384 * v * v * v);
}

EvalConfig LoadEvalConfig(const std::string& path, const EvalOverrides& o) {
  RawSections sections = ReadSections(path, kSections, "eval config");
  ApplySets(sections, o.sets, kSections);
  core::RawValues& ev = sections["eval"];
  if (!o.policies.empty()) {
    ev["policies"] = core::RawValue{"[" + core::Join(o.policies, ",") + "]", "--policy"};
  }
  if (!o.traces.empty()) {
    ev["traces"] = core::RawValue{"[" + core::Join(o.traces, ",") + "]", "--traces"};
  }
  if (!o.format.empty()) ev["format"] = core::RawValue{o.format, "--format"};
  if (o.seeds != 0) ev["seeds"] = core::RawValue{std::to_string(o.seeds), "--seeds"};

  EvalConfig c;
  c.source = path;
  c.out = o.out;
  c.experiment = core::Params::Resolve(ExperimentSpecs(), sections["experiment"], "[experiment]");
  c.eval = core::Params::Resolve(EvalSpecs(), ev, "[eval]");

  // [env]: id and the env's own parameters, checked now.
  core::RawValues env = sections["env"];
  c.env_id = env.count("id") ? core::Trim(env["id"].text) : "shaping";
  const std::string id_origin = Origin(env, "id");
  env.erase("id");
  try {
    envs::EnvRegistry().Find(c.env_id);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(id_origin + ": [env] id = '" + c.env_id + "': " + e.what());
  }
  if (env.count("controller")) {
    throw std::invalid_argument(Origin(env, "controller") +
                                ": [env] controller: set by [eval] policies, not here");
  }
  c.env_raw = env;
  const core::Params params = envs::ResolveEnvParams(c.env_id, env, "[env]");
  if (!params.Has("controller") || !params.Has("scenario")) {
    throw std::invalid_argument(id_origin + ": [env] id = '" + c.env_id +
                                "': linklab eval evaluates shaping policies (id = shaping)");
  }
  const bool ends = (params.Has("max_episode_steps") && params.Int("max_episode_steps") > 0) ||
                    (params.Has("episode_s") && params.Double("episode_s") > 0);
  if (!ends) {
    throw std::invalid_argument(
        Origin(env, "max_episode_steps") +
        ": [env] max_episode_steps = 0 and episode_s = 0: an episode would never end");
  }

  // Policies: baselines by name or run folders with a policy.bin.
  const std::string pol_origin = Origin(ev, "policies");
  const std::string pol_text = c.eval.String("policies");
  for (const std::string& p : core::ParseListValue(pol_text)) {
    const std::string what = pol_origin + ": [eval] policies: '" + core::Printable(p) + "'";
    if (std::find(c.policies.begin(), c.policies.end(), p) != c.policies.end()) {
      throw std::invalid_argument(what + " twice");
    }
    if (!IsBaseline(p)) {
      std::string dir = p;
      if (fs::is_regular_file(p) && BaseName(p) == "policy.bin") {
        dir = fs::path(p).parent_path().string();
      }
      if (!fs::is_directory(dir)) {
        throw std::invalid_argument(what + ": neither a baseline (" +
                                    core::Join(BaselineNames(), ", ") +
                                    ") nor an existing run folder");
      }
      const std::string bin = dir + "/policy.bin";
      if (!fs::exists(bin)) {
        const std::string why = dir + "/policy.unavailable";
        throw std::invalid_argument(
            what + ": run folder has no policy.bin" +
            (fs::exists(why) ? " (policy.unavailable: " + core::Trim(core::ReadFile(why)) + ")"
                             : ""));
      }
      try {
        models::ReadPolicy(bin);
      } catch (const std::exception& e) {
        throw std::invalid_argument(what + ": " + e.what());
      }
    }
    c.policies.push_back(p);
  }
  if (c.policies.empty()) throw std::invalid_argument(pol_origin + ": [eval] policies: none");

  // Traces: files, folders or names; each must parse in the format.
  const std::string tr_origin = Origin(ev, "traces");
  const std::string format = c.eval.String("format");
  for (const std::string& t : core::ParseListValue(c.eval.String("traces"))) {
    const std::string what = tr_origin + ": [eval] traces: '" + core::Printable(t) + "'";
    std::vector<std::string> files;
    if (fs::is_directory(t)) {
      files = TracesInFolder(t);
      if (files.empty()) throw std::invalid_argument(what + ": a folder without trace files");
    } else if (fs::exists(t)) {
      files = {t};
    } else {
      try {
        files = {sim::FindTrace(t)};
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(what + ": " + e.what());
      }
    }
    for (const std::string& f : files) {
      try {
        sim::LoadTraceCapacity(f, format);
      } catch (const std::exception& e) {
        throw std::invalid_argument(what + ": not a " + format + " trace: " + e.what());
      }
      if (std::find(c.traces.begin(), c.traces.end(), f) == c.traces.end()) c.traces.push_back(f);
    }
  }
  if (!c.traces.empty()) {
    const std::string text = params.String("scenario");
    const core::Spec s = core::Spec::Parse(text, "[env] scenario");
    const core::Params sp = core::Params::Resolve(sim::ScenarioRegistry().Find(s.name()).params,
                                                  s.Values(), "[env] scenario");
    if (!sp.Has("capacity") || sp.String("capacity") != "trace") {
      throw std::invalid_argument(Origin(env, "scenario") + ": [env] scenario = '" + text +
                                  "': [eval] traces need a scenario with capacity = trace");
    }
  }
  return c;
}

void CheckEvalConfig(const EvalConfig& c) {
  const std::string scratch =
      (fs::temp_directory_path() / ("linklab-eval-check-" + std::to_string(::getpid()))).string();
  InChild(scratch, [&] {
    std::vector<std::string> traces = c.traces;
    if (traces.empty()) traces.push_back("");
    for (const std::string& p : c.policies) {
      std::optional<models::PolicyArtefact> artefact;
      std::string mode;
      if (!IsBaseline(p)) {
        artefact = models::ReadPolicy(fs::is_directory(p) ? p + "/policy.bin" : p);
        mode = ActionMode(*artefact);
      }
      for (const std::string& t : traces) {
        std::unique_ptr<envs::Env> env;
        try {
          env = envs::MakeEnv(c.env_id, EpisodeParams(c, p, t, mode));
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(c.source + ": [env] with policy '" + p + "'" +
                                      (t.empty() ? "" : " on trace " + BaseName(t)) + ": " +
                                      e.what());
        }
        if (artefact && (artefact->observation_space != env->observation_space() ||
                         artefact->action_space != env->action_space())) {
          throw std::invalid_argument(
              "[eval] policies: '" + p + "': the policy takes observations " +
              artefact->observation_space.ToString() + " and gives actions " +
              artefact->action_space.ToString() + ", the eval env has " +
              env->observation_space().ToString() + " and " + env->action_space().ToString() +
              " (classes, window and action must match the training env)");
        }
      }
    }
  });
}

EvalResult RunEval(const EvalConfig& c, bool progress) {
  CheckEvalConfig(c);
  EvalResult result;
  if (!c.out.empty()) {
    std::error_code ec;
    fs::create_directories(c.out, ec);
    if (ec) throw std::runtime_error("cannot create folder '" + c.out + "': " + ec.message());
    result.dir = c.out;
  } else {
    result.dir = MakeFreshDir(c.experiment.String("output") + "/" + c.experiment.String("name"),
                              core::UtcTimestamp(true));
  }
  const std::string ep_dir = result.dir + "/episodes";
  fs::create_directories(ep_dir);

  const int seeds = static_cast<int>(c.eval.Int("seeds"));
  const uint64_t seed0 = static_cast<uint64_t>(c.eval.Int("seed"));
  std::vector<std::string> traces = c.traces;
  if (traces.empty()) traces.push_back("");
  std::vector<std::string> modes(c.policies.size());
  std::vector<RunInfo> runs(c.policies.size());
  for (size_t i = 0; i < c.policies.size(); ++i) {
    if (IsBaseline(c.policies[i])) continue;
    const std::string& p = c.policies[i];
    const std::string dir = fs::is_directory(p) ? p : fs::path(p).parent_path().string();
    modes[i] = ActionMode(models::ReadPolicy(dir + "/policy.bin"));
    runs[i] = ReadRunInfo(dir);
    for (const std::string& t : c.traces) {
      const auto& tt = runs[i].trained_traces;
      if (std::find(tt.begin(), tt.end(), BaseName(t)) != tt.end()) {
        std::cerr << "linklab: warning: policy " << p << " was trained on " << BaseName(t)
                  << ", which this evaluation holds out\n";
      }
    }
  }
  std::vector<Job> jobs;
  for (size_t p = 0; p < c.policies.size(); ++p) {
    for (size_t t = 0; t < traces.size(); ++t) {
      for (int s = 0; s < seeds; ++s) jobs.push_back({p, t, static_cast<size_t>(s)});
    }
  }
  auto file_of = [&](const Job& j) {
    return ep_dir + "/p" + std::to_string(j.policy) + "_t" + std::to_string(j.trace) + "_s" +
           std::to_string(seed0 + j.seed) + ".json";
  };
  // One episode, in a worker: per-step reward and info to its file.
  auto run_episode = [&](const Job& j) {
    const std::string& policy = c.policies[j.policy];
    auto env = envs::MakeEnv(c.env_id, EpisodeParams(c, policy, traces[j.trace], modes[j.policy]));
    std::optional<models::Policy> net;
    if (!IsBaseline(policy)) {
      const std::string dir =
          fs::is_directory(policy) ? policy : fs::path(policy).parent_path().string();
      net.emplace(models::Policy::Load(dir + "/policy.bin"));
    }
    const envs::Space& as = env->action_space();
    const envs::Array idle(static_cast<size_t>(as.is_discrete() ? 1 : as.size()), 0.0f);
    envs::Array obs = env->Reset(seed0 + j.seed).obs;
    core::Json rewards = core::Json::array();
    std::map<std::string, core::Json> info;
    std::vector<std::string> order;
    for (;;) {
      const envs::StepResult r = env->Step(net ? net->Act(obs, 1) : idle);
      rewards.push_back(r.reward);
      for (const auto& [k, v] : r.info.items()) {
        if (k == "episode_return" || k == "episode_length" || k == "episode_seconds") continue;
        if (!info.count(k)) {
          order.push_back(k);
          info[k] = core::Json::array();
        }
        info[k].push_back(Num(v));
      }
      obs = r.obs;
      if (r.done()) break;
    }
    core::Json out;
    out["policy"] = policy;
    out["trace"] = traces[j.trace];
    out["seed"] = seed0 + j.seed;
    out["rewards"] = rewards;
    out["keys"] = order;
    for (const std::string& k : order) out["info"][k] = info[k];
    core::WriteFileAtomic(file_of(j), core::DumpJson(out));
  };

  // Workers: at most `workers` episodes at once, one process each.
  const size_t workers = static_cast<size_t>(c.eval.Int("workers"));
  core::Progress bar("eval", static_cast<int64_t>(jobs.size()), "episodes", progress);
  std::map<pid_t, size_t> running;
  size_t next = 0, done = 0;
  auto stop_all = [&] {
    for (const auto& [pid, idx] : running) ::kill(pid, SIGTERM);
    for (const auto& [pid, idx] : running) {
      int st = 0;
      ::waitpid(pid, &st, 0);
    }
    running.clear();
  };
  while (done < jobs.size()) {
    while (running.size() < workers && next < jobs.size()) {
      std::cout.flush();
      std::cerr.flush();
      std::fflush(nullptr);
      const pid_t pid = ::fork();
      if (pid < 0) {
        stop_all();
        throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
      }
      if (pid == 0) {
        int code = 0;
        try {
          run_episode(jobs[next]);
        } catch (const std::exception& e) {
          core::WriteFileAtomic(file_of(jobs[next]) + ".error", e.what());
          code = 1;
        }
        std::fflush(nullptr);
        ::_exit(code);
      }
      running[pid] = next++;
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      stop_all();
      throw std::runtime_error(std::string("waitpid failed: ") + std::strerror(errno));
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of ours
    const Job job = jobs[it->second];
    running.erase(it);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      const std::string err = file_of(job) + ".error";
      const std::string why = fs::exists(err) ? core::ReadFile(err) : "worker process died";
      stop_all();
      throw std::runtime_error("eval: episode of policy " + c.policies[job.policy] +
                               (traces[job.trace].empty() ? "" : " on " + traces[job.trace]) +
                               ", seed " + std::to_string(seed0 + job.seed) + ": " + why);
    }
    ++done;
    bar.Update(static_cast<int64_t>(done));
  }
  bar.Finish();

  // Aggregation per policy.
  double step_s = 0.1;
  const core::Params any = EpisodeParams(c, c.policies[0], traces[0], modes[0]);
  if (any.Has("step_s")) step_s = any.Double("step_s");
  std::vector<std::string> classes;
  std::set<std::string> sla_classes;
  core::Json table;
  table["name"] = c.experiment.String("name");
  table["description"] = c.experiment.String("description");
  table["source"] = c.source;
  table["env"] = c.env_id;
  {
    core::Json env = core::Json::object();
    for (const auto& spec : any.schema()) {
      if (spec.name != "controller") env[spec.name] = any.Text(spec.name);
    }
    table["env_params"] = env;
    core::Json ev = core::Json::object();
    for (const auto& spec : c.eval.schema()) ev[spec.name] = c.eval.Text(spec.name);
    table["eval_params"] = ev;
  }
  core::Json seed_list = core::Json::array();
  for (int s = 0; s < seeds; ++s) seed_list.push_back(seed0 + static_cast<uint64_t>(s));
  table["seeds"] = seed_list;
  core::Json trace_list = core::Json::array();
  for (const std::string& t : c.traces) trace_list.push_back(t);
  table["traces"] = trace_list;
  table["git_commit"] = core::GitCommit();
  table["created"] = core::UtcTimestamp();
  table["machine"] = core::MachineInfo();
  table["step_s"] = step_s;
  core::Json rows = core::Json::array();
  for (size_t p = 0; p < c.policies.size(); ++p) {
    std::map<std::string, std::vector<double>> pooled;
    std::vector<double> seed_reward(static_cast<size_t>(seeds), 0.0);
    core::Json by_trace = core::Json::object();
    size_t steps = 0;
    for (size_t t = 0; t < traces.size(); ++t) {
      double trace_reward = 0.0;
      for (int s = 0; s < seeds; ++s) {
        const core::Json ep = core::ReadJsonFile(file_of({p, t, static_cast<size_t>(s)}));
        const std::vector<double> rw = ep["rewards"].get<std::vector<double>>();
        const double mean = MeanOf(rw);
        seed_reward[static_cast<size_t>(s)] += mean / static_cast<double>(traces.size());
        trace_reward += mean / seeds;
        steps += rw.size();
        for (const std::string& k : ep["keys"].get<std::vector<std::string>>()) {
          auto& dst = pooled[k];
          for (const core::Json& v : ep["info"][k]) dst.push_back(JsonNum(v));
          const size_t dot = k.find('.');
          const std::string head = k.substr(0, dot), tail = k.substr(dot + 1);
          if (tail == "mbps" && head != "link" && head != "shaping" &&
              std::find(classes.begin(), classes.end(), head) == classes.end()) {
            classes.push_back(head);
          }
          if (tail == "sla_viol") sla_classes.insert(head);
        }
      }
      by_trace[traces[t].empty() ? "scenario" : BaseName(traces[t])] = trace_reward;
    }
    const double mean = MeanOf(seed_reward);
    double var = 0.0;
    for (double x : seed_reward) var += (x - mean) * (x - mean);
    var /= std::max(1, seeds - 1);
    const double ci = StudentT95(seeds - 1) * std::sqrt(var / seeds);
    auto key = [&](const std::string& k) -> const std::vector<double>& {
      static const std::vector<double> empty;
      auto it = pooled.find(k);
      return it == pooled.end() ? empty : it->second;
    };
    core::Json row;
    const std::string& policy = c.policies[p];
    row["policy"] = policy;
    row["kind"] = IsBaseline(policy) ? "baseline" : "trained";
    row["reward_mean"] = Num(mean);
    row["reward_ci95"] = Num(ci);
    row["reward_by_seed"] = seed_reward;
    row["reward_by_trace"] = by_trace;
    row["episodes"] = static_cast<int64_t>(traces.size()) * seeds;
    row["env_steps"] = static_cast<int64_t>(steps);
    core::Json cls = core::Json::object();
    for (const std::string& k : classes) {
      cls[k]["mbps"] = Num(MeanOf(key(k + ".mbps")));
      cls[k]["delay_p95_ms"] = Num(MeanOf(key(k + ".delay95")));
      cls[k]["delay_p95_tail_ms"] = Num(QuantileOf(key(k + ".delay95"), 0.95));
      cls[k]["sla_violation_rate"] =
          sla_classes.count(k) ? Num(MeanOf(key(k + ".sla_viol"))) : core::Json(nullptr);
    }
    row["classes"] = cls;
    const double minutes = static_cast<double>(key("shaping.mbps").size()) * step_s / 60.0;
    row["video_kbps"] = Num(MeanOf(key("video.kbps")));
    row["video_stall_s_per_min"] = pooled.count("video.stall_s") && minutes > 0
                                       ? Num(SumOf(key("video.stall_s")) / minutes)
                                       : core::Json(nullptr);
    row["gaming_rtt_p95_ms"] = Num(MeanOf(key("gaming.rtt95")));
    row["gaming_rtt_p95_tail_ms"] = Num(QuantileOf(key("gaming.rtt95"), 0.95));
    row["gaming_loss"] = Num(MeanOf(key("gaming.loss")));
    row["web_page_ms"] = Num(MeanOf(key("web.fct_ms")));
    // Delivered over capacity, summed over the steps (a mean of per-step ratios would weigh
    // the near-outage steps, where the shaper's queue drains past a tiny capacity, too much).
    {
      const std::vector<double>&d = key("link.mbps"), &cap = key("link.cap_mbps");
      double sd = 0, sc = 0;
      for (size_t i = 0; i < std::min(d.size(), cap.size()); ++i) {
        if (std::isfinite(d[i]) && std::isfinite(cap[i])) {
          sd += d[i];
          sc += cap[i];
        }
      }
      row["link_util"] = Num(sc > 0 ? sd / sc : NAN);
    }
    row["shaping_mbps"] = Num(MeanOf(key("shaping.mbps")));
    row["reads_truth"] = policy == "oracle";
    row["train_seconds"] = Num(runs[p].seconds);
    row["train_env_steps"] = Num(runs[p].env_steps);
    row["trained_on"] = runs[p].trained_on;
    rows.push_back(row);
  }
  table["policies"] = rows;
  result.table = table;
  core::WriteFileAtomic(result.dir + "/table.json", core::DumpJson(table));

  // table.md
  std::string md = "# " + c.experiment.String("name") + "\n\n";
  if (!c.experiment.String("description").empty()) {
    md += c.experiment.String("description") + "\n\n";
  }
  md += "- env: `" + c.env_id + "`, scenario `" + any.String("scenario") + "`\n";
  std::vector<std::string> tn;
  for (const std::string& t : c.traces) tn.push_back(BaseName(t));
  md += "- held-out traces: " +
        (tn.empty() ? std::string("the scenario's own") : core::Join(tn, ", ")) + "\n";
  md += "- seeds: " + std::to_string(seeds) + " (" + std::to_string(seed0) + ".." +
        std::to_string(seed0 + static_cast<uint64_t>(seeds) - 1) + "), " +
        std::to_string(jobs.size()) + " episodes, step " + core::FormatDouble(step_s) + " s\n";
  md += std::string("- git commit ") + core::GitCommit() + ", " + core::UtcTimestamp() + "\n\n";
  md +=
      "Reward: mean per step, 95 % t-interval over seeds. Delays and game RTT: each step's "
      "p95, averaged over the steps (table.json also has the 95th percentile over the steps, "
      "`*_tail_ms`). Link util: delivered / true capacity. `oracle` reads the true capacity "
      "(a reference, not a competitor).\n\n";
  md +=
      "| policy | reward | link util | shaped Mbit/s | video kbit/s | stall s/min | game RTT "
      "p95 ms | game loss | web page ms | train s | train steps |\n";
  md += "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const core::Json& r : rows) {
    md += "| " + r["policy"].get<std::string>() + " | " + Fmt("%.3f", JsonNum(r["reward_mean"])) +
          " ± " + Fmt("%.3f", JsonNum(r["reward_ci95"])) + " | " +
          Fmt("%.2f", JsonNum(r["link_util"])) + " | " + Fmt("%.2f", JsonNum(r["shaping_mbps"])) +
          " | " + Fmt("%.0f", JsonNum(r["video_kbps"])) + " | " +
          Fmt("%.2f", JsonNum(r["video_stall_s_per_min"])) + " | " +
          Fmt("%.0f", JsonNum(r["gaming_rtt_p95_ms"])) + " | " +
          Fmt("%.3f", JsonNum(r["gaming_loss"])) + " | " + Fmt("%.0f", JsonNum(r["web_page_ms"])) +
          " | " + Fmt("%.0f", JsonNum(r["train_seconds"])) + " | " +
          Fmt("%.0f", JsonNum(r["train_env_steps"])) + " |\n";
  }
  md +=
      "\nPer class: throughput Mbit/s / one-way delay p95 ms / SLA violation rate (– where "
      "the class has no SLA).\n\n| policy |";
  std::string sep = "|---|";
  for (const std::string& k : classes) {
    md += " " + k + " |";
    sep += "---|";
  }
  md += "\n" + sep + "\n";
  for (const core::Json& r : rows) {
    md += "| " + r["policy"].get<std::string>() + " |";
    for (const std::string& k : classes) {
      const core::Json& x = r["classes"][k];
      md += " " + Fmt("%.2f", JsonNum(x["mbps"])) + " / " +
            Fmt("%.0f", JsonNum(x["delay_p95_ms"])) + " / " +
            Fmt("%.2f", JsonNum(x["sla_violation_rate"])) + " |";
    }
    md += "\n";
  }
  bool any_trained = false;
  for (const core::Json& r : rows) any_trained = any_trained || r["kind"] == "trained";
  if (any_trained) {
    md += "\nTrained on (the run's training traces):\n\n";
    for (const core::Json& r : rows) {
      if (r["kind"] == "trained") {
        md += "- " + r["policy"].get<std::string>() + ": " +
              (r["trained_on"].get<std::string>().empty() ? std::string("unknown")
                                                          : r["trained_on"].get<std::string>()) +
              "\n";
      }
    }
  }
  core::WriteFileAtomic(result.dir + "/table.md", md);
  if (progress) std::cerr << "linklab: eval tables in " << result.dir << "\n";
  return result;
}

}  // namespace linklab::experiments
