// `linklab bench tables`: the README's benchmark tables, made from the committed reports so
// that no figure in the README is typed by hand (a test holds the README to this output).

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/files.h"
#include "core/registry.h"
#include "core/text.h"
#include "experiments/bench.h"

namespace linklab::experiments {

namespace {

constexpr const char* kBegin =
    "<!-- bench tables: made by `build/linklab bench tables --readme README.md`; do not edit -->";
constexpr const char* kEnd = "<!-- end of bench tables -->";

// Three significant digits, no exponent for ordinary magnitudes.
std::string Num(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1000) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else if (a >= 1 || a == 0) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.2g", v);
  }
  return buf;
}

std::string Percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.1f %%", 100 * v);
  return buf;
}

std::string Rate(double per_s) {
  if (per_s >= 1e6) return Num(per_s / 1e6) + " M/s";
  if (per_s >= 1e3) return Num(per_s / 1e3) + " k/s";
  return Num(per_s) + " /s";
}

// A spec with its trace shown by file name, not by where it lay on the machine that measured it.
std::string ShowSpec(const std::string& text) {
  core::Spec spec = core::Spec::Parse(text, "bench report scenario");
  if (spec.Has("trace")) {
    const std::string path = spec.Get("trace");
    spec.Set("trace", path.substr(path.find_last_of('/') + 1));
  }
  return spec.Text();
}

std::string Source(const core::Json& report, const std::string& file) {
  const core::Json& m = report.at("machine");
  return "`" + file + "`: " + m.value("cpu", std::string("?")) + ", " +
         std::to_string(m.value("logical_cores", 0)) + " cores, commit " +
         report.value("git_commit", std::string("?")).substr(0, 7) + ", " +
         report.value("created", std::string("?")) + ".";
}

// "ns-3 -> fluid (error)", bold when it misses its target.
std::string Pair(const core::Json& m) {
  const double n = m.at("ns3").is_number() ? m.at("ns3").get<double>() : std::nan("");
  const double f = m.at("fluid").is_number() ? m.at("fluid").get<double>() : std::nan("");
  std::string cell = Num(n) + " → " + Num(f);
  if (m.at("error").is_number()) cell += " (" + Percent(m.at("error").get<double>()) + ")";
  return m.at("met").get<bool>() ? cell : "**" + cell + "**";
}

void ClassTables(const core::Json& r, std::ostringstream& out) {
  bool header = false;
  for (const core::Json& row : r.at("results")) {
    const std::string name = row.value("case", std::string());
    if (name.rfind("calibration_class", 0) != 0) continue;
    if (!header) {
      out << "\n**Calibration per class**, the default mix on the downlink, one minute, "
             "unshaped and under three HTB configs sized to the trace's mean capacity "
             "(ns-3 → fluid, error; bold: outside the target of 10 % for throughput, 25 % for "
             "the rest):\n\n"
          << "| scenario | shaping | class | throughput Mbit/s | p95 delay ms | application "
             "metrics |\n|---|---|---|---|---|---|\n";
      header = true;
    }
    if (row.contains("skipped")) {
      out << "| " << name.substr(18) << " | skipped: " << row.at("skipped").get<std::string>()
          << " | | | | |\n";
      continue;
    }
    const core::Json& m = row.at("metrics");
    std::string app;
    for (const auto& [metric, figures] : m.items()) {
      if (metric == "throughput_mbps" || metric == "delay_p95_ms") continue;
      app += (app.empty() ? "" : "; ") + metric + " " + Pair(figures);
    }
    out << "| `" << ShowSpec(row.at("scenario").get<std::string>()) << "` | "
        << row.at("shaping").get<std::string>() << " | " << row.at("class").get<std::string>()
        << " | " << Pair(m.at("throughput_mbps")) << " | " << Pair(m.at("delay_p95_ms")) << " | "
        << app << " |\n";
  }
}

