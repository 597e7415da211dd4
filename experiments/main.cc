// The linklab command line. Library code throws; only this file catches, prints one line and
// exits: 2 for bad input (config, arguments), 1 for failures at run time.

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/limits.h"
#include "core/machine.h"
#include "core/text.h"
#include "datasets/recording.h"
#include "envs/registry.h"
#include "envs/shaping/shaping_env.h"
#include "experiments/bench.h"
#include "experiments/config.h"
#include "experiments/eval.h"
#include "experiments/export.h"
#include "experiments/list.h"
#include "experiments/predictor.h"
#include "experiments/repro.h"
#include "experiments/run.h"
#include "experiments/sweep.h"
#include "models/sequence_model.h"
#include "sim/capacity.h"
#include "sim/scenario.h"
#include "sim/shaping.h"

namespace po = boost::program_options;
using namespace linklab;

namespace {

constexpr const char* kUsageTemplate = R"(usage: linklab <command> [options]

commands:
  run [CONFIG] [--set section.key=value ...] [--seeds 1,2,3]
                    train, evaluate and save one experiment (results/<name>/<time>/);
                    without CONFIG, the built-in defaults; --seeds runs one per seed
  run --resume RUN_FOLDER|CHECKPOINT
                    continue a run from its latest (or the given) checkpoint
  eval CONFIG [--policy NAME|RUN_DIR ...] [--traces PATH... --format mahimahi|pensieve]
       [--seeds N] [--out DIR] [--set section.key=value ...]
                    every policy (baselines, trained runs) on the same held-out traces and
                    seeds: table.md and table.json
  sweep SWEEP.ini [--out DIR] [--processes N] [--failed] [--plan]
        [--slurm [--partition P] [--time T] [--cpus-per-task N] [--mem M] [--max-parallel N]]
                    a base config over a grid of keys and seeds, each point a run folder in
                    <output>/<name>/runs/; locally N at a time, or as one Slurm job array;
                    again: skips done points, resumes interrupted ones, reruns failed ones
  sweep status DIR [--json]
                    every point's state from the run folders, squeue and sacct
  sweep collect DIR [--out DIR] [--plot KEY ...] [--no-plots]
                    one table over the points (mean and 95 % interval over seeds of each
                    figure: table.md, table.json, table.h5) and plots of a key against them
  repro [SUITE] [--out DIR] [--only CASE ...] [--update]
                    short versions of the reference experiments (experiments/repro/suite.ini),
                    each figure held to the committed reference within its tolerance:
                    report.md and report.json; exit 1 when one is out; --update writes them
  list [KINDS]
                    every registered name with its parameters and defaults
  bench AREA [--json FILE] [--seconds S] [--only NAME]
                    measure speed; areas: envs, agents, sim, models, runtime; htb checks the sim's HTB
                    against the Linux kernel's (needs root and iperf3)
  bench live [--json FILE] [--policy P.onnx] [--classes FILE] [--trace FILE] [--duration-s S]
             [--idle-s S]
                    linklab-live on an emulated cellular downlink in network namespaces (root,
                    iperf3, ping): throughput, ping under load, memory and CPU per policy;
                    writes results/bench/live.json by default and prints a table
  bench tables [--from DIR] [--readme README.md]
                    the README's benchmark tables from the committed reports
  simulate SCENARIO [--duration S] [--interval S] [--seed N] [--all-fields]
           [--shaping FILE ...]
                    run a scenario and print its LinkSamples (per link and class)
  dataset generate --scenario SPEC --duration 7d --interval 60s -o FILE.h5 [--seed N]
                    record LinkSample series of a scenario (backend=fluid for days)
  dataset import --format mahimahi|pensieve FILE... --interval 1s -o FILE.h5
                    turn real traces into the same layout
  dataset trace --scenario SPEC [--seed N] [--duration 10m] -o PREFIX
                    a scenario's link capacities for one seed as mahimahi traces
                    (PREFIX.down, PREFIX.up): synthetic traces of your own
  predictor train CONFIG [--set section.key=value ...]   (or: run CONFIG)
                    train a predictor of bandwidth, latency, loss, jitter on traces or data
                    sets ([experiment], [data], [model], [train], [trees]) with its
                    boosted-trees baseline: results/<name>/<time>/
  predictor train --resume RUN_DIR [--set train.key=value ...]   (or: run --resume)
                    continue it from its last checkpoint
  predictor eval --traces PATH... --format mahimahi|pensieve|h5 [--horizon-s H]
       [--interval-s 1] [--model RUN_DIR ...] [--ensemble mode|hybrid|both]
       [-o FILE.json] [--predictions FILE.csv]
                    forecasts on any traces: MAE, RMSE, MAPE, accuracy (within +-20 %) and
                    confidence calibration of trained predictors, their boosted trees,
                    their ensembles (pba_v3's mode detector and hybrid) and the classical
                    baselines
  export RUN_DIR -o model.onnx
                    a trained policy or predictor as an ONNX file (opset 17) with its
                    normaliser or scaler, features, action table, observation spec hash,
                    config and commit as metadata
  export --inspect model.onnx [--full]
                    print an ONNX file's inputs, outputs, ops and metadata
  version           print the version and git commit
  help              this text

Run 'linklab <command> --help' for the options of one command.
)";

// "envs|agents|models|scenarios": the registries `linklab list` shows.
std::string ListKindsText() { return core::Join(experiments::ListKinds(), "|"); }

// The usage text with the list kinds filled in.
std::string Usage() {
  std::string text = kUsageTemplate;
  const std::string slot = "[KINDS]";
  text.replace(text.find(slot), slot.size(), "[" + ListKindsText() + "]");
  return text;
}

// Parses `args` against `desc` (+ positionals); returns false when --help was asked.
bool Parse(const std::vector<std::string>& args, const po::options_description& desc,
           const po::positional_options_description& pos, po::variables_map& vm,
           const std::string& command) {
  po::options_description all(desc);
  all.add_options()("help,h", "show the options of this command");
  po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << "usage: linklab " << command << "\n" << all;
    return false;
  }
  return true;
}

