// `linklab bench live`: linklab-live on an emulated cellular downlink (experiments/
// bottleneck.h). The same load (two iperf3 Cubic downlink flows and a 10 Hz ping) runs under
// each mode: no linklab-live, then linklab-live with the autorate, static and (given one) a
// learned policy shaping the near end's ingress; per mode the throughput, the ping under load,
// and linklab-live's peak memory, CPU, exit code and decisions. A separate idle run measures
// linklab-live's own cost with no traffic.

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/machine.h"
#include "core/text.h"
#include "experiments/bench.h"
#include "experiments/bottleneck.h"
#include "experiments/process.h"
#include "sim/capacity.h"

namespace linklab::experiments {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr double kStepS = 0.1;        // capacity steps and linklab-live's interval
constexpr int kMetricsPort = 9464;    // linklab-live --listen 127.0.0.1:PORT in near
constexpr double kLiveWarmupS = 1.0;  // linklab-live runs this long before the load
constexpr double kIdleCpuTargetPercent = 2.0, kRssTargetMb = 30.0;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// A number for JSON: NaN (no replies, no figure) becomes null.
core::Json Number(double v) { return std::isfinite(v) ? core::Json(v) : core::Json(nullptr); }

// Peak resident memory (VmHWM, MB) and CPU time (utime + stime, s) of a running process.
struct ProcStats {
  double peak_rss_mb = std::nan("");
  double cpu_s = std::nan("");
};

ProcStats ReadProcStats(pid_t pid) {
  ProcStats s;
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream status(dir + "/status");
  for (std::string line; std::getline(status, line);) {
    if (core::StartsWith(line, "VmHWM:"))
      s.peak_rss_mb = std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  std::ifstream stat_file(dir + "/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // "pid (comm) state ppid ...": fields 14 and 15 (utime, stime) counted from 1, the command
  // (which may hold spaces) ending at the last ')'.
  const size_t close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream in(stat.substr(close + 1));
    std::vector<std::string> f;
    for (std::string w; in >> w;) f.push_back(w);
    if (f.size() > 12) {
      const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
      s.cpu_s = (std::strtod(f[11].c_str(), nullptr) + std::strtod(f[12].c_str(), nullptr)) / tick;
    }
  }
  return s;
}

// The sum of the samples of Prometheus metric `name` (any labels) in a text exposition; NaN
// when it has none.
double MetricValue(const std::string& text, const std::string& name) {
  double sum = 0.0;
  bool any = false;
  for (const std::string& raw : core::Split(text, '\n')) {
    const std::string line = core::Trim(raw);
    if (line.empty() || line[0] == '#' || !core::StartsWith(line, name)) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != ' ' && next != '{') continue;
    const size_t at = next == '{' ? line.find('}') : name.size();
    if (at == std::string::npos) continue;
    sum += std::strtod(line.c_str() + at + 1, nullptr);
    any = true;
  }
  return any ? sum : std::nan("");
}

// linklab-live in the near namespace, shaping near_dev's ingress, serving /metrics.
class LiveRunner {
 public:
  LiveRunner(const EmulatedBottleneck& b, const std::string& binary, const std::string& policy,
             const std::string& classes)
      : b_(b) {
    child_ =
        b.Spawn(b.near_ns(), {binary, "--iface", b.near_dev(), "--classes", classes, "--policy",
                              policy, "--direction", "ingress", "--interval-ms",
                              std::to_string(std::lround(kStepS * 1000)), "--listen",
                              "127.0.0.1:" + std::to_string(kMetricsPort), "--probe", b.far_ip()});
    t0_ = Clock::now();
    // Ready once /metrics answers.
    while (true) {
      if (!child_->Running()) throw std::runtime_error(child_->Failure());
      try {
        if (Metrics().status == 200) break;
      } catch (const std::runtime_error&) {
        if (PendingStopSignal() != 0) throw;
      }
      if (Since(t0_) > 15.0) {
        throw std::runtime_error("`" + child_->Text() + "`: no /metrics after 15 s");
      }
      Sleep(0.1);
    }
    ready_s_ = Since(t0_);
  }

  HttpResponse Metrics() const {
    return HttpGetInNamespace(b_.near_ns(), "127.0.0.1", kMetricsPort, "/metrics", 2.0);
  }
  Child& child() { return *child_; }
  double wall_s() const { return Since(t0_); }
  double ready_s() const { return ready_s_; }
  // Stops it with SIGTERM (SIGKILL after 15 s) and returns its exit code.
  int Stop() {
    child_->SendSignal(SIGTERM);
    if (!child_->Wait(15.0)) child_->Stop(0.0);
    return child_->exit_code();
  }

