#include "experiments/repro.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "core/ini.h"
#include "core/machine.h"
#include "core/params.h"
#include "core/text.h"
#include "experiments/process.h"
#include "experiments/sweep.h"

namespace linklab::experiments {

namespace fs = std::filesystem;

namespace {

// Seconds one [prepare] command may take.
constexpr double kPrepareTimeoutS = 3600;

// "a b \"c d\"" -> {a, b, c d}: words split at spaces, double quotes grouping.
std::vector<std::string> Words(const std::string& text, const std::string& what) {
  std::vector<std::string> words;
  std::string cur;
  bool quoted = false, any = false;
  for (char c : text) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && (c == ' ' || c == '\t')) {
      if (any) words.push_back(cur);
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (quoted) throw std::invalid_argument(what + ": an unclosed '\"'");
  if (any) words.push_back(cur);
  if (words.empty()) throw std::invalid_argument(what + ": no linklab arguments");
  return words;
}

std::string Fixed(const core::Json& v) {
  if (!v.is_number()) return "–";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.4g", v.get<double>());
  return buf;
}

// "187.2 ± 12.1 (n 3)" of a collected figure.
std::string Shown(const core::Json& f) {
  std::string s = Fixed(f["mean"]);
  if (f["ci95"].is_number()) s += " ± " + Fixed(f["ci95"]);
  return s + " (n " + std::to_string(f["n"].get<int64_t>()) + ")";
}

const core::Json* FindPoint(const core::Json& table, const core::Json& values) {
  for (const core::Json& p : table["points"]) {
    if (p["values"] == values) return &p;
  }
  return nullptr;
}

struct Case {
  std::string file;
  SweepPlan plan;
  std::string reference;  // <reference>/<name>
};

}  // namespace

core::Json RunRepro(const ReproOptions& o) {
  const std::string suite = fs::absolute(o.suite).lexically_normal().string();
  const std::vector<core::IniEntry> entries =
      core::ReadIni(suite, {"repro", "prepare"}, "repro suite");
  core::RawValues repro_raw;
  std::vector<core::IniEntry> prepare;
  for (const core::IniEntry& e : entries) {
    if (e.section == "repro") {
      repro_raw[e.key] = core::RawValue{e.value, suite + ":" + std::to_string(e.line)};
    } else {
      prepare.push_back(e);
    }
  }
  const core::Params repro = core::Params::Resolve(
      {core::StringParam("reference", "../../results/reference/repro",
                         "the committed reference tables, one folder per case"),
       core::StringParam("cases", "", "the cases: sweep files with a [tolerance] section")},
      repro_raw, "[repro]");
  const fs::path here = fs::path(suite).parent_path();
  const std::string reference = (here / repro.String("reference")).lexically_normal().string();
  const std::string out =
      fs::absolute(o.out.empty() ? "results/repro/" + core::UtcTimestamp(true) : o.out)
          .lexically_normal()
          .string();

  // Every case checked, and its reference found, before anything runs.
  std::vector<Case> cases;
  std::vector<std::string> names;
  for (const std::string& item : core::ParseListValue(repro.String("cases"))) {
    const std::string file = (here / item).lexically_normal().string();
    SweepPlan plan = LoadSweep(file, out + "/" + fs::path(file).stem().string());
    plan.cwd = out;
    names.push_back(plan.name);
    if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), plan.name) == o.only.end()) {
      continue;
    }
    if (plan.tolerances.empty()) {
      throw std::invalid_argument(file +
                                  ": no [tolerance] section (a repro case says how far "
                                  "each figure may be from its reference)");
    }
    const std::string ref = reference + "/" + plan.name;
    if (!o.update && !fs::exists(ref + "/table.json")) {
      throw std::invalid_argument("repro case " + plan.name + ": no reference " + ref +
                                  "/table.json (make it with linklab repro --update)");
    }
    cases.push_back({file, std::move(plan), ref});
  }
  if (names.empty()) throw std::invalid_argument(suite + ": [repro] cases: none");
  for (const std::string& n : o.only) {
    if (std::find(names.begin(), names.end(), n) == names.end()) {
      throw std::invalid_argument("repro --only " + n + ": no such case (" +
                                  core::Join(names, ", ") + ")");
    }
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> steps;
  for (const core::IniEntry& e : prepare) {
    steps.emplace_back(
        e.key, Words(e.value, suite + ":" + std::to_string(e.line) + ": [prepare] " + e.key));
  }

  fs::create_directories(out);
  const fs::path start = fs::current_path();
  if (::chdir(out.c_str()) != 0) throw std::runtime_error("cannot enter " + out);
  struct Back {
    fs::path to;
    ~Back() { (void)!::chdir(to.c_str()); }
  } back{start};

  // What the cases read, made once (Ctrl-C stops the command it waits for).
  SignalGuard guard;
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  for (const auto& [path, words] : steps) {
    if (fs::exists(path)) continue;
    std::cerr << "linklab: repro: making " << path << " (linklab " << core::Join(words, " ")
              << ")\n";
    if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
    std::vector<std::string> argv = {self};
    argv.insert(argv.end(), words.begin(), words.end());
    Child child(argv);
    if (!child.Wait(kPrepareTimeoutS) || child.exit_code() != 0 || !fs::exists(path)) {
      child.Stop();
      throw std::runtime_error("repro: [prepare] " + path + ": " + child.Failure());
    }
  }

  core::Json report = core::Json::object();
  report["kind"] = "linklab-repro-report";
  report["suite"] = suite;
  report["reference"] = reference;
  report["out"] = out;
  report["update"] = o.update;
  report["git_commit"] = core::GitCommit();
  report["created"] = core::UtcTimestamp();
  const char* aten = std::getenv("ATEN_CPU_CAPABILITY");
  report["aten_cpu_capability"] = aten ? aten : "";
  report["machine"] = core::MachineInfo();
  core::Json case_reports = core::Json::array();
  int64_t failed = 0, checked = 0, held = 0;
  for (const Case& c : cases) {
    core::Json cr = core::Json::object();
    cr["name"] = c.plan.name;
    cr["file"] = c.file;
    cr["runs"] = static_cast<int64_t>(c.plan.points.size());
    cr["dir"] = c.plan.dir;
    core::Json rows = core::Json::array();
    core::Json table;
    try {
      WritePlan(c.plan);
      cr["failed_runs"] = RunSweepLocal(c.plan, SweepSelection::kUnfinished, o.processes);
      CollectOptions co;
      co.out = c.plan.dir + "/collect";
      co.make_plots = false;
      table = CollectSweep(c.plan.dir, co);
    } catch (const std::exception& e) {
      if (PendingStopSignal() != 0) throw;
      cr["error"] = e.what();
      ++failed;
      std::cerr << "linklab: repro case " << c.plan.name << " did not finish: " << e.what() << "\n";
      case_reports.push_back(cr);
      continue;
    }
    if (o.update) {
      // A reference is only made of every planned run.
      if (!table["incomplete"].empty() || cr.value("failed_runs", 0) > 0) {
        cr["error"] = "not every run finished (" + table["incomplete"].dump() +
                      "); the reference was not written";
        ++failed;
        case_reports.push_back(cr);
        continue;
      }
      fs::create_directories(c.reference);
      core::WriteFileAtomic(c.reference + "/table.json", core::DumpJson(table));
      core::WriteFileAtomic(c.reference + "/table.md",
                            core::ReadFile(c.plan.dir + "/collect/table.md"));
      cr["reference_written"] = c.reference;
      case_reports.push_back(cr);
      continue;
    }
    const core::Json ref = core::ReadJsonFile(c.reference + "/table.json");
    const std::string ref_commits =
        ref.contains("run_commits")
            ? core::Join(ref["run_commits"].get<std::vector<std::string>>(), ", ")
            : "";
    for (const core::Json& point : table["points"]) {
      std::vector<std::string> labels;
      for (const auto& [k, v] : point["values"].items()) labels.push_back(k + "=" + v.dump());
      const std::string label = labels.empty() ? "(base)" : core::Join(labels, ", ");
      const core::Json* rp = FindPoint(ref, point["values"]);
      for (const SweepTolerance& t : c.plan.tolerances) {
        core::Json row = core::Json::object();
        row["point"] = label;
        row["figure"] = t.figure;
        row["tolerance"] = t.Text();
        const core::Json& mine = point["figures"][t.figure];
        row["reproduced"] = mine;
        bool pass = false;
        std::string why;
        if (!rp || !(*rp)["figures"].contains(t.figure)) {
          why = "no reference for this point and figure";
        } else {
          const core::Json& theirs = (*rp)["figures"][t.figure];
          row["reference"] = theirs;
          row["reference_commits"] = ref_commits;
          if (!theirs["mean"].is_number() || !mine["mean"].is_number()) {
            why = "no value";
          } else if (mine["n"].get<int64_t>() < point["planned_seeds"].get<int64_t>()) {
            why = "only " + std::to_string(mine["n"].get<int64_t>()) + " of " +
                  std::to_string(point["planned_seeds"].get<int64_t>()) + " seeds finished";
          } else if (theirs["n"].get<int64_t>() != mine["n"].get<int64_t>()) {
            why = "the reference has " + std::to_string(theirs["n"].get<int64_t>()) +
                  " seeds, this run " + std::to_string(mine["n"].get<int64_t>()) +
                  " (remake it with --update)";
          } else {
            const double a = theirs["mean"].get<double>(), b = mine["mean"].get<double>();
            const double allowed = t.relative ? t.value * std::abs(a) : t.value;
            row["difference"] = b - a;
            row["allowed"] = allowed;
            pass = std::abs(b - a) <= allowed;
          }
        }
        row["pass"] = pass;
        if (!why.empty()) row["why"] = why;
        ++checked;
        (pass ? held : failed) += 1;
        rows.push_back(row);
      }
    }
    cr["rows"] = rows;
    cr["run_commits"] = table["run_commits"];
    case_reports.push_back(cr);
  }
  report["cases"] = case_reports;
  report["checked"] = checked;
  report["failed"] = failed;

  std::ostringstream md;
  md << "# linklab repro" << (o.update ? ": references written" : "") << "\n\n";
  md << "Suite `" << suite << "`, references `" << reference << "`; linklab " << core::GitCommit()
     << " on " << report["machine"].value("cpu", std::string("?"))
     << (aten ? std::string(", ATEN_CPU_CAPABILITY=") + aten : std::string()) << "; "
     << report["created"].get<std::string>() << ".\n\n";
  if (!o.update) {
    md << "Each figure is the mean over seeds ± the half-width of its 95 % t-interval; it holds "
          "when |reproduced − reference| ≤ the tolerance (a percentage is of |reference|).\n\n";
    md << "| case | point | figure | reference | reproduced | difference | tolerance | holds |\n";
    md << "|---|---|---|---|---|---|---|---|\n";
  }
  for (const core::Json& cr : case_reports) {
    if (cr.contains("error")) {
      md << "| " << cr["name"].get<std::string>()
         << " | | | | did not finish: " << core::Printable(cr["error"].get<std::string>(), 200)
         << " | | | no |\n";
      continue;
    }
    if (o.update) {
      md << "- " << cr["name"].get<std::string>() << ": "
         << cr["reference_written"].get<std::string>() << "/table.json\n";
      continue;
    }
    for (const core::Json& r : cr["rows"]) {
      md << "| " << cr["name"].get<std::string>() << " | " << r["point"].get<std::string>() << " | "
         << r["figure"].get<std::string>() << " | "
         << (r.contains("reference") ? Shown(r["reference"]) : "–") << " | "
         << Shown(r["reproduced"]) << " | "
         << (r.contains("difference") ? Fixed(r["difference"]) : "–") << " | "
         << r["tolerance"].get<std::string>()
         << (r.contains("allowed") &&
                     r["tolerance"].get<std::string>().find('%') != std::string::npos
                 ? " (" + Fixed(r["allowed"]) + ")"
                 : "")
         << " | "
         << (r["pass"].get<bool>()
                 ? "yes"
                 : "**no**" +
                       (r.contains("why") ? ": " + r["why"].get<std::string>() : std::string()))
         << " |\n";
    }
  }
  if (!o.update) {
    md << "\n"
       << held << " of " << checked << " figures hold"
       << (failed ? "; " + std::to_string(failed) + " failures" : std::string()) << ".\n";
  }
  core::WriteFileAtomic(out + "/report.json", core::DumpJson(report));
  core::WriteFileAtomic(out + "/report.md", md.str());
  std::cout << md.str();
  std::cerr << "linklab: repro report " << out << "/report.{md,json}\n";
  return report;
}

}  // namespace linklab::experiments