int CmdRun(const std::vector<std::string>& args) {
  po::options_description desc("run options");
  desc.add_options()("config", po::value<std::string>(), "experiment config (INI)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a key: section.key=value (repeatable)")("seeds", po::value<std::string>(),
                                                        "run once per seed, e.g. 1,2,3")(
      "resume", po::value<std::string>(), "continue a run folder or checkpoint");
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  if (!Parse(args, desc, pos, vm, "run [CONFIG] [--set section.key=value ...]")) return 0;
  if (vm.count("resume") && experiments::IsPredictorRun(vm["resume"].as<std::string>())) {
    if (vm.count("config") || vm.count("seeds")) {
      throw std::invalid_argument("run --resume RUN_DIR takes no config or --seeds");
    }
    experiments::ResumePredictorTrain(
        vm["resume"].as<std::string>(),
        vm.count("set") ? vm["set"].as<std::vector<std::string>>() : std::vector<std::string>{});
    return 0;
  }
  if (vm.count("resume")) {
    if (vm.count("config") || vm.count("set") || vm.count("seeds")) {
      throw std::invalid_argument(
          "run --resume takes no config, --set or --seeds: a run "
          "resumes with the config it was started with");
    }
    experiments::ResumeExperiment(vm["resume"].as<std::string>());
    return 0;
  }
  std::vector<std::string> sets;
  if (vm.count("set")) sets = vm["set"].as<std::vector<std::string>>();
  std::vector<std::string> seeds = {""};
  if (vm.count("seeds")) seeds = core::Split(vm["seeds"].as<std::string>(), ',');
  // A config with a [model] section trains a predictor (`linklab predictor train`).
  if (vm.count("config") && experiments::IsPredictorConfig(vm["config"].as<std::string>())) {
    for (const auto& seed : seeds) {
      std::vector<std::string> s = sets;
      if (!seed.empty()) s.push_back("experiment.seed=" + core::Trim(seed));
      experiments::RunPredictorTrain(vm["config"].as<std::string>(), s);
    }
    return 0;
  }
  // Check every seed's config before the first run starts.
  std::vector<experiments::ExperimentConfig> configs;
  for (const auto& seed : seeds) {
    std::vector<std::string> s = sets;
    if (!seed.empty()) s.push_back("experiment.seed=" + core::Trim(seed));
    configs.push_back(vm.count("config")
                          ? experiments::LoadExperiment(vm["config"].as<std::string>(), s)
                          : experiments::ResolveExperiment({}, s, ""));
  }
  for (const auto& config : configs) experiments::RunExperiment(config);
  return 0;
}

