#pragma once
// `linklab bench <area>`: the one place speed is measured. Each area returns a JSON report
// with its figures, the machine and the git commit.

#include <string>

#include "core/json.h"

namespace linklab::experiments {

struct BenchOptions {
  double seconds = 1.0;  // measuring time per case
  std::string only;      // run only cases whose name contains this ("" = all)
  int64_t steps = 0;     // training steps for the agents area (0: the configs' own)
  // The live area:
  std::string policy;        // a learned policy (.onnx) to run beside autorate and static
  std::string classes;       // linklab-live's classes file ("": experiments/live/bench_classes.ini)
  std::string trace;         // a mahimahi trace for the capacity ("": a synthetic series)
  std::string trace_out;     // live: write the series played as a mahimahi trace here
  double duration_s = 30.0;  // each mode's load
  double idle_s = 60.0;      // linklab-live alone with no traffic
  std::string live_binary;   // "": linklab-live next to the running program
};

// Steps per second of every registered env: single, sync-vectorised and process-vectorised.
core::Json BenchEnvs(const BenchOptions& options);
// Env steps per second of whole training runs (updates included) of PPO and DQN on
// CartPole-v1 with the shipped reference configs.
core::Json BenchAgents(const BenchOptions& options);

// The areas `linklab bench` knows, and running one by name (throws on an unknown area).
// Wall seconds per simulated second, events and packets per second, of every scenario and
// of one TCP flow over links from 1 Mbit/s to 10 Gbit/s.
core::Json BenchSim(const BenchOptions& options);

// The simulator's HTB on both backends against the real Linux kernel's (experiments/
// kernel_htb.h, experiments/bench_htb.h): per case and class, the rate Linux HTB semantics
// give, the kernel's, ns-3's and the fluid model's; kernel figures skipped, saying why, where
// the machine cannot run them.
core::Json BenchHtb(const BenchOptions& options);

// Per registered predictor (source 002's 6 features, its own window): training samples per
// second (Adam on batches of 64) and single-window inference latency, one thread.
core::Json BenchModels(const BenchOptions& options);

// Single-sample latency of the ONNX inference runtime beside libtorch and ONNX Runtime (when
// installed) on the source documents' predictor shapes, a policy MLP and a trivial model.
core::Json BenchRuntime(const BenchOptions& options);

// linklab-live on an emulated cellular downlink (experiments/bottleneck.h): two iperf3 Cubic
// downlink flows and a 10 Hz ping under no shaping, autorate, static and (with --policy) a
// learned policy; throughput, ping under load, linklab-live's memory, CPU, exit code and
// decisions, and an idle run of linklab-live alone. Skipped, saying why, where the machine
// cannot make the bottleneck; modes needing linklab-live skipped when it is not built.
core::Json BenchLive(const BenchOptions& options);
// The live report as a markdown table, with the idle run's figures below it.
std::string BenchLiveTable(const core::Json& report);

// The README's benchmark tables (markdown between marker comments), made from the reports
// sim.json, envs.json, agents.json and htb.json in `dir`.
std::string BenchTables(const std::string& dir);
// The marked tables block of a README's text; std::runtime_error when it has none.
std::string ReadmeBenchBlock(const std::string& readme_text, const std::string& readme_path);
// Replaces the README's tables block with BenchTables(dir).
void WriteReadmeBenchTables(const std::string& readme_path, const std::string& dir);

std::vector<std::string> BenchAreas();
core::Json RunBench(const std::string& area, const BenchOptions& options);

}  // namespace linklab::experiments
