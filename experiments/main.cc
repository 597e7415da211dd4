// The linklab command line. Library code throws; only this file catches, prints one line and
// exits: 2 for bad input (config, arguments), 1 for failures at run time.

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/machine.h"
#include "core/text.h"
#include "experiments/bench.h"
#include "experiments/config.h"
#include "experiments/list.h"
#include "experiments/run.h"

namespace po = boost::program_options;
using namespace linklab;

namespace {

constexpr const char* kUsage = R"(usage: linklab <command> [options]

commands:
  run [CONFIG] [--set section.key=value ...] [--seeds 1,2,3]
                    train, evaluate and save one experiment (results/<name>/<time>/);
                    without CONFIG, the built-in defaults; --seeds runs one per seed
  run --resume RUN_FOLDER|CHECKPOINT
                    continue a run from its latest (or the given) checkpoint
  list [envs|agents]
                    every registered name with its parameters and defaults
  bench AREA [--json FILE] [--seconds S] [--only NAME]
                    measure speed; areas: envs, agents
  version           print the version and git commit
  help              this text

Run 'linklab <command> --help' for the options of one command.
)";

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

int CmdList(const std::vector<std::string>& args) {
  po::options_description desc("list options");
  desc.add_options()("kind", po::value<std::string>()->default_value(""), "envs or agents");
  po::positional_options_description pos;
  pos.add("kind", 1);
  po::variables_map vm;
  if (!Parse(args, desc, pos, vm, "list [envs|agents]")) return 0;
  std::cout << experiments::ListRegistered(vm["kind"].as<std::string>());
  return 0;
}

int CmdBench(const std::vector<std::string>& args) {
  po::options_description desc("bench options");
  desc.add_options()("area", po::value<std::string>(), "what to measure: envs, agents")(
      "json", po::value<std::string>(), "write the report to this file (default: stdout)")(
      "seconds", po::value<double>()->default_value(1.0), "measuring time per case")(
      "only", po::value<std::string>()->default_value(""), "only cases whose name contains this")(
      "steps", po::value<int64_t>()->default_value(0),
      "agents: training steps per run (default: the reference configs' budgets)");
  po::positional_options_description pos;
  pos.add("area", 1);
  po::variables_map vm;
  if (!Parse(args, desc, pos, vm, "bench AREA [--json FILE]")) return 0;
  if (!vm.count("area")) throw std::invalid_argument("bench: missing AREA (areas: envs, agents)");
  experiments::BenchOptions opts;
  opts.seconds = vm["seconds"].as<double>();
  if (!(opts.seconds > 0)) throw std::invalid_argument("bench: --seconds must be > 0");
  opts.only = vm["only"].as<std::string>();
  opts.steps = vm["steps"].as<int64_t>();
  if (opts.steps < 0) throw std::invalid_argument("bench: --steps must be >= 0");
  const core::Json report = experiments::RunBench(vm["area"].as<std::string>(), opts);
  if (vm.count("json")) {
    core::WriteFileAtomic(vm["json"].as<std::string>(), report.Dump());
    std::cerr << "linklab: bench report written to " << vm["json"].as<std::string>() << "\n";
  } else {
    std::cout << report.Dump();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "run") return CmdRun(args);
    if (command == "list") return CmdList(args);
    if (command == "bench") return CmdBench(args);
    if (command == "version" || command == "--version") {
      std::cout << "linklab " << LINKLAB_VERSION << " (" << core::GitCommit() << ")\n";
      return 0;
    }
    if (command == "help" || command == "--help" || command == "-h") {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << "linklab: unknown command '" << command
              << "'; commands: run, list, bench, version, help\n";
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