int CmdSweep(const std::vector<std::string>& args) {
  if (!args.empty() && (args[0] == "status" || args[0] == "collect" || args[0] == "task")) {
    const std::string sub = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    po::options_description desc("sweep " + sub + " options");
    desc.add_options()("dir", po::value<std::string>(), "the sweep folder");
    if (sub == "status") desc.add_options()("json", "print the report as JSON");
    if (sub == "task") {
      desc.add_options()("point", po::value<std::string>(), "the point to run (its name)")(
          "array", po::value<std::string>(), "a Slurm submission's point list")(
          "array-index", po::value<int64_t>(), "with --array: the list's item to run");
    }
    if (sub == "collect") {
      desc.add_options()("out", po::value<std::string>()->default_value(""),
                         "the output folder (default DIR/collect)")(
          "plot", po::value<std::vector<std::string>>()->composing(),
          "a varied key to plot against each figure (repeatable; default: every one)")(
          "no-plots", "write the tables only");
    }
    po::positional_options_description pos;
    pos.add("dir", 1);
    po::variables_map vm;
    if (!Parse(rest, desc, pos, vm, "sweep " + sub + " DIR")) return 0;
    if (!vm.count("dir")) throw std::invalid_argument("sweep " + sub + ": missing DIR");
    const std::string dir = vm["dir"].as<std::string>();
    if (sub == "task") {
      if (vm.count("array") && vm.count("array-index") && !vm.count("point")) {
        return experiments::RunSweepArrayTask(dir, vm["array"].as<std::string>(),
                                              vm["array-index"].as<int64_t>());
      }
      if (!vm.count("point") || vm.count("array") || vm.count("array-index")) {
        throw std::invalid_argument("sweep task: --point NAME, or --array LIST --array-index I");
      }
      return experiments::RunSweepTask(dir, vm["point"].as<std::string>());
    }
    if (sub == "status") {
      const core::Json status = experiments::SweepStatus(dir);
      std::cout << (vm.count("json") ? core::DumpJson(status)
                                     : experiments::SweepStatusText(status));
      return 0;
    }
    experiments::CollectOptions o;
    o.out = vm["out"].as<std::string>();
    if (vm.count("plot")) o.plots = vm["plot"].as<std::vector<std::string>>();
    o.make_plots = !vm.count("no-plots");
    experiments::CollectSweep(dir, o);
    return 0;
  }
  po::options_description desc("sweep options");
  desc.add_options()("file", po::value<std::string>(), "the sweep file (INI)")(
      "out", po::value<std::string>()->default_value(""),
      "the sweep folder (default <output>/<name> of the sweep file)")(
      "processes", po::value<int64_t>()->default_value(0),
      "local runs at once (default: [sweep] processes, else the cores)")(
      "failed", "run (or submit) only the points that failed")(
      "plan", "write the plan and list the points; run nothing")(
      "slurm", "submit one Slurm job array instead of running here")(
      "partition", po::value<std::string>(), "Slurm: --partition (replaces [slurm] partition)")(
      "time", po::value<std::string>(), "Slurm: --time per task")(
      "cpus-per-task", po::value<int64_t>(), "Slurm: --cpus-per-task")(
      "mem", po::value<std::string>(), "Slurm: --mem per task")(
      "max-parallel", po::value<int64_t>(), "Slurm: array tasks running at once")(
      "account", po::value<std::string>(), "Slurm: --account")("qos", po::value<std::string>(),
                                                               "Slurm: --qos");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (!Parse(args, desc, pos, vm, "sweep SWEEP.ini [options] | sweep status|collect DIR")) {
    return 0;
  }
  if (!vm.count("file")) {
    throw std::invalid_argument(
        "sweep: missing SWEEP.ini (or: sweep status DIR, sweep collect DIR)");
  }
  experiments::SweepPlan plan =
      experiments::LoadSweep(vm["file"].as<std::string>(), vm["out"].as<std::string>());
  const bool slurm = vm.count("slurm") > 0;
  for (const char* key :
       {"partition", "time", "cpus-per-task", "mem", "max-parallel", "account", "qos"}) {
    if (vm.count(key) && !slurm) {
      throw std::invalid_argument(std::string("sweep --") + key + " needs --slurm");
    }
  }
  if (vm.count("partition")) plan.slurm.partition = vm["partition"].as<std::string>();
  if (vm.count("time")) plan.slurm.time = vm["time"].as<std::string>();
  if (vm.count("mem")) plan.slurm.mem = vm["mem"].as<std::string>();
  if (vm.count("account")) plan.slurm.account = vm["account"].as<std::string>();
  if (vm.count("qos")) plan.slurm.qos = vm["qos"].as<std::string>();
  if (vm.count("cpus-per-task")) {
    plan.slurm.cpus_per_task = vm["cpus-per-task"].as<int64_t>();
    if (plan.slurm.cpus_per_task < 1) {
      throw std::invalid_argument("sweep --cpus-per-task " +
                                  std::to_string(plan.slurm.cpus_per_task) + ": at least 1");
    }
  }
  if (vm.count("max-parallel")) {
    plan.slurm.max_parallel = vm["max-parallel"].as<int64_t>();
    if (plan.slurm.max_parallel < 0) {
      throw std::invalid_argument("sweep --max-parallel " +
                                  std::to_string(plan.slurm.max_parallel) + ": 0 or more");
    }
  }
  const int64_t processes = vm["processes"].as<int64_t>();
  if (processes < 0) {
    throw std::invalid_argument("sweep --processes " + std::to_string(processes) + ": 0 or more");
  }
  const auto selection = vm.count("failed") ? experiments::SweepSelection::kFailed
                                            : experiments::SweepSelection::kUnfinished;
  if (vm.count("plan")) {
    experiments::WritePlan(plan);
    std::cout << "sweep " << plan.name << " (" << plan.kind << " " << plan.base
              << "): " << plan.points.size() << " runs in " << plan.dir << "\n";
    for (const auto& p : plan.points) std::cout << "  " << p.name << "\n";
    return 0;
  }
  if (slurm) {
    // Slurm is asked before anything is written: a missing or unreachable one submits nothing.
    const std::string job = experiments::SubmitSweepSlurm(plan, selection);
    if (!job.empty()) std::cout << job << "\n";
    return 0;
  }
  return experiments::RunSweepLocal(plan, selection, processes) > 0 ? 1 : 0;
}