 private:
  const EmulatedBottleneck& b_;
  std::unique_ptr<Child> child_;
  Clock::time_point t0_;
  double ready_s_ = 0.0;
};

// The report's figures of a linklab-live run, read while it runs and after it stops.
core::Json FinishLive(LiveRunner& live, double cpu_from_s = 0.0, double wall_from_s = 0.0) {
  core::Json j = core::Json::object();
  const ProcStats stats = ReadProcStats(live.child().pid());
  const double wall = live.wall_s();
  double decisions = std::nan("");
  try {
    // The OpenMetrics name, or the bare counter name prometheus-cpp 1.1 writes.
    const std::string text = live.Metrics().body;
    decisions = MetricValue(text, "linklab_live_decisions_total");
    if (std::isnan(decisions)) decisions = MetricValue(text, "linklab_live_decisions");
  } catch (const std::runtime_error& e) {
    j["metrics_error"] = e.what();
  }
  const int code = live.Stop();
  j["peak_rss_mb"] = Number(stats.peak_rss_mb);
  j["cpu_percent"] = Number(100.0 * (stats.cpu_s - cpu_from_s) / (wall - wall_from_s));
  j["wall_s"] = wall;
  j["startup_s"] = live.ready_s();
  j["decisions_total"] = Number(decisions);
  j["decisions_per_s"] = Number(decisions / wall);
  j["exit_code"] = code;
  if (code != 0) j["stderr_tail"] = FirstLines(live.child().Err());
  return j;
}

// Whether linklab-live left near_dev as it found it (no htb, ingress or clsact qdisc there, no
// ifb device in near); when not, removes what it left, so that the next mode starts clean.
core::Json CheckRestored(const EmulatedBottleneck& b) {
  const std::string ip = FindProgram("ip"), tc = FindProgram("tc");
  const std::string qdiscs = Run({tc, "-n", b.near_ns(), "qdisc", "show", "dev", b.near_dev()});
  const std::string links = Run({ip, "-n", b.near_ns(), "-o", "link", "show", "type", "ifb"});
  const bool shaped = qdiscs.find("htb") != std::string::npos ||
                      qdiscs.find("ingress") != std::string::npos ||
                      qdiscs.find("clsact") != std::string::npos;
  core::Json j = core::Json::object();
  j["restored"] = !shaped && core::Trim(links).empty();
  if (j["restored"].get<bool>()) return j;
  j["left_behind"] = FirstLines(qdiscs + "\n" + links);
  for (const char* what : {"root", "clsact", "ingress"}) {
    try {
      Run({tc, "-n", b.near_ns(), "qdisc", "del", "dev", b.near_dev(), what});
    } catch (const std::runtime_error&) {
      // Not there.
    }
  }
  for (const std::string& line : core::Split(links, '\n')) {
    // "5: ifb0: <...> ..." (-o: one line per device)
    const std::vector<std::string> f = core::Split(line, ':');
    if (f.size() < 2) continue;
    std::string name = core::Trim(f[1]);
    name = name.substr(0, name.find('@'));
    try {
      Run({ip, "-n", b.near_ns(), "link", "del", name});
    } catch (const std::runtime_error&) {
      // Gone meanwhile.
    }
  }
  return j;
}

// The capacity series: a mahimahi trace binned to kStepS, or the synthetic one.
std::vector<double> CapacitySeries(const BenchOptions& o, core::Json& about) {
  if (o.trace.empty()) {
    about["source"] = "synthetic (SyntheticCellularSeriesMbps, 30 s, seed 1, looped)";
    return SyntheticCellularSeriesMbps(30.0, kStepS, 1);
  }
  const std::string path = sim::FindTrace(o.trace);
  auto process = sim::LoadTraceCapacity(path, "mahimahi");
  const double period = process->PeriodS();
  const double span = period > 0 ? period : o.duration_s;
  std::vector<double> series = sim::IntervalRatesMbps(*process, span, kStepS);
  if (series.empty()) {
    throw std::invalid_argument("bench live --trace " + path + ": shorter than one " +
                                core::FormatDouble(kStepS) + " s step");
  }
  about["source"] = process->Describe();
  about["trace"] = path;
  return series;
}

std::string Fixed(const core::Json& v, int digits) {
  if (!v.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v.get<double>());
  return buf;
}

}  // namespace

