#include "experiments/bench.h"

#include <sys/utsname.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "agents/runtime_info.h"
#include "agents/trainer.h"
#include "core/machine.h"
#include "core/progress.h"
#include "core/registry.h"
#include "core/rng.h"
#include "core/text.h"
#include "envs/registry.h"
#include "experiments/bench_htb.h"
#include "experiments/config.h"
#include "experiments/kernel_htb.h"
#include "models/model.h"
#include "models/sequence_model.h"
#include "sim/calibration.h"
#include "sim/capacity.h"
#include "sim/scenario.h"
#include "sim/shaping.h"

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

// Steps between clock reads: about a twentieth of the time budget at the env's registered cost
// per step (cost_us_per_step, plus `overhead_us` per step), from 1 to 1024, so that an
// expensive env (ns-3) keeps its budget and a cheap one is not dominated by clock reads.
int64_t ChunkSteps(double cost_us, double overhead_us, double seconds) {
  const double per_step_us = std::max(cost_us + overhead_us, 1e-3);
  return std::clamp<int64_t>(static_cast<int64_t>(seconds * 1e6 / 20.0 / per_step_us), 1, 1024);
}

// One measured env: a registered name with parameters, and its label in reports.
struct EnvCase {
  std::string label;  // "CartPole-v1", "shaping (fluid)"
  std::string name;
  core::RawValues values;
  core::Params Params() const { return envs::ResolveEnvParams(name, values, "env " + label); }
};

// The cases of env `name`: its defaults; an env with a `scenario` parameter on each backend
// (its default scenario with backend=fluid and with backend=ns3).
std::vector<EnvCase> EnvCases(const std::string& name) {
  const auto& entry = envs::EnvRegistry().Find(name);
  for (const core::ParamSpec& p : entry.params) {
    if (p.name != "scenario") continue;
    std::vector<EnvCase> cases;
    for (const char* backend : {"fluid", "ns3"}) {
      core::Spec scenario = core::Spec::Parse(p.default_text, "bench scenario");
      scenario.Set("backend", backend);
      cases.push_back(
          {name + " (" + backend + ")", name, {{"scenario", {scenario.Text(), "bench envs"}}}});
    }
    return cases;
  }
  return {{name, name, {}}};
}

// The case as one spec: "shaping(scenario=tethered(backend=fluid))".
std::string Spec(const EnvCase& c) {
  core::Spec spec(c.name, "env spec");
  for (const auto& [k, v] : c.values) spec.Set(k, v.text);
  return spec.Text();
}

core::Json BenchSingle(const EnvCase& c, double seconds) {
  const std::string& name = c.name;
  const core::Params params = c.Params();
  const double cost_us = envs::EnvTraits(name, params).cost_us_per_step;
  const int64_t chunk = ChunkSteps(cost_us, 0.0, seconds);
  auto env = envs::MakeEnv(name, params);
  const auto pool = ActionPool(env->action_space(), 4096, 7);
  env->Reset(0);
  int64_t steps = 0, episodes = 0;
  const auto t0 = Clock::now();
  double elapsed = 0.0;
  while (elapsed < seconds) {
    for (int64_t k = 0; k < chunk; ++k) {
      const envs::StepResult r = env->Step(pool[steps & 4095]);
      ++steps;
      if (r.done()) {
        env->Reset();
        ++episodes;
      }
    }
    elapsed = Since(t0);
  }
  core::Json j = core::Json::object();
  j["env"] = c.label;
  if (!c.values.empty()) j["spec"] = Spec(c);
  j["mode"] = "single";
  j["num_envs"] = 1;
  j["steps"] = steps;
  j["episodes"] = episodes;
  j["seconds"] = elapsed;
  j["steps_per_second"] = steps / elapsed;
  j["trait_cost_us_per_step"] = cost_us;
  return j;
}