int CmdRepro(const std::vector<std::string>& args) {
  po::options_description desc("repro options");
  desc.add_options()("suite",
                     po::value<std::string>()->default_value("experiments/repro/suite.ini"),
                     "the suite file")("out", po::value<std::string>()->default_value(""),
                                       "the output folder (default results/repro/<time>)")(
      "only", po::value<std::vector<std::string>>()->composing(),
      "run only this case (repeatable)")("processes", po::value<int64_t>()->default_value(0),
                                         "local runs at once (0: the cores)")(
      "update", "write the reference tables instead of comparing with them");
  po::positional_options_description pos;
  pos.add("suite", 1);
  po::variables_map vm;
  if (!Parse(args, desc, pos, vm, "repro [SUITE] [--out DIR] [--only CASE] [--update]")) return 0;
  experiments::ReproOptions o;
  o.suite = vm["suite"].as<std::string>();
  o.out = vm["out"].as<std::string>();
  if (vm.count("only")) o.only = vm["only"].as<std::vector<std::string>>();
  o.processes = vm["processes"].as<int64_t>();
  if (o.processes < 0) {
    throw std::invalid_argument("repro --processes " + std::to_string(o.processes) + ": 0 or more");
  }
  o.update = vm.count("update") > 0;
  const core::Json report = experiments::RunRepro(o);
  return report["failed"].get<int64_t>() > 0 ? 1 : 0;
}

int CmdEval(const std::vector<std::string>& args) {
  po::options_description desc("eval options");
  desc.add_options()("config", po::value<std::string>(), "eval config (INI)")(
      "policy", po::value<std::vector<std::string>>()->composing(),
      "a baseline (none, bottleneck_fq_codel, sqm, static_htb, autorate, oracle) or a run folder "
      "with policy.bin; repeatable, replaces [eval] policies")(
      "traces", po::value<std::vector<std::string>>()->multitoken()->composing(),
      "trace files or folders; replaces [eval] traces")("format", po::value<std::string>(),
                                                        "the traces' format: mahimahi or pensieve")(
      "seeds", po::value<int>(), "seeds per policy and trace")(
      "out", po::value<std::string>(), "the output folder (default <output>/<name>/<time>)")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a key: section.key=value (repeatable)");
  po::positional_options_description pos;
  pos.add("config", 1);
  po::variables_map vm;
  if (!Parse(args, desc, pos, vm, "eval CONFIG [--policy P ...] [--traces PATH...]")) return 0;
  if (!vm.count("config")) throw std::invalid_argument("eval: missing CONFIG");
  experiments::EvalOverrides o;
  if (vm.count("policy")) o.policies = vm["policy"].as<std::vector<std::string>>();
  if (vm.count("traces")) o.traces = vm["traces"].as<std::vector<std::string>>();
  if (vm.count("format")) o.format = vm["format"].as<std::string>();
  if (vm.count("seeds")) {
    o.seeds = vm["seeds"].as<int>();
    if (o.seeds < 2) {
      throw std::invalid_argument("eval --seeds " + std::to_string(o.seeds) +
                                  ": at least 2 (the interval is over seeds)");
    }
  }
  if (vm.count("out")) o.out = vm["out"].as<std::string>();
  if (vm.count("set")) o.sets = vm["set"].as<std::vector<std::string>>();
  const experiments::EvalConfig config =
      experiments::LoadEvalConfig(vm["config"].as<std::string>(), o);
  experiments::RunEval(config);
  return 0;
}

int CmdExport(const std::vector<std::string>& args) {
  po::options_description desc("export options");
  desc.add_options()("run", po::value<std::string>(), "a run folder (policy or predictor)")(
      "output,o", po::value<std::string>(), "the ONNX file to write")(
      "inspect", po::value<std::string>(),
      "print an ONNX file's inputs, outputs, ops and metadata")(
      "full", "with --inspect: metadata values in full");
  po::positional_options_description pos;
  pos.add("run", 1);
  po::variables_map vm;
  if (!Parse(args, desc, pos, vm, "export RUN_DIR -o model.onnx | export --inspect model.onnx")) {
    return 0;
  }
  if (vm.count("inspect")) {
    if (vm.count("run")) throw std::invalid_argument("export: --inspect takes no RUN_DIR");
    std::cout << experiments::InspectOnnxFile(vm["inspect"].as<std::string>(), vm.count("full"));
    return 0;
  }
  if (!vm.count("run")) throw std::invalid_argument("export: missing RUN_DIR");
  if (!vm.count("output")) throw std::invalid_argument("export: missing -o model.onnx");
  std::cout << experiments::ExportRun(vm["run"].as<std::string>(), vm["output"].as<std::string>())
            << "\n";
  return 0;
}