core::Json BenchLive(const BenchOptions& options) {
  if (!(options.duration_s >= 5 && options.duration_s <= 3600)) {
    throw std::invalid_argument("bench live --duration-s = " +
                                core::FormatDouble(options.duration_s) + ": must be in [5, 3600]");
  }
  if (!(options.idle_s >= 0 && options.idle_s <= 3600)) {
    throw std::invalid_argument("bench live --idle-s = " + core::FormatDouble(options.idle_s) +
                                ": must be in [0, 3600]");
  }
  core::Json report = core::Json::object();
  report["area"] = "live";
  report["created"] = core::UtcTimestamp();
  report["git_commit"] = core::GitCommit();
  report["machine"] = core::MachineInfo();

  const std::string classes =
      fs::absolute(options.classes.empty()
                       ? std::string(LINKLAB_SOURCE_DIR) + "/experiments/live/bench_classes.ini"
                       : options.classes);
  if (!fs::is_regular_file(classes)) {
    throw std::invalid_argument("bench live --classes " + classes + ": no such file");
  }
  std::string policy;
  if (!options.policy.empty()) {
    policy = fs::absolute(options.policy);
    if (!fs::is_regular_file(policy)) {
      throw std::invalid_argument("bench live --policy " + policy + ": no such file");
    }
  }
  std::string live_binary = options.live_binary;
  if (live_binary.empty()) {
    std::error_code ec;
    live_binary = (fs::read_symlink("/proc/self/exe", ec).parent_path() / "linklab-live").string();
  }
  const bool have_live = access(live_binary.c_str(), X_OK) == 0;

  core::Json capacity = core::Json::object();
  BottleneckOptions bo;
  bo.capacity_mbps = CapacitySeries(options, capacity);
  if (!options.trace_out.empty()) {
    // The series as the simulator can replay it (experiments/live/live_eval.ini).
    std::vector<double> starts;
    for (size_t i = 0; i < bo.capacity_mbps.size(); ++i) starts.push_back(i * kStepS);
    auto process = sim::PiecewiseCapacity(starts, bo.capacity_mbps, "bench live");
    sim::WriteMahimahiTrace(*process, bo.capacity_mbps.size() * kStepS, options.trace_out);
    capacity["trace_out"] = options.trace_out;
  }
  bo.step_s = kStepS;
  bo.buffer_packets = 1000;
  bo.tcp = "cubic";
  const auto [lo, hi] = std::minmax_element(bo.capacity_mbps.begin(), bo.capacity_mbps.end());
  capacity["step_s"] = kStepS;
  capacity["steps"] = bo.capacity_mbps.size();
  capacity["min_mbps"] = *lo;
  capacity["max_mbps"] = *hi;
  capacity["buffer_packets"] = bo.buffer_packets;

  core::Json setup = core::Json::object();
  setup["duration_s"] = options.duration_s;
  setup["flows"] = "two iperf3 -R -C cubic downlink flows, ports 5201 and 5202";
  setup["ping"] = "near -> far every 0.1 s, from 2 s into the load to 1 s before its end";
  setup["classes"] = classes;
  setup["linklab_live"] = live_binary;
  setup["linklab_live_args"] =
      "--direction ingress --interval-ms 100 --listen 127.0.0.1:" + std::to_string(kMetricsPort) +
      " --iface <near_dev> --probe <far_ip>";
  report["setup"] = setup;

  const std::string missing = BottleneckMissing();
  if (!missing.empty()) {
    report["capacity"] = capacity;
    report["skipped"] = "the emulated bottleneck cannot run here: " + missing;
    std::cerr << "bench live: skipped: " << missing << "\n";
    return report;
  }
  std::cerr << "bench live: bottleneck " << capacity["source"].get<std::string>() << ", "
            << Fixed(*lo, 1) << ".." << Fixed(*hi, 1) << " Mbit/s\n";
  EmulatedBottleneck b(bo);
  capacity["mean_mbps"] = b.MeanCapacityMbps();
  report["capacity"] = capacity;

  std::cerr << "bench live: idle ping (5 s)\n";
  const PingResult idle = b.Ping(50, 0.1);
  core::Json idle_ping = core::Json::object();
  idle_ping["p50_ms"] = Number(idle.p50_ms);
  idle_ping["p95_ms"] = Number(idle.p95_ms);
  idle_ping["p99_ms"] = Number(idle.p99_ms);
  idle_ping["loss"] = idle.loss_fraction;
  report["ping_idle"] = idle_ping;

  std::vector<std::pair<std::string, std::string>> modes = {
      {"none", ""}, {"autorate", "autorate"}, {"static", "static"}};
  if (!policy.empty()) modes.push_back({"learned", policy});

  LoadOptions load;
  load.ports = {5201, 5202};
  load.duration_s = options.duration_s;
  load.ping_interval_s = 0.1;
  load.ping_after_s = 2.0;

  core::Json results = core::Json::array();
  double none_mbps = std::nan("");
  for (const auto& [mode, policy_arg] : modes) {
    core::Json m = core::Json::object();
    m["mode"] = mode;
    if (!policy_arg.empty() && !have_live) {
      m["skipped"] = live_binary + " not found (build the linklab-live target)";
      std::cerr << "bench live: " << mode << ": skipped, " << live_binary << " not found\n";
      results.push_back(std::move(m));
      continue;
    }
    std::cerr << "bench live: " << mode << " (" << options.duration_s << " s load)\n";
    try {
      std::unique_ptr<LiveRunner> live;
      if (!policy_arg.empty()) {
        live = std::make_unique<LiveRunner>(b, live_binary, policy_arg, classes);
        Sleep(kLiveWarmupS);
      }
      b.RestartSeries();
      const LoadResult r = b.RunLoad(load);
      const double t_end = b.ElapsedS();
      if (live) {
        if (!live->child().Running()) {
          throw std::runtime_error("linklab-live ended during the load: " +
                                   live->child().Failure());
        }
        m["linklab_live"] = FinishLive(*live);
        m["linklab_live"].update(CheckRestored(b));
      }
      m["total_mbps"] = r.total_mbps;
      core::Json flows = core::Json::array();
      for (const FlowResult& f : r.flows) {
        core::Json fj = core::Json::object();
        fj["port"] = f.port;
        fj["mbps"] = f.mbps;
        fj["tcp"] = f.tcp;
        fj["retransmits"] = f.retransmits;
        flows.push_back(std::move(fj));
      }
      m["flows"] = std::move(flows);
      if (mode == "none") none_mbps = r.total_mbps;
      m["fraction_of_none"] = Number(r.total_mbps / none_mbps);
      const double cap = b.MeanAppliedMbps(0.0, t_end);
      m["capacity_mean_mbps"] = Number(cap);
      m["utilisation"] = Number(r.total_mbps / cap);
      core::Json ping = core::Json::object();
      ping["p50_ms"] = Number(r.ping.p50_ms);
      ping["p95_ms"] = Number(r.ping.p95_ms);
      ping["p99_ms"] = Number(r.ping.p99_ms);
      ping["loss"] = r.ping.loss_fraction;
      ping["replies"] = r.ping.rtt_ms.size();
      m["ping_loaded"] = std::move(ping);
      core::Json applied = core::Json::array();
      for (const CapacityChange& c : b.AppliedCapacity()) {
        applied.push_back(core::Json::array({std::round(c.t_s * 1000) / 1000, c.mbps}));
      }
      m["applied_capacity_t_s_mbps"] = std::move(applied);
      std::cerr << "bench live: " << mode << ": " << Fixed(r.total_mbps, 2) << " Mbit/s, ping p95 "
                << Fixed(Number(r.ping.p95_ms), 1) << " ms\n";
    } catch (const std::runtime_error& e) {
      if (PendingStopSignal() != 0) throw;
      m["error"] = e.what();
      std::cerr << "bench live: " << mode << ": failed: " << e.what() << "\n";
    }
    results.push_back(std::move(m));
  }
  report["results"] = std::move(results);

  // linklab-live alone, no traffic: its own cost at 10 decisions a second.
  core::Json idle_run = core::Json::object();
  idle_run["policy"] = policy.empty() ? "static" : "learned";
  idle_run["seconds"] = options.idle_s;
  if (!have_live) {
    idle_run["skipped"] = live_binary + " not found";
  } else if (options.idle_s > 0) {
    std::cerr << "bench live: linklab-live idle (" << options.idle_s << " s, no traffic)\n";
    try {
      LiveRunner live(b, live_binary, policy.empty() ? "static" : policy, classes);
      // CPU from readiness on (the steady state), memory over the whole run.
      const ProcStats start = ReadProcStats(live.child().pid());
      const double wall0 = live.wall_s();
      Sleep(options.idle_s);
      core::Json j = FinishLive(live, start.cpu_s, wall0);
      j.update(CheckRestored(b));
      j["cpu_percent_note"] = "utime + stime from readiness to the end, over that wall time";
      idle_run.update(j);
      const bool met = j["cpu_percent"].is_number() && j["peak_rss_mb"].is_number() &&
                       j["cpu_percent"].get<double>() < kIdleCpuTargetPercent &&
                       j["peak_rss_mb"].get<double>() < kRssTargetMb && j["exit_code"] == 0;
      idle_run["targets_met"] = met;
    } catch (const std::runtime_error& e) {
      if (PendingStopSignal() != 0) throw;
      idle_run["error"] = e.what();
    }
  }
  report["idle"] = std::move(idle_run);
  core::Json targets = core::Json::object();
  targets["idle_cpu_percent_max"] = kIdleCpuTargetPercent;
  targets["peak_rss_mb_max"] = kRssTargetMb;
  targets["exit_code"] = 0;
  report["targets"] = std::move(targets);
  report["notes"] =
      "Throughput is iperf3's receiver payload rate (end.sum_received). The bottleneck is an HTB "
      "class over a 1000-packet pfifo in a router namespace between near and far, its rate "
      "following the capacity series every 0.1 s; each mode's load starts the series from its "
      "first value. CPU percent is of one core over linklab-live's wall time; peak memory is "
      "VmHWM.";
  return report;
}