core::Json BenchVector(const EnvCase& c, const std::string& mode, int num_envs, double seconds) {
  const std::string& name = c.name;
  envs::VectorOptions opts;
  opts.num_envs = num_envs;
  opts.mode = mode;
  const core::Params params = c.Params();
  const double cost_us = envs::EnvTraits(name, params).cost_us_per_step;
  // A vector step costs every sub-env's step in sync mode, about one sub-env's step and a
  // socket round trip (~30 us here) with workers.
  const int64_t reps =
      std::max<int64_t>(1, ChunkSteps(mode == "sync" ? cost_us * num_envs : cost_us,
                                      mode == "sync" ? 0.0 : 30.0, seconds) /
                               16);
  auto env = envs::MakeVectorEnv(name, params, opts);
  const auto pool = ActionPool(env->single_action_space(), 4096, 7);
  envs::Array actions;
  env->Reset(0);
  int64_t steps = 0, k = 0;
  const auto t0 = Clock::now();
  double elapsed = 0.0;
  while (elapsed < seconds) {
    for (int64_t rep = 0; rep < reps; ++rep) {
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
  core::Json j = core::Json::object();
  j["env"] = c.label;
  if (!c.values.empty()) j["spec"] = Spec(c);
  j["mode"] = mode;
  j["num_envs"] = num_envs;
  j["steps"] = steps;
  j["seconds"] = elapsed;
  j["steps_per_second"] = steps / elapsed;
  j["trait_cost_us_per_step"] = cost_us;
  return j;
}

// The cases `--only` selects (all when empty). Remembers every case name it was asked about, so
// that an --only matching none is an error listing the cases.
class CaseFilter {
 public:
  CaseFilter(std::string area, std::string only) : area_(std::move(area)), only_(std::move(only)) {}
  bool Want(const std::string& name) {
    names_.push_back(name);
    const bool want = only_.empty() || name.find(only_) != std::string::npos;
    any_ = any_ || want;
    return want;
  }
  void CheckAny() const {
    if (any_) return;
    throw std::invalid_argument("bench " + area_ + " --only = '" + only_ +
                                "': no case matches; cases: " + core::Join(names_, ", "));
  }

 private:
  std::string area_, only_;
  std::vector<std::string> names_;
  bool any_ = false;
};

core::Json Header(const std::string& area) {
  core::Json j = core::Json::object();
  j["area"] = area;
  j["created"] = core::UtcTimestamp();
  j["git_commit"] = core::GitCommit();
  j["machine"] = core::MachineInfo();
  return j;
}

}  // namespace

core::Json BenchEnvs(const BenchOptions& options) {
  core::Json report = Header("envs");
  core::Json results = core::Json::array();
  CaseFilter filter("envs", options.only);
  for (const auto& name : envs::EnvRegistry().Names()) {
    for (const EnvCase& c : EnvCases(name)) {
      if (!filter.Want(c.label)) continue;
      std::cerr << "bench envs: " << c.label << "\n";
      const core::Params params = c.Params();
      results.push_back(BenchSingle(c, options.seconds));
      // An env that needs its own process cannot run 8 copies in one (MakeVectorEnv would make
      // them workers, which the process case measures).
      if (!envs::EnvTraits(name, params).own_process) {
        results.push_back(BenchVector(c, "sync", 8, options.seconds));
      } else {
        std::cerr << "bench envs: " << c.label << ": no sync case (needs a process of its own)\n";
      }
      results.push_back(BenchVector(c, "process", 2, options.seconds));
    }
  }
  filter.CheckAny();
  report["results"] = std::move(results);
  core::Json ref = core::Json::object();
  ref["CartPole-v1 single, Gymnasium (Python) steps_per_second"] = 400000;
  ref["source"] = "issue 2: the reference Python implementation steps about 0.4 M/s";
  report["reference"] = std::move(ref);
  report["notes"] =
      "actions are pre-sampled; single mode resets on episode end; vector modes use "
      "next-step autoreset. Env steps are summed over sub-envs. Clock reads are spaced by the "
      "env's registered cost per step (trait_cost_us_per_step); envs that need a process of "
      "their own have no sync case. An env with a scenario parameter is measured on its "
      "default scenario on each backend (spec).";
  return report;
}

core::Json BenchAgents(const BenchOptions& options) {
  core::Json report = Header("agents");
  core::Json results = core::Json::array();
  const std::string dir = std::string(LINKLAB_SOURCE_DIR) + "/experiments/reference/";
  // The reference configs, and PPO with its registry defaults (CleanRL's: 4 envs x 128 steps,
  // 4 epochs of 4 minibatches) over the same budget.
  struct Case {
    const char* name;
    const char* config;
    std::vector<std::string> sets;
  };
  const Case cases[] = {
      {"ppo_cartpole", "ppo_cartpole.ini", {}},
      {"ppo_cartpole_defaults",
       "ppo_cartpole.ini",
       {"env.num_envs=4", "agent.num_steps=128", "agent.num_minibatches=4", "agent.update_epochs=4",
        "agent.gamma=0.99", "agent.gae_lambda=0.95", "agent.ent_coef=0.01",
        "agent.learning_rate=0.00025"}},
      {"dqn_cartpole", "dqn_cartpole.ini", {}},
  };
  CaseFilter filter("agents", options.only);
  for (const Case& c : cases) {
    const std::string name = c.name;
    if (!filter.Want(name)) continue;
    std::vector<std::string> sets = c.sets;
    sets.push_back("train.progress=false");
    if (options.steps > 0) sets.push_back("train.total_steps=" + std::to_string(options.steps));
    const ExperimentConfig config = LoadExperiment(dir + c.config, sets);
    std::cerr << "bench agents: " << name << " (" << config.train.Int("total_steps") << " steps)\n";
    auto env = envs::MakeVectorEnv(config.env_id(), config.env_params,
                                   envs::VectorOptionsFrom(config.env));
    agents::AgentContext ctx{env->single_observation_space(), env->single_action_space(),
                             env->num_envs(), config.train.Int("total_steps"), config.seed()};
    auto agent = agents::MakeAgent(config.algo(), config.agent, ctx);
    core::MetricsLog metrics;
    agents::TrainOptions topts;
    topts.total_steps = config.train.Int("total_steps");
    topts.seed = config.seed();
    topts.progress = false;
    const agents::TrainResult r = agents::Train(*agent, *env, topts, metrics);
    core::Json j = core::Json::object();
    j["case"] = name;
    j["config"] = std::string("experiments/reference/") + c.config;
    j["overrides"] = core::Json(c.sets);
    j["env"] = config.env_id();
    j["algo"] = config.algo();
    j["num_envs"] = env->num_envs();
    j["env_steps"] = r.env_steps;
    j["updates"] =
        static_cast<int64_t>(metrics.Has("train/updates") ? metrics.Get("train/updates").rows : 0);
    j["seconds"] = r.seconds;
    j["steps_per_second"] = r.env_steps / r.seconds;
    j["mean_return_last100"] = r.mean_return_last100;
    results.push_back(std::move(j));
  }
  filter.CheckAny();
  report["results"] = std::move(results);
  report["runtime"] = agents::TorchRuntimeInfo();  // after the agents set their threads
  core::Json ref = core::Json::object();
  ref["CleanRL dqn.py CartPole-v1 steps_per_second"] = 3400;
  ref["target steps_per_second (10x)"] = 34000;
  ref["source"] = "CleanRL docs' timing plot, via shared/reference/REFERENCE.md";
  report["reference"] = std::move(ref);
  return report;
}

namespace {

// Runs `spec` until `sim_s` simulated seconds or `wall_budget_s` of wall time, whichever comes
// first, and reports the cost per simulated second. Steps start small and grow up to `step_s`
// as the measured cost allows, so that even a case far slower than expected (10 Gbit/s on
// ns-3) overruns its budget by at most about one small step.
struct ScenarioCost {
  core::Json report;
  double wall_per_sim_second = 0.0;
};

ScenarioCost BenchScenario(const std::string& label, const std::string& spec, double sim_s,
                           double wall_budget_s, double step_s = 1.0) {
  std::cerr << "bench sim: " << label << " = " << spec << "\n";
  auto scenario = sim::MakeScenario(spec);
  const core::Spec parsed = core::Spec::Parse(spec, "scenario spec");
  const auto t_build = Clock::now();
  scenario->Start(1);
  const double build_s = Since(t_build);
  const auto t0 = Clock::now();
  double wall = 0.0;
  double dt = std::min(step_s, 0.02);
  while (scenario->now_s() < sim_s - 1e-9 && wall < wall_budget_s) {
    const double step = std::min(dt, sim_s - scenario->now_s());
    const double before = wall;
    scenario->Advance(step);
    wall = Since(t0);
    // The next step takes at most a tenth of the budget left at this step's cost, and at most
    // twice as long as this one (cost per simulated second climbs while TCP ramps up).
    const double cost = std::max(wall - before, 1e-9) / step;
    dt = std::clamp(0.1 * (wall_budget_s - wall) / cost, 0.001, std::min(step_s, 2 * step));
  }
  const sim::SimCounters c = scenario->counters();
  const double simulated = scenario->now_s();
  core::Json j = core::Json::object();
  j["case"] = label;
  j["scenario"] = spec;
  j["backend"] = parsed.Has("backend") ? parsed.Get("backend") : "ns3";
  j["simulated_s"] = simulated;
  j["wall_s"] = wall;
  j["build_wall_s"] = build_s;
  j["wall_per_sim_second"] = wall / simulated;
  j["wall_budget_s"] = wall_budget_s;
  j["stopped_by"] = simulated < sim_s - 1e-9 ? "wall budget" : "simulated time";
  j["events"] = static_cast<int64_t>(c.events);
  j["events_per_wall_second"] = c.events / wall;
  j["packets_delivered"] = static_cast<int64_t>(c.packets_delivered);
  j["packets_per_wall_second"] = c.packets_delivered / wall;
  j["delivered_mbps"] = c.bytes_delivered * 8.0 / simulated / 1e6;
  return {std::move(j), wall / simulated};
}

// The path of a trace, or "" with `why` saying where it was looked for when it is not here.
std::string FindTraceOrWhy(const std::string& name, std::string* why) {
  try {
    return sim::FindTrace(name);
  } catch (const std::invalid_argument& e) {
    *why = e.what();
    return "";
  }
}

// A case that could not run here, with the reason, in the report and on the terminal.
core::Json Skipped(const std::string& label, const std::string& why) {
  std::cerr << "bench sim: " << label << " skipped: " << why << "\n";
  core::Json j = core::Json::object();
  j["case"] = label;
  j["skipped"] = why;
  return j;
}

void ClassCalibration(const std::string& spec, const std::string& shaping_name,
                      const sim::HtbConfig* shaping, double seconds, core::Json& results) {
  std::cerr << "bench sim: calibration per class " << spec << " " << shaping_name << "\n";
  for (const sim::ClassComparison& c : sim::CompareClasses(spec, shaping, seconds)) {
    core::Json row = core::Json::object();
    row["case"] = "calibration_class";
    row["scenario"] = spec;
    row["shaping"] = shaping_name;
    row["class"] = c.app_class;
    for (const sim::MetricComparison& m : c.metrics) {
      core::Json& j = row["metrics"][m.name];
      j["ns3"] = m.ns3;
      j["fluid"] = m.fluid;
      j["error"] = m.Error();
      j["target"] = m.target;
      j["met"] = m.met;
    }
    row["within_targets"] = c.Within();
    results.push_back(std::move(row));
  }
}

}  // namespace

core::Json BenchSim(const BenchOptions& options) {
  core::Json report = Header("sim");
  core::Json results = core::Json::array();
  const double budget = 20.0 * options.seconds;  // wall seconds per case
  CaseFilter filter("sim", options.only);
  auto want = [&](const std::string& name) { return filter.Want(name); };
  // Every scenario with its defaults.
  for (const auto& name : sim::ScenarioRegistry().Names()) {
    if (want(name)) results.push_back(BenchScenario(name, name, 10.0, budget).report);
  }
  // The fluid backend against ns-3 on the tethered reference scenario (a real LTE trace from
  // ../shared/data), measured in this run; skipped, saying why, where the trace is missing.
  std::string why;
  const std::string reference_trace = FindTraceOrWhy("ATT-LTE-driving.down", &why);
  const bool fluid = want("fluid");
  if (fluid && reference_trace.empty()) results.push_back(Skipped("fluid_speedup", why));
  if (fluid && !reference_trace.empty()) {
    core::Spec reference("tethered", "scenario spec");
    reference.Set("capacity", "trace").Set("trace", reference_trace);
    ScenarioCost ns3 = BenchScenario("tethered_reference_ns3", reference.Text(), 60.0, budget);
    ScenarioCost fluid =
        BenchScenario("tethered_reference_fluid",
                      core::Spec(reference).Set("backend", "fluid").Text(), 3600.0, budget);
    core::Json ratio = core::Json::object();
    ratio["case"] = "fluid_speedup";
    ratio["scenario"] = reference.Text();
    ratio["ns3_wall_per_sim_second"] = ns3.wall_per_sim_second;
    ratio["fluid_wall_per_sim_second"] = fluid.wall_per_sim_second;
    ratio["speedup"] = ns3.wall_per_sim_second / fluid.wall_per_sim_second;
    ratio["target"] = "fluid >= 1000x faster than ns-3 (issue 5)";
    results.push_back(std::move(ns3.report));
    results.push_back(std::move(fluid.report));
    results.push_back(std::move(ratio));
  }
  // Calibration of the fluid backend against ns-3 on the reference scenarios: one minute of
  // the same config on both (two seconds for the datacenter), throughput and p95 delay of the
  // bottleneck direction (the incast receiver's port) (targets: within 10 % and 25 %).
  if (want("calibration")) {
    std::vector<std::string> refs;
    for (const char* trace : {"ATT-LTE-driving.down", "TMobile-LTE-driving.down"}) {
      const std::string path = FindTraceOrWhy(trace, &why);
      if (path.empty()) {
        results.push_back(Skipped(std::string("calibration ") + trace, why));
        continue;
      }
      refs.push_back(core::Spec("tethered", "scenario spec")
                         .Set("capacity", "trace")
                         .Set("trace", path)
                         .Text());
    }
    refs.push_back("tethered(capacity=markov)");
    refs.push_back("internet(base_mbps=100)");
    refs.push_back("datacenter(link_gbps=1,rtt_ms=0.2)");
    for (const std::string& spec : refs) {
      std::cerr << "bench sim: calibration " << spec << "\n";
      core::Json row = core::Json::object();
      row["case"] = "calibration";
      row["scenario"] = spec;
      double figures[2][2];
      const char* backends[2] = {"ns3", "fluid"};
      for (int b = 0; b < 2; ++b) {
        auto s = sim::MakeScenario(
            core::Spec::Parse(spec, "scenario spec").Set("backend", backends[b]).Text());
        s->Start(1);
        const bool dc = spec.rfind("datacenter", 0) == 0;
        for (const sim::LinkSample& x : s->Advance(dc ? 2.0 : 60.0)) {
          if (x.link == (dc ? "rx" : "down") && x.app_class == "all") {
            figures[b][0] = x.bytes_delivered * 8e-6 / x.interval_s;
            figures[b][1] = x.delay_p95_ms;
          }
        }
        row[backends[b]]["throughput_mbps"] = figures[b][0];
        row[backends[b]]["delay_p95_ms"] = figures[b][1];
      }
      const double thr = figures[1][0] / figures[0][0] - 1.0;
      const double p95 = figures[1][1] / figures[0][1] - 1.0;
      row["throughput_error"] = thr;
      row["p95_delay_error"] = p95;
      row["within_targets"] = std::fabs(thr) <= 0.10 && std::fabs(p95) <= 0.25;
      results.push_back(std::move(row));
    }
  }
  // Per class, the default application mix on the real traces: unshaped (the transparent
  // HTB), then under three HTB configs sized to the trace's mean capacity.
  if (want("calibration_class")) {
    for (const char* trace : {"ATT-LTE-driving.down", "TMobile-LTE-driving.down"}) {
      const std::string path = FindTraceOrWhy(trace, &why);
      if (path.empty()) {
        results.push_back(Skipped(std::string("calibration_class ") + trace, why));
        continue;
      }
      const std::string spec = core::Spec("tethered", "scenario spec")
                                   .Set("capacity", "trace")
                                   .Set("trace", path)
                                   .Text();
      ClassCalibration(spec, "none", nullptr, 60.0, results);
      auto probe = sim::MakeScenario(spec);
      probe->Start(1);
      double mbps = 0;
      for (const sim::LinkSample& x : probe->Advance(60.0)) {
        if (x.link == "down" && x.app_class == "all") mbps = x.capacity_mbps;
      }
      probe.reset();
      for (const auto& [name, htb] : sim::ClassShapingCases(mbps)) {
        ClassCalibration(spec, name, &htb, 60.0, results);
      }
    }
  }
  // The scale knob: the datacenter fabric with every rate and transfer scaled down 10x and
  // with standard 1500-byte frames instead of jumbo frames.
  if (want("datacenter_scale0.1")) {
    results.push_back(
        BenchScenario("datacenter_scale0.1", "datacenter(scale=0.1)", 10.0, budget).report);
  }
  if (want("datacenter_mtu1500")) {
    results.push_back(
        BenchScenario("datacenter_mtu1500", "datacenter(mtu=1500)", 10.0, budget).report);
  }
  // How cost grows with link rate: one bulk TCP flow over a constant-rate wide-area link.
  for (double mbps : {1.0, 10.0, 100.0, 1000.0, 10000.0}) {
    const std::string label = "rate_" + core::FormatDouble(mbps) + "mbps";
    if (!want(label)) continue;
    const std::string spec = core::Spec("internet", "scenario spec")
                                 .Set("capacity", "constant")
                                 .Set("base_mbps", core::FormatDouble(mbps))
                                 .Set("access_mbps", core::FormatDouble(std::max(1000.0, 2 * mbps)))
                                 .Set("cross_flows", "0")
                                 .Set("workload", "bulk")
                                 .Set("rtt_ms", "20")
                                 .Set("loss", "0")
                                 .Set("qdisc", "none")
                                 .Text();
    // Short steps: at high rates the cost per simulated second rises steeply in slow start.
    results.push_back(BenchScenario(label, spec, 10.0, budget, 0.01).report);
  }
  filter.CheckAny();
  report["results"] = std::move(results);
  report["notes"] =
      "wall_per_sim_second: wall-clock seconds per simulated second (lower is faster); "
      "each case stops at 10 simulated seconds or its wall budget, whichever comes "
      "first. Reference (issue 4): plain ns-3 point-to-point, one 16 MB-buffered TCP "
      "flow: 0.06 s at 10 Mbit/s, 3.9 s at 1 Gbit/s, 319 s at 10 Gbit/s.";
  return report;
}

core::Json BenchHtb(const BenchOptions& options) {
  core::Json report = Header("htb");
  utsname u{};
  if (uname(&u) == 0) {
    report["uname"] = std::string(u.sysname) + " " + u.release + " " + u.version + " " + u.machine;
  }
  const double warmup_s = 2.0, measure_s = 8.0 * options.seconds;
  constexpr double kTarget = 0.10;  // of the class's expected rate
  // A kernel figure is the shaper's when the root runs within 5 % of its expected rate and no
  // class queue is empty in more than one sample in ten (where the senders keep up, 0 to 3 %
  // of the samples find a queue empty on this machine; where they do not, 17 to 60 %).
  constexpr double kCredibleRoot = 0.05, kCredibleEmpty = 0.10;
  KernelHtbOptions kernel_options;
  kernel_options.warmup_s = warmup_s;
  kernel_options.measure_s = measure_s;
  kernel_options.progress = [](const std::string& line) {
    std::cerr << "bench htb:   " << line << "\n";
  };
  std::string kernel_skipped = KernelHtbMissing(kernel_options.tcp);
  if (!kernel_skipped.empty())
    std::cerr << "bench htb: kernel cases skipped: " << kernel_skipped << "\n";
  core::Json results = core::Json::array();
  CaseFilter filter("htb", options.only);
  const std::vector<HtbBenchCase> cases = HtbBenchCases();
  int done = 0;
  for (const HtbBenchCase& c : cases) {
    ++done;
    if (!filter.Want(c.name)) continue;
    std::cerr << "bench htb: [" << done << "/" << cases.size() << "] " << c.name << ": " << c.what
              << "\n";
    const std::vector<double> expected = sim::HtbExpectedRates(c.config, c.flows);
    KernelHtbResult kernel;
    bool have_kernel = false;
    if (kernel_skipped.empty()) {
      const auto t0 = Clock::now();
      try {
        kernel = RunKernelHtb(c.config, c.flows, kernel_options);
        have_kernel = true;
      } catch (const KernelHtbUnavailable& e) {
        kernel_skipped = e.what();
        std::cerr << "bench htb: kernel cases skipped: " << kernel_skipped << "\n";
      }
      if (have_kernel)
        std::cerr << "bench htb:   kernel done in " << core::HumanDuration(Since(t0)) << "\n";
    }
    std::map<std::string, std::vector<double>> sims;
    for (const char* backend : {"ns3", "fluid"}) {
      const auto t0 = Clock::now();
      sims[backend] = SimHtbMbps(c, backend, warmup_s, measure_s);
      std::cerr << "bench htb:   " << backend << " done in " << core::HumanDuration(Since(t0))
                << "\n";
    }
    // Is the kernel figure the shaper's, not the sending host's? The root should run at the
    // rate the expectation fills it to, and every class should have packets waiting nearly
    // always (HTB can only share out what is queued).
    std::string doubt;
    if (have_kernel) {
      double expected_total = 0.0;
      for (double x : expected) expected_total += x / 1e6;
      if (std::fabs(kernel.root_mbps - expected_total) > kCredibleRoot * expected_total) {
        doubt = "root at " + core::FormatDouble(std::round(kernel.root_mbps * 10) / 10) +
                " Mbit/s, expected " + core::FormatDouble(expected_total);
      }
      for (const KernelHtbClass& k : kernel.classes) {
        if (k.empty_fraction > kCredibleEmpty) {
          doubt += std::string(doubt.empty() ? "" : "; ") + sim::AppClassName(k.app_class) +
                   " queue empty in " + core::FormatDouble(std::round(100 * k.empty_fraction)) +
                   " % of samples";
        }
      }
      if (!doubt.empty()) std::cerr << "bench htb:   kernel figure in doubt: " << doubt << "\n";
    }
    for (size_t i = 0; i < c.flows.size(); ++i) {
      const size_t k =
          std::find_if(c.config.classes.begin(), c.config.classes.end(),
                       [&](const sim::HtbClassConfig& x) { return x.app_class == c.flows[i]; }) -
          c.config.classes.begin();
      const sim::HtbClassConfig& cfg = c.config.classes[k];
      const double want = expected[k] / 1e6, tolerance = kTarget * want;
      core::Json row = core::Json::object();
      row["case"] = c.name;
      row["what"] = c.what;
      row["class"] = sim::AppClassName(cfg.app_class);
      row["root_mbps"] = c.config.link_rate_bps / 1e6;
      row["rate_mbps"] = cfg.rate_bps / 1e6;
      row["ceil_mbps"] = cfg.ceil_bps / 1e6;
      row["prio"] = cfg.prio;
      row["quantum_bytes"] = sim::HtbQuantumBytes(cfg);
      row["quantum_explicit"] = cfg.quantum_bytes > 0;
      row["expected_mbps"] = want;
      row["expected_share"] = want / (c.config.link_rate_bps / 1e6);
      row["tolerance_mbps"] = tolerance;
      const double n = sims["ns3"][i], f = sims["fluid"][i];
      row["ns3_mbps"] = n;
      row["fluid_mbps"] = f;
      // Against the expectation too, for machines where the kernel cases are skipped.
      row["ns3_expected_error"] = n / want - 1.0;
      row["fluid_expected_error"] = f / want - 1.0;
      if (have_kernel) {
        const KernelHtbClass& kc = kernel.classes[i];
        row["kernel_mbps"] = kc.mbps;
        row["kernel_quantum_bytes"] = kc.quantum_bytes;
        row["kernel_packet_bytes"] = kc.packet_bytes;
        row["kernel_drops"] = static_cast<int64_t>(kc.drops);
        row["kernel_retransmits"] = kc.retransmits;
        row["kernel_goodput_mbps"] = kc.goodput_mbps;
        row["kernel_tcp"] = kc.tcp;
        row["kernel_root_mbps"] = kernel.root_mbps;
        row["kernel_measured_s"] = kernel.measured_s;
        row["kernel_backlog_packets"] = kc.backlog_packets;
        row["kernel_empty_fraction"] = kc.empty_fraction;
        row["kernel_credible"] = doubt.empty();
        if (!doubt.empty()) row["kernel_doubt"] = doubt;
        if (!kernel.notes.empty()) row["kernel_notes"] = core::Join(kernel.notes, "; ");
        row["kernel_error"] = kc.mbps / want - 1.0;
        row["kernel_met"] = std::fabs(kc.mbps - want) <= tolerance;
        row["ns3_error"] = n / kc.mbps - 1.0;
        row["ns3_met"] = std::fabs(n - kc.mbps) <= tolerance;
        row["fluid_error"] = f / kc.mbps - 1.0;
        row["fluid_met"] = std::fabs(f - kc.mbps) <= tolerance;
      } else {
        row["kernel_skipped"] = kernel_skipped;
      }
      results.push_back(std::move(row));
    }
  }
  filter.CheckAny();
  report["results"] = std::move(results);
  report["target"] =
      "each backend within 10 % of the class's expected rate of the kernel's figure; the kernel "
      "within the same of the expectation (Linux HTB semantics: sim::HtbExpectedRates)";
  report["notes"] =
      "kernel: two network namespaces joined by a veth pair (gso_max_segs 1, TSO/GSO/GRO off), "
      "HTB on the sender's end with the config's rates, ceils, prios and bursts (1 ms at the "
      "rate + 1600 bytes, as the sim), quanta explicit only where the config gives one (else "
      "the kernel's own from r2q 10), pfifo leaves, u32 filters by port; one iperf3 -C cubic "
      "flow per class; rates from the tc class byte counters (Ethernet frames, as HTB counts "
      "them) over the counted time after the warm-up. Sim: the same config at the downlink "
      "shaping point of " +
      HtbBenchScenario(cases.front(), "ns3") +
      " (the link at twice the root), delivered IP bytes per class over the same counted time "
      "after the same warm-up. warmup_s = 2, counted s = 8 x --seconds.";
  report["warmup_s"] = warmup_s;
  report["measure_s"] = measure_s;
  return report;
}

core::Json BenchModels(const BenchOptions& options) {
  models::RegisterSequenceModels(models::ModelRegistry());
  core::Json report = Header("models");
  core::Json results = core::Json::array();
  CaseFilter filter("models", options.only);
  for (const auto* entry : models::ModelRegistry().Entries()) {
    if (!filter.Want(entry->name)) continue;
    const core::Params params = core::Params::Resolve(entry->params, {}, "model " + entry->name);
    models::ModelContext c;
    c.window = params.Int("window");
    c.input_size = 6;  // source 002's features: bandwidth, latency, loss, jitter, hour, day
    // multi_horizon: the four targets at each of its three horizons
    c.output_size = entry->name == "traffic_v1" ? 1 : entry->name == "multi_horizon" ? 12 : 4;
    c.horizons = entry->name == "multi_horizon" ? 3 : 1;
    c.seed = 1;
    auto model = entry->make(params, c);
    const int64_t batch = 64;
    core::Rng rng(1);
    std::vector<float> x(static_cast<size_t>(batch * c.window * c.input_size));
    std::vector<float> y(static_cast<size_t>(batch * c.output_size));
    for (float& v : x) v = static_cast<float>(rng.Normal());
    for (float& v : y) v = static_cast<float>(rng.Normal());
    std::cerr << "bench models: " << entry->name << "\n";
    // Training: Adam steps on batches of 64 windows.
    model->Fit(x, y, batch);  // warm-up
    int64_t steps = 0;
    const auto t0 = std::chrono::steady_clock::now();
    double elapsed = 0.0;
    while (elapsed < options.seconds) {
      model->Fit(x, y, batch);
      ++steps;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    const double samples_per_s = static_cast<double>(steps * batch) / elapsed;
    // Inference: one window at a time, the live runner's case.
    const std::vector<float> one(x.begin(), x.begin() + c.window * c.input_size);
    model->Predict(one, 1);
    int64_t calls = 0;
    const auto t1 = std::chrono::steady_clock::now();
    elapsed = 0.0;
    while (elapsed < options.seconds) {
      model->Predict(one, 1);
      ++calls;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    }
    core::Json r = core::Json::object();
    r["model"] = entry->name;
    r["window"] = c.window;
    r["input_size"] = c.input_size;
    r["output_size"] = c.output_size;
    r["train_batch"] = batch;
    r["train_samples_per_second"] = samples_per_s;
    r["inference_us_per_sample"] = 1e6 * elapsed / static_cast<double>(calls);
    results.push_back(std::move(r));
  }
  filter.CheckAny();
  report["results"] = std::move(results);
  core::Json ref = core::Json::object();
  ref["inference_ms_target"] = "under 10 ms (source 002), under 100 / 150 ms (source 003)";
  ref["onnxruntime_us"] =
      "REFERENCE.md, ONNX Runtime 1.30 on this machine kind: v1 (10x6, 128/64) 192, "
      "datacenter (30x6, 128/64) 387, internet (60x6, 256/128) 1922";
  report["reference"] = std::move(ref);
  report["notes"] =
      "libtorch on one thread (the models' torch_threads default); training: Adam steps on "
      "batches of 64 random windows; inference: one window per call, no batching";
  return report;
}

std::vector<std::string> BenchAreas() {
  return {"envs", "agents", "sim", "htb", "models", "runtime", "live"};
}

core::Json RunBench(const std::string& area, const BenchOptions& options) {
  if (area == "envs") return BenchEnvs(options);
  if (area == "agents") return BenchAgents(options);
  if (area == "sim") return BenchSim(options);
  if (area == "htb") return BenchHtb(options);
  if (area == "models") return BenchModels(options);
  if (area == "runtime") return BenchRuntime(options);
  if (area == "live") return BenchLive(options);
  throw std::invalid_argument("unknown bench area '" + area +
                              "'; areas: " + core::Join(BenchAreas(), ", "));
}

}  // namespace linklab::experiments