int CmdPredictor(const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "eval" && args[0] != "train")) {
    throw std::invalid_argument("predictor: use 'predictor train' or 'predictor eval'");
  }
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "train") {
    po::options_description train("predictor train options");
    train.add_options()("config", po::value<std::string>(), "predictor config (INI)")(
        "set", po::value<std::vector<std::string>>()->composing(),
        "override a key: section.key=value (repeatable)")(
        "resume", po::value<std::string>(),
        "continue a run folder from its last checkpoint (--set may change [train] keys)");
    po::positional_options_description tpos;
    tpos.add("config", 1);
    po::variables_map tvm;
    if (!Parse(rest, train, tpos, tvm, "predictor train CONFIG [--set section.key=value ...]")) {
      return 0;
    }
    const std::vector<std::string> sets =
        tvm.count("set") ? tvm["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
    if (tvm.count("resume")) {
      if (tvm.count("config")) {
        throw std::invalid_argument(
            "predictor train --resume takes no CONFIG: a run resumes "
            "with the config it was started with");
      }
      experiments::ResumePredictorTrain(tvm["resume"].as<std::string>(), sets);
      return 0;
    }
    if (!tvm.count("config")) throw std::invalid_argument("predictor train: missing CONFIG");
    experiments::RunPredictorTrain(tvm["config"].as<std::string>(), sets);
    return 0;
  }
  po::options_description desc("predictor eval options");
  desc.add_options()("traces", po::value<std::vector<std::string>>()->multitoken()->composing(),
                     "trace files, folders or data sets (h5)")("format", po::value<std::string>(),
                                                               "mahimahi, pensieve or h5")(
      "horizon-s", po::value<double>()->default_value(1.0), "seconds ahead")(
      "interval-s", po::value<double>()->default_value(1.0), "resampling interval (s)")(
      "model", po::value<std::vector<std::string>>()->composing(),
      "a trained predictor (its run folder, from predictor train), evaluated beside the "
      "baselines; repeatable")("ensemble", po::value<std::string>()->default_value(""),
                               "with two or more --model, combine them too: mode (follow the "
                               "most confident), hybrid (blend by confidence) or both")(
      "output,o", po::value<std::string>()->default_value(""), "write the figures as JSON")(
      "predictions", po::value<std::string>()->default_value(""),
      "write every prediction as CSV (series, time_s, target, actual, each predictor's)");
  po::positional_options_description pos;
  pos.add("traces", -1);
  po::variables_map vm;
  if (!Parse(rest, desc, pos, vm, "predictor eval --traces PATH... --format F")) return 0;
  if (!vm.count("traces")) throw std::invalid_argument("predictor eval: missing --traces");
  if (!vm.count("format")) throw std::invalid_argument("predictor eval: missing --format");
  experiments::PredictorEvalOptions o;
  o.traces = vm["traces"].as<std::vector<std::string>>();
  o.format = vm["format"].as<std::string>();
  o.horizon_s = vm["horizon-s"].as<double>();
  o.interval_s = vm["interval-s"].as<double>();
  if (vm.count("model")) o.models = vm["model"].as<std::vector<std::string>>();
  o.ensemble = vm["ensemble"].as<std::string>();
  o.json_path = vm["output"].as<std::string>();
  o.predictions_path = vm["predictions"].as<std::string>();
  experiments::RunPredictorEval(o);
  return 0;
}

int CmdList(const std::vector<std::string>& args) {
  po::options_description desc("list options");
  desc.add_options()("kind", po::value<std::string>()->default_value(""),
                     ("one of " + core::Join(experiments::ListKinds(), ", ")).c_str());
  po::positional_options_description pos;
  pos.add("kind", 1);
  po::variables_map vm;
  if (!Parse(args, desc, pos, vm, "list [" + ListKindsText() + "]")) return 0;
  std::cout << experiments::ListRegistered(vm["kind"].as<std::string>());
  return 0;
}