void SimTables(const core::Json& r, std::ostringstream& out) {
  out << "**Simulation speed** (" << Source(r, "results/reference/bench/sim.json")
      << " Wall seconds per simulated second; a case stops at its simulated time or its wall "
         "budget.)\n\n"
      << "| case | backend | wall s per simulated s | simulated s | delivered Mbit/s |\n"
      << "|---|---|---|---|---|\n";
  for (const core::Json& row : r.at("results")) {
    const std::string name = row.value("case", std::string());
    if (row.contains("skipped")) {
      out << "| " << name << " | skipped: " << row.at("skipped").get<std::string>() << " | | | |\n";
    } else if (row.contains("wall_per_sim_second")) {
      out << "| " << name << " | " << row.value("backend", std::string("ns3")) << " | "
          << Num(row.at("wall_per_sim_second").get<double>()) << " | "
          << Num(row.at("simulated_s").get<double>()) << " | "
          << Num(row.at("delivered_mbps").get<double>()) << " |\n";
    }
  }
  for (const core::Json& row : r.at("results")) {
    if (row.value("case", std::string()) != "fluid_speedup" || row.contains("skipped")) continue;
    out << "\n**Fluid speed-up** on `" << ShowSpec(row.at("scenario").get<std::string>())
        << "`: ns-3 " << Num(row.at("ns3_wall_per_sim_second").get<double>()) << " s, fluid "
        << Num(row.at("fluid_wall_per_sim_second").get<double>())
        << " s of wall time per simulated second, **" << Num(row.at("speedup").get<double>())
        << "x** (target: " << row.at("target").get<std::string>() << ").\n";
  }
  out << "\n**Calibration**, fluid against ns-3, one minute (two seconds for the datacenter), "
         "bottleneck direction (targets: throughput within 10 %, p95 delay within 25 %):\n\n"
      << "| scenario | ns-3 Mbit/s | fluid Mbit/s | throughput error | ns-3 p95 ms | fluid p95 "
         "ms | p95 error | targets |\n"
      << "|---|---|---|---|---|---|---|---|\n";
  for (const core::Json& row : r.at("results")) {
    if (row.value("case", std::string()) != "calibration") continue;
    const std::string scenario = ShowSpec(row.at("scenario").get<std::string>());
    out << "| `" << scenario << "` | " << Num(row.at("ns3").at("throughput_mbps").get<double>())
        << " | " << Num(row.at("fluid").at("throughput_mbps").get<double>()) << " | "
        << Percent(row.at("throughput_error").get<double>()) << " | "
        << Num(row.at("ns3").at("delay_p95_ms").get<double>()) << " | "
        << Num(row.at("fluid").at("delay_p95_ms").get<double>()) << " | "
        << Percent(row.at("p95_delay_error").get<double>()) << " | "
        << (row.at("within_targets").get<bool>() ? "met" : "**not met**") << " |\n";
  }
  for (const core::Json& row : r.at("results")) {
    const std::string name = row.value("case", std::string());
    if (name.rfind("calibration ", 0) == 0 && row.contains("skipped")) {
      out << "| " << name.substr(12) << " | skipped: " << row.at("skipped").get<std::string>()
          << " | | | | | | |\n";
    }
  }
  ClassTables(r, out);
}

void EnvTables(const core::Json& r, std::ostringstream& out) {
  out << "**Env steps per second** (" << Source(r, "results/reference/bench/envs.json")
      << " Steps summed over sub-envs.)\n\n"
      << "| env | single | sync vector | process vector |\n|---|---|---|---|\n";
  std::vector<std::string> order;
  std::map<std::string, std::map<std::string, std::string>> cells;
  for (const core::Json& row : r.at("results")) {
    const std::string env = row.at("env").get<std::string>();
    if (!cells.count(env)) order.push_back(env);
    cells[env][row.at("mode").get<std::string>()] =
        Rate(row.at("steps_per_second").get<double>()) +
        (row.at("mode") == "single" ? ""
                                    : " (" + std::to_string(row.at("num_envs").get<int>()) + ")");
  }
  for (const std::string& env : order) {
    auto& c = cells[env];
    out << "| " << env << " | " << c["single"] << " | " << c["sync"] << " | " << c["process"]
        << " |\n";
  }
}

void AgentTables(const core::Json& r, std::ostringstream& out) {
  out << "**Training speed** (" << Source(r, "results/reference/bench/agents.json")
      << " Env steps per second of whole training runs, updates included.)\n\n"
      << "| case | env | agent | envs | env steps | env steps/s | last-100 return |\n"
      << "|---|---|---|---|---|---|---|\n";
  for (const core::Json& row : r.at("results")) {
    out << "| " << row.at("case").get<std::string>() << " | " << row.at("env").get<std::string>()
        << " | " << row.at("algo").get<std::string>() << " | " << row.at("num_envs").get<int>()
        << " | " << row.at("env_steps").get<int64_t>() << " | "
        << Rate(row.at("steps_per_second").get<double>()) << " | "
        << Num(row.at("mean_return_last100").get<double>()) << " |\n";
  }
}