std::string BenchLiveTable(const core::Json& report) {
  std::ostringstream out;
  if (report.contains("skipped"))
    return "bench live: skipped: " + report["skipped"].get<std::string>() + "\n";
  out << "capacity: " << report["capacity"].value("source", std::string()) << ", mean "
      << Fixed(report["capacity"].value("mean_mbps", core::Json()), 2) << " Mbit/s; ping idle p95 "
      << Fixed(report["ping_idle"]["p95_ms"], 3) << " ms\n\n";
  out << "| mode | total Mbit/s | of none | flow 5201 | flow 5202 | ping p50 / p95 / p99 ms | "
         "RSS MB | CPU % | decisions | exit |\n";
  out << "|---|---|---|---|---|---|---|---|---|---|\n";
  for (const core::Json& m : report["results"]) {
    out << "| " << m["mode"].get<std::string>() << " | ";
    if (m.contains("skipped") || m.contains("error")) {
      out << (m.contains("skipped") ? "skipped: " + m["skipped"].get<std::string>()
                                    : "error: " + m["error"].get<std::string>())
          << " |||||||||\n";
      continue;
    }
    const core::Json& f = m["flows"];
    const core::Json& p = m["ping_loaded"];
    out << Fixed(m["total_mbps"], 2) << " | " << Fixed(m["fraction_of_none"], 2) << " | "
        << Fixed(f.size() > 0 ? f[0]["mbps"] : core::Json(), 2) << " | "
        << Fixed(f.size() > 1 ? f[1]["mbps"] : core::Json(), 2) << " | " << Fixed(p["p50_ms"], 1)
        << " / " << Fixed(p["p95_ms"], 1) << " / " << Fixed(p["p99_ms"], 1) << " | ";
    if (m.contains("linklab_live")) {
      const core::Json& l = m["linklab_live"];
      out << Fixed(l["peak_rss_mb"], 1) << " | " << Fixed(l["cpu_percent"], 1) << " | "
          << Fixed(l["decisions_total"], 0) << " | " << l["exit_code"].get<int>() << " |\n";
    } else {
      out << "- | - | - | - |\n";
    }
  }
  const core::Json& idle = report["idle"];
  out << "\nlinklab-live idle (" << idle.value("policy", std::string()) << ", "
      << Fixed(idle["seconds"], 0) << " s, no traffic): ";
  if (idle.contains("skipped") || idle.contains("error")) {
    out << (idle.contains("skipped") ? idle["skipped"] : idle["error"]).get<std::string>() << "\n";
  } else if (idle.contains("cpu_percent")) {
    out << Fixed(idle["cpu_percent"], 2) << " % of a core, peak RSS "
        << Fixed(idle["peak_rss_mb"], 1) << " MB, " << Fixed(idle["decisions_total"], 0)
        << " decisions, exit " << idle["exit_code"].get<int>() << " (targets < "
        << kIdleCpuTargetPercent << " %, < " << kRssTargetMb
        << " MB: " << (idle.value("targets_met", false) ? "met" : "NOT met") << ")\n";
  } else {
    out << "not run\n";
  }
  return out.str();
}

}  // namespace linklab::experiments