int CmdSimulate(const std::vector<std::string>& args) {
  po::options_description desc("simulate options");
  desc.add_options()("scenario", po::value<std::string>(),
                     "scenario spec, e.g. tethered(rtt_ms=60)")(
      "duration", po::value<double>()->default_value(10.0), "simulated seconds")(
      "interval", po::value<double>()->default_value(1.0), "seconds per LinkSample")(
      "seed", po::value<uint64_t>()->default_value(1), "seed")(
      "all-fields", po::bool_switch(), "print every LinkSample field, not a summary")(
      "shaping", po::value<std::vector<std::string>>()->composing(),
      "shaping file (HTB classes of one shaping point) applied from the start; repeatable");
  po::positional_options_description pos;
  pos.add("scenario", 1);
  po::variables_map vm;
  if (!Parse(args, desc, pos, vm, "simulate SCENARIO [--duration S] [--interval S]")) return 0;
  if (!vm.count("scenario")) throw std::invalid_argument("simulate: missing SCENARIO");
  const double duration = vm["duration"].as<double>(), interval = vm["interval"].as<double>();
  if (!(duration > 0) || !(interval > 0)) {
    throw std::invalid_argument("simulate: --duration and --interval must be > 0");
  }
  core::CheckSimulatedSpan(duration, interval, "simulate --duration", "simulate --interval");
  std::vector<sim::ShapingFile> shaping;
  if (vm.count("shaping")) {
    for (const auto& path : vm["shaping"].as<std::vector<std::string>>()) {
      shaping.push_back(sim::ReadShapingFile(path));
    }
  }
  auto scenario = sim::MakeScenario(vm["scenario"].as<std::string>());
  scenario->Start(vm["seed"].as<uint64_t>());
  for (const sim::ShapingFile& f : shaping) scenario->ApplyShaping(f.point, f.config);
  const bool all = vm["all-fields"].as<bool>();
  std::printf(all ? "link,class" : "%8s %-5s %-7s %9s %9s %7s %8s %8s %8s %9s\n", "time_s", "link",
              "class", "offer_Mb", "deliv_Mb", "drops", "backlog", "dly50ms", "rtt50ms",
              "cap_Mbps");
  if (all) {
    for (const auto& f : sim::LinkSampleFields()) std::printf(",%s", f.c_str());
    std::printf("\n");
  }
  while (scenario->now_s() < duration - 1e-9) {
    for (const sim::LinkSample& s :
         scenario->Advance(std::min(interval, duration - scenario->now_s()))) {
      if (all) {
        std::printf("%s,%s", s.link.c_str(), s.app_class.c_str());
        for (double v : sim::LinkSampleValues(s)) std::printf(",%.6g", v);
        std::printf("\n");
        continue;
      }
      std::printf("%8.2f %-5s %-7s %9.3f %9.3f %7llu %8.0f %8.1f %8.1f %9.2f\n", s.time_s,
                  s.link.c_str(), s.app_class.c_str(), s.bytes_offered * 8e-6 / s.interval_s,
                  s.bytes_delivered * 8e-6 / s.interval_s, static_cast<unsigned long long>(s.drops),
                  s.backlog_packets, s.delay_p50_ms, s.rtt_p50_ms, s.capacity_mbps);
    }
  }
  return 0;
}

// "90", "90s", "15m", "6h", "7d" in seconds.
double ParseDuration(const std::string& text, const std::string& what) {
  std::string t = core::Trim(text);
  double unit = 1.0;
  if (!t.empty()) {
    switch (t.back()) {
      case 's':
        unit = 1.0;
        t.pop_back();
        break;
      case 'm':
        unit = 60.0;
        t.pop_back();
        break;
      case 'h':
        unit = 3600.0;
        t.pop_back();
        break;
      case 'd':
        unit = 86400.0;
        t.pop_back();
        break;
      default:
        break;
    }
  }
  const double v = core::ParseDouble(t, what) * unit;
  if (!(v > 0)) throw std::invalid_argument(what + " = '" + text + "': must be > 0");
  return v;
}

// dataset trace: the capacity of each of a scenario's links for one seed, as mahimahi traces
// OUT.<link> (OUT.down, OUT.up): synthetic traces for experiments that need files.
// dataset trace --dataset FILE: each link of a data set (a recording, a linklab-live run) as
// mahimahi traces OUT.<link> of its capacity_mbps series (a live recording's is the delivered
// rate), so that the sim replays it.
int WriteDatasetTraces(const std::string& dataset, const std::string& out) {
  datasets::Attributes attrs;
  const core::MetricsLog log = datasets::ReadDataset(dataset, &attrs);
  const std::filesystem::path folder = std::filesystem::path(out).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder);
  int written = 0;
  for (const auto& [table, data] : log.tables()) {
    const std::string link = datasets::AllTableLink(table);
    if (link.empty()) continue;
    const std::vector<double>& t = data.Column("time_s");
    const std::vector<double>& dt = data.Column("interval_s");
    const std::vector<double>& mbps = data.Column("capacity_mbps");
    std::vector<double> starts, rates;
    for (size_t i = 0; i < t.size(); ++i) {
      starts.push_back(t[i] - dt[i] - (t[0] - dt[0]));
      rates.push_back(std::isfinite(mbps[i]) ? std::max(0.0, mbps[i]) : 0.0);
    }
    if (starts.empty()) continue;
    const double duration = t.back() - (t[0] - dt[0]);
    auto process = sim::PiecewiseCapacity(starts, rates, dataset + ":" + link);
    const std::string path = out + "." + link;
    sim::WriteMahimahiTrace(*process, duration, path);
    std::cerr << "linklab: " << path << ": " << link << " of " << dataset << ", "
              << core::FormatDouble(std::round(process->MeanRateBps(0, duration) / 1e4) / 100)
              << " Mbit/s mean over " << core::FormatDouble(duration) << " s\n";
    ++written;
  }
  if (written == 0) {
    throw std::invalid_argument("dataset trace --dataset " + dataset +
                                ": no links/<link>/all table");
  }
  return 0;
}