// "12.3", bold when `met` is false; "n/a" when the figure is missing.
std::string Checked(const core::Json& row, const std::string& value, const std::string& met) {
  if (!row.contains(value) || !row.at(value).is_number()) return "n/a";
  const std::string cell = Num(row.at(value).get<double>());
  return row.value(met, false) ? cell : "**" + cell + "**";
}

std::string ErrorCell(const core::Json& row, const std::string& error) {
  return row.contains(error) && row.at(error).is_number() ? Percent(row.at(error).get<double>())
                                                          : "n/a";
}

void HtbTables(const core::Json& r, std::ostringstream& out) {
  out << "**HTB against the Linux kernel** (" << Source(r, "results/reference/bench/htb.json")
      << " Kernel " << r.value("uname", std::string("?")) << ". One iperf3 -C cubic flow per "
      << "class through the kernel's HTB on a veth pair, and the same config on both simulator "
      << "backends; " << Num(r.at("warmup_s").get<double>()) << " s warm-up, "
      << Num(r.at("measure_s").get<double>())
      << " s counted. Expected: Linux HTB semantics. Target: within 10 % of the expected rate "
         "(kernel against the expectation, each backend against the kernel); bold: missed.)\n\n"
      << "| case | class | rate / ceil Mbit/s, prio, quantum B (kernel's) | expected Mbit/s "
         "(share) | kernel | ns-3 | fluid | ns-3 vs kernel | fluid vs kernel |\n"
      << "|---|---|---|---|---|---|---|---|---|\n";
  for (const core::Json& row : r.at("results")) {
    const double root = row.at("root_mbps").get<double>();
    std::string config = Num(row.at("rate_mbps").get<double>()) + " / " +
                         Num(row.at("ceil_mbps").get<double>()) + " of " + Num(root) + ", prio " +
                         std::to_string(row.at("prio").get<int>()) + ", " +
                         Num(row.at("quantum_bytes").get<double>());
    if (row.contains("kernel_quantum_bytes")) {
      config += " (" + Num(row.at("kernel_quantum_bytes").get<double>()) + ")";
    }
    std::string kernel = Checked(row, "kernel_mbps", "kernel_met");
    if (row.contains("kernel_skipped")) {
      kernel = "skipped: " + row.at("kernel_skipped").get<std::string>();
    } else if (!row.value("kernel_credible", true)) {
      kernel += " (in doubt: " + row.value("kernel_doubt", std::string()) + ")";
    }
    out << "| " << row.at("case").get<std::string>() << " | " << row.at("class").get<std::string>()
        << " | " << config << " | " << Num(row.at("expected_mbps").get<double>()) << " ("
        << Num(100 * row.at("expected_share").get<double>()) << " %) | " << kernel << " | "
        << Checked(row, "ns3_mbps", "ns3_met") << " | " << Checked(row, "fluid_mbps", "fluid_met")
        << " | " << ErrorCell(row, "ns3_error") << " | " << ErrorCell(row, "fluid_error") << " |\n";
  }
}

}  // namespace

std::string BenchTables(const std::string& dir) {
  std::ostringstream out;
  out << kBegin << "\n\n";
  const std::pair<const char*, void (*)(const core::Json&, std::ostringstream&)> parts[] = {
      {"/sim.json", SimTables},
      {"/htb.json", HtbTables},
      {"/envs.json", EnvTables},
      {"/agents.json", AgentTables}};
  for (const auto& [file, table] : parts) {
    const std::string path = dir + file;
    const core::Json report = core::ReadJsonFile(path);
    try {
      table(report, out);
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error(path + ": not a bench report of the expected layout (" + e.what() +
                               ")");
    }
    out << "\n";
  }
  out << kEnd << "\n";
  return out.str();
}

std::string ReadmeBenchBlock(const std::string& readme_text, const std::string& readme_path) {
  const size_t a = readme_text.find(kBegin);
  const size_t b = readme_text.find(kEnd);
  if (a == std::string::npos || b == std::string::npos || b < a) {
    throw std::runtime_error(readme_path + ": no bench tables block ('" + kBegin + "' ... '" +
                             kEnd + "')");
  }
  return readme_text.substr(a, b + std::string(kEnd).size() + 1 - a);
}

void WriteReadmeBenchTables(const std::string& readme_path, const std::string& dir) {
  const std::string text = core::ReadFile(readme_path);
  const std::string old_block = ReadmeBenchBlock(text, readme_path);
  std::string updated = text;
  updated.replace(text.find(old_block), old_block.size(), BenchTables(dir));
  core::WriteFileAtomic(readme_path, updated);
}

}  // namespace linklab::experiments