int WriteScenarioTraces(const po::variables_map& vm, const std::string& out) {
  if (vm.count("dataset")) return WriteDatasetTraces(vm["dataset"].as<std::string>(), out);
  if (!vm.count("scenario")) {
    throw std::invalid_argument("dataset trace: missing --scenario (or --dataset FILE.h5)");
  }
  const double duration =
      vm.count("duration") ? ParseDuration(vm["duration"].as<std::string>(), "--duration") : 600;
  auto scenario = sim::MakeScenario(vm["scenario"].as<std::string>());
  scenario->Start(vm["seed"].as<uint64_t>());
  const std::filesystem::path folder = std::filesystem::path(out).parent_path();
  if (!folder.empty()) std::filesystem::create_directories(folder);
  int written = 0;
  for (const std::string& link : scenario->info().links) {
    sim::CapacityProcess* capacity = scenario->Capacity(link);
    if (!capacity) continue;
    const std::string path = out + "." + link;
    sim::WriteMahimahiTrace(*capacity, duration, path);
    std::cerr << "linklab: " << path << ": " << capacity->Describe() << ", "
              << core::FormatDouble(std::round(capacity->MeanRateBps(0, duration) / 1e4) / 100)
              << " Mbit/s mean over " << core::FormatDouble(duration) << " s\n";
    ++written;
  }
  if (written == 0) {
    throw std::invalid_argument("dataset trace: scenario " + vm["scenario"].as<std::string>() +
                                " has no link with a capacity process of its own");
  }
  return 0;
}

int CmdDataset(const std::vector<std::string>& args) {
  if (args.empty() || (args[0] != "generate" && args[0] != "import" && args[0] != "trace")) {
    throw std::invalid_argument(
        "dataset: use 'dataset generate', 'dataset import' or 'dataset trace'");
  }
  const std::string sub = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  po::options_description desc("dataset " + sub + " options");
  desc.add_options()("output,o", po::value<std::string>(), "HDF5 file to write")(
      "interval", po::value<std::string>()->default_value("60s"), "time per sample (s, m, h, d)")(
      "duration", po::value<std::string>(), "length (s, m, h, d)");
  po::positional_options_description pos;
  if (sub == "generate" || sub == "trace") {
    desc.add_options()("scenario", po::value<std::string>(), "scenario spec")(
        "seed", po::value<uint64_t>()->default_value(1), "seed");
    if (sub == "trace") {
      desc.add_options()("dataset", po::value<std::string>(),
                         "a data set (e.g. a linklab-live --record file) instead of a scenario");
    }
  } else {
    desc.add_options()("format", po::value<std::string>(), "mahimahi or pensieve")(
        "files", po::value<std::vector<std::string>>(), "trace files");
    pos.add("files", -1);
  }
  po::variables_map vm;
  if (!Parse(rest, desc, pos, vm, "dataset " + sub)) return 0;
  if (!vm.count("output")) throw std::invalid_argument("dataset " + sub + ": missing -o FILE");
  const std::string out = vm["output"].as<std::string>();
  if (sub == "trace") return WriteScenarioTraces(vm, out);
  const double interval = ParseDuration(vm["interval"].as<std::string>(), "--interval");
  if (sub == "generate") {
    if (!vm.count("scenario")) throw std::invalid_argument("dataset generate: missing --scenario");
    datasets::RecordOptions o;
    o.scenario = vm["scenario"].as<std::string>();
    o.interval_s = interval;
    o.duration_s = vm.count("duration")
                       ? ParseDuration(vm["duration"].as<std::string>(), "--duration")
                       : 3600.0;
    o.seed = vm["seed"].as<uint64_t>();
    datasets::GenerateDataset(o, out);
  } else {
    if (!vm.count("format")) throw std::invalid_argument("dataset import: missing --format");
    if (!vm.count("files")) throw std::invalid_argument("dataset import: no trace files given");
    const double duration =
        vm.count("duration") ? ParseDuration(vm["duration"].as<std::string>(), "--duration") : 0;
    datasets::ImportTraces(vm["files"].as<std::vector<std::string>>(),
                           vm["format"].as<std::string>(), interval, duration, out);
  }
  std::cerr << "linklab: data set written to " << out << "\n";
  return 0;
}

int CmdBench(const std::vector<std::string>& args) {
  po::options_description desc("bench options");
  desc.add_options()("area", po::value<std::string>(),
                     "what to measure: envs, agents, sim, htb, models")(
      "json", po::value<std::string>(), "write the report to this file (default: stdout)")(
      "seconds", po::value<double>()->default_value(1.0),
      "measuring time per case (htb: 8x this after a 2 s warm-up)")(
      "only", po::value<std::string>()->default_value(""), "only cases whose name contains this")(
      "steps", po::value<int64_t>()->default_value(0),
      "agents: training steps per run (default: the reference configs' budgets)")(
      "from", po::value<std::string>()->default_value("results/reference/bench"),
      "tables: the folder of sim.json, envs.json, agents.json and htb.json")(
      "readme", po::value<std::string>(), "tables: rewrite this README's tables block")(
      "policy", po::value<std::string>()->default_value(""),
      "live: a learned policy (.onnx) to run beside autorate and static")(
      "classes", po::value<std::string>()->default_value(""),
      "live: linklab-live's classes file (default experiments/live/bench_classes.ini)")(
      "trace", po::value<std::string>()->default_value(""),
      "live: a mahimahi trace for the downlink capacity (default: a synthetic 4-20 Mbit/s series)")(
      "trace-out", po::value<std::string>()->default_value(""),
      "live: also write the capacity series played as this mahimahi trace (for the simulator)")(
      "duration-s", po::value<double>()->default_value(30.0), "live: each mode's load, seconds")(
      "idle-s", po::value<double>()->default_value(60.0),
      "live: linklab-live alone with no traffic, seconds (0: skip)");
  po::positional_options_description pos;
  pos.add("area", 1);
  po::variables_map vm;
  if (!Parse(args, desc, pos, vm, "bench AREA [--json FILE]")) return 0;
  if (!vm.count("area"))
    throw std::invalid_argument(
        "bench: missing AREA (areas: envs, agents, sim, htb, models, runtime, live, or tables)");
  if (vm["area"].as<std::string>() == "tables") {
    const std::string from = vm["from"].as<std::string>();
    if (vm.count("readme")) {
      experiments::WriteReadmeBenchTables(vm["readme"].as<std::string>(), from);
      std::cerr << "linklab: bench tables from " << from << " written to "
                << vm["readme"].as<std::string>() << "\n";
    } else {
      std::cout << experiments::BenchTables(from);
    }
    return 0;
  }
  experiments::BenchOptions opts;
  opts.seconds = vm["seconds"].as<double>();
  if (!(opts.seconds > 0) || opts.seconds > 3600) {
    throw std::invalid_argument("bench --seconds = " + core::FormatDouble(opts.seconds) +
                                ": must be in (0, 3600]");
  }
  opts.only = vm["only"].as<std::string>();
  opts.steps = vm["steps"].as<int64_t>();
  opts.policy = vm["policy"].as<std::string>();
  opts.classes = vm["classes"].as<std::string>();
  opts.trace = vm["trace"].as<std::string>();
  opts.trace_out = vm["trace-out"].as<std::string>();
  opts.duration_s = vm["duration-s"].as<double>();
  opts.idle_s = vm["idle-s"].as<double>();
  if (opts.steps < 0 || opts.steps > core::kMaxSteps) {
    throw std::invalid_argument("bench --steps = " + std::to_string(opts.steps) +
                                ": must be in [0, " + std::to_string(core::kMaxSteps) + "]");
  }
  const core::Json report = experiments::RunBench(vm["area"].as<std::string>(), opts);
  if (vm["area"].as<std::string>() == "live") {
    // The live report goes to a file by default; the table to stdout.
    const std::string path =
        vm.count("json") ? vm["json"].as<std::string>() : std::string("results/bench/live.json");
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    core::WriteFileAtomic(path, core::DumpJson(report));
    std::cerr << "linklab: bench report written to " << path << "\n";
    std::cout << experiments::BenchLiveTable(report);
    return 0;
  }
  if (vm.count("json")) {
    core::WriteFileAtomic(vm["json"].as<std::string>(), core::DumpJson(report));
    std::cerr << "linklab: bench report written to " << vm["json"].as<std::string>() << "\n";
  } else {
    std::cout << core::DumpJson(report);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << Usage();
    return 2;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    // Envs that live in libraries of their own (linklab_envs links no simulator).
    envs::shaping::RegisterShapingEnv(envs::EnvRegistry());
    models::RegisterSequenceModels(models::ModelRegistry());
    if (command == "run") return CmdRun(args);
    if (command == "list") return CmdList(args);
    if (command == "eval") return CmdEval(args);
    if (command == "sweep") return CmdSweep(args);
    if (command == "repro") return CmdRepro(args);
    if (command == "bench") return CmdBench(args);
    if (command == "simulate") return CmdSimulate(args);
    if (command == "dataset") return CmdDataset(args);
    if (command == "predictor") return CmdPredictor(args);
    if (command == "export") return CmdExport(args);
    if (command == "version" || command == "--version") {
      std::cout << "linklab " << LINKLAB_VERSION << " (" << core::GitCommit() << ")\n";
      return 0;
    }
    if (command == "help" || command == "--help" || command == "-h") {
      std::cout << Usage();
      return 0;
    }
    std::cerr << "linklab: unknown command '" << command
              << "'; commands: run, eval, sweep, repro, list, bench, simulate, dataset, predictor, "
                 "export, "
                 "version, help\n";
    return 2;
  } catch (const po::error& e) {
    std::cerr << "linklab " << command << ": " << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "linklab: error: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "linklab: error: " << e.what() << "\n";
    return 1;
  }
}
