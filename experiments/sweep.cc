#include "experiments/sweep.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "core/ini.h"
#include "core/machine.h"
#include "core/progress.h"
#include "core/text.h"
#include "datasets/metrics_file.h"
#include "experiments/config.h"
#include "experiments/eval.h"
#include "experiments/predictor.h"
#include "experiments/process.h"
#include "experiments/run.h"
#include "experiments/slurm.h"

namespace linklab::experiments {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kSweepSections = {"sweep", "set",   "grid",
                                                 "zip",   "slurm", "tolerance"};
constexpr size_t kMaxPoints = 100000;
const datasets::FileKind kSweepTableFile{"linklab-sweep-table", 1};

std::vector<core::ParamSpec> SweepSpecs(const std::string& stem) {
  return {
      core::StringParam("name", stem, "the sweep's name: its folder is <output>/<name>"),
      core::StringParam("base", "",
                        "the experiment or predictor config every point starts from (relative "
                        "to the sweep file)"),
      core::StringParam("seeds", "[1]", "the seeds of every config point (VALUES)"),
      core::StringParam("output", "results/sweeps", "folder that receives sweep folders"),
      core::IntParam("processes", 0, "local runs at once; 0: the cores", 0, 4096),
      core::StringParam("figures", "",
                        "summary.json figures collect gathers (dotted paths); default: "
                        "eval.mean_return and train.mean_return_last100 of experiments, "
                        "best_val_loss_scaled and best_epoch of predictors"),
      core::StringParam("description", "", "free text stored with the plan"),
  };
}

std::vector<core::ParamSpec> SlurmSpecs() {
  return {
      core::StringParam("partition", "", "sbatch --partition (''; the cluster's default)"),
      core::StringParam("time", "", "sbatch --time per task, e.g. 01:00:00 (''; the default)"),
      core::IntParam("cpus_per_task", 1, "sbatch --cpus-per-task", 1, 4096),
      core::StringParam("mem", "", "sbatch --mem per task, e.g. 4G (''; the default)"),
      core::IntParam("max_parallel", 0, "tasks of the array running at once (%N); 0: no limit", 0,
                     100000),
      core::StringParam("account", "", "sbatch --account"),
      core::StringParam("qos", "", "sbatch --qos"),
      core::StringParam("sbatch_args", "[]", "more sbatch options, as a list"),
  };
}

// Splits "a, [b, c], d" at top-level commas (brackets and double quotes nest).
std::vector<std::string> SplitTopLevel(const std::string& body, const std::string& what) {
  std::vector<std::string> items;
  std::string cur;
  int depth = 0;
  bool quoted = false;
  for (char c : body) {
    if (c == '"') quoted = !quoted;
    if (!quoted && c == '[') ++depth;
    if (!quoted && c == ']') --depth;
    if (depth < 0) throw std::invalid_argument(what + ": unbalanced ']' in '" + body + "'");
    if (!quoted && depth == 0 && c == ',') {
      items.push_back(core::Trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (depth != 0 || quoted)
    throw std::invalid_argument(what + ": unbalanced '[' or '\"' in '" + body + "'");
  items.push_back(core::Trim(cur));
  return items;
}

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

// Whether `text` is a whole number (for range() of integers).
bool IsInteger(const std::string& text) {
  if (text.empty()) return false;
  size_t i = (text[0] == '-' || text[0] == '+') ? 1 : 0;
  if (i == text.size()) return false;
  for (; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

std::string Hex(uint64_t h, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf).substr(16 - digits);
}

// A point's folder name: its group and seed, with characters a file name should not hold
// replaced; long names are cut and made unique with a hash.
std::string FolderName(const std::string& label) {
  std::string name;
  for (char c : label) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
                    c == '-' || c == '=' || c == ',' || c == '+';
    name += ok ? c : '_';
  }
  // A changed or cut name gets the label's hash, so that two labels never share a folder.
  if (name != label) name = name.substr(0, 100) + "-" + Hex(core::Fnv1a64(label), 12);
  return name;
}

std::string ThisHost() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// An exclusive lock on `path` (created) for this process's life, or -1 when another holds it.
int TryLock(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open lock file " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct LockGuard {
  int fd = -1;
  ~LockGuard() {
    if (fd >= 0) ::close(fd);
  }
};

std::string RunDir(const SweepPlan& plan, const SweepPoint& p) {
  return plan.dir + "/runs/" + p.name;
}

core::Json ReadJsonOr(const std::string& path, core::Json fallback) {
  if (!fs::exists(path)) return fallback;
  return core::ReadJsonFile(path);
}

// The last non-empty line of a log, for failures that left no error of their own.
std::string LastLogLine(const std::string& path) {
  if (!fs::exists(path)) return "";
  std::string last;
  for (const std::string& line : core::Split(core::ReadFile(path), '\n')) {
    const std::string t = core::Trim(line);
    if (!t.empty() && t.find('\r') == std::string::npos) last = t;
  }
  return core::Printable(last, 300);
}

// --- the plan ---------------------------------------------------------------------------------

core::Json PlanJson(const SweepPlan& plan) {
  core::Json j = core::Json::object();
  j["kind"] = "linklab-sweep-plan";
  j["version"] = 1;
  j["id"] = plan.id;
  j["name"] = plan.name;
  j["description"] = plan.description;
  j["file"] = plan.file;
  j["base"] = plan.base;
  j["config_kind"] = plan.kind;
  j["dir"] = plan.dir;
  j["cwd"] = plan.cwd;
  j["processes"] = plan.processes;
  j["keys"] = plan.keys;
  j["figures"] = plan.figures;
  core::Json& s = j["slurm"];
  s["partition"] = plan.slurm.partition;
  s["time"] = plan.slurm.time;
  s["cpus_per_task"] = plan.slurm.cpus_per_task;
  s["mem"] = plan.slurm.mem;
  s["max_parallel"] = plan.slurm.max_parallel;
  s["account"] = plan.slurm.account;
  s["qos"] = plan.slurm.qos;
  s["sbatch_args"] = plan.slurm.sbatch_args;
  j["git_commit"] = core::GitCommit();
  j["planned"] = core::UtcTimestamp();
  core::Json points = core::Json::array();
  for (const SweepPoint& p : plan.points) {
    core::Json q = core::Json::object();
    q["name"] = p.name;
    q["group"] = p.group;
    core::Json values = core::Json::object();
    for (const auto& [k, v] : p.values) values[k] = v;
    q["values"] = values;
    q["seed"] = p.seed;
    q["sets"] = p.sets;
    points.push_back(q);
  }
  j["points"] = points;
  return j;
}

// The plan of the sweep folder `dir` (plan.json); std::invalid_argument when there is none.
SweepPlan ReadPlan(const std::string& dir) {
  const std::string path = dir + "/plan.json";
  if (!fs::exists(path)) {
    throw std::invalid_argument(dir +
                                ": not a sweep folder (no plan.json; linklab sweep "
                                "SWEEP.ini makes one)");
  }
  const core::Json j = core::ReadJsonFile(path);
  if (j.value("kind", "") != "linklab-sweep-plan" || j.value("version", 0) != 1) {
    throw std::invalid_argument(path + ": not a linklab sweep plan of version 1");
  }
  try {
    SweepPlan plan;
    plan.id = j.at("id").get<std::string>();
    plan.name = j.at("name").get<std::string>();
    plan.description = j.at("description").get<std::string>();
    plan.file = j.at("file").get<std::string>();
    plan.base = j.at("base").get<std::string>();
    plan.kind = j.at("config_kind").get<std::string>();
    plan.dir = fs::absolute(dir).lexically_normal().string();
    while (plan.dir.size() > 1 && plan.dir.back() == '/') plan.dir.pop_back();
    plan.cwd = j.at("cwd").get<std::string>();
    plan.processes = j.at("processes").get<int64_t>();
    plan.keys = j.at("keys").get<std::vector<std::string>>();
    plan.figures = j.at("figures").get<std::vector<std::string>>();
    const core::Json& s = j.at("slurm");
    plan.slurm.partition = s.at("partition").get<std::string>();
    plan.slurm.time = s.at("time").get<std::string>();
    plan.slurm.cpus_per_task = s.at("cpus_per_task").get<int64_t>();
    plan.slurm.mem = s.at("mem").get<std::string>();
    plan.slurm.max_parallel = s.at("max_parallel").get<int64_t>();
    plan.slurm.account = s.at("account").get<std::string>();
    plan.slurm.qos = s.at("qos").get<std::string>();
    plan.slurm.sbatch_args = s.at("sbatch_args").get<std::vector<std::string>>();
    for (const core::Json& q : j.at("points")) {
      SweepPoint p;
      p.name = q.at("name").get<std::string>();
      p.group = q.at("group").get<std::string>();
      for (const auto& [k, v] : q.at("values").items())
        p.values.emplace_back(k, v.get<std::string>());
      p.seed = q.at("seed").get<uint64_t>();
      p.sets = q.at("sets").get<std::vector<std::string>>();
      plan.points.push_back(std::move(p));
    }
    return plan;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(path + ": malformed plan: " + e.what());
  }
}

// The run folders under runs/ that do not belong to `plan`'s sweep: std::invalid_argument
// naming the first.
void CheckRunFolders(const SweepPlan& plan) {
  std::set<std::string> planned;
  for (const SweepPoint& p : plan.points) planned.insert(p.name);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(plan.dir + "/runs", ec)) {
    if (!e.is_directory()) continue;
    const std::string task = e.path().string() + "/sweep_task.json";
    if (!fs::exists(task)) {
      // A planned point whose task has only just begun (its lock and log, nothing else yet).
      bool starting = planned.count(e.path().filename().string()) > 0;
      for (const auto& f : fs::directory_iterator(e.path(), ec)) {
        const std::string n = f.path().filename().string();
        starting = starting && (n == ".task.lock" || n == "log.txt");
      }
      if (starting) continue;
      throw std::invalid_argument("run folder " + e.path().string() +
                                  " was not made by this sweep (no sweep_task.json); move it "
                                  "out of the sweep folder");
    }
    const core::Json t = core::ReadJsonFile(task);
    const std::string id = t.value("sweep", "");
    if (id != plan.id) {
      throw std::invalid_argument("run folder " + e.path().string() +
                                  " belongs to another sweep (" + task + " names sweep " + id +
                                  ", this one is " + plan.id + "); nothing run or submitted");
    }
  }
}

// The overrides of one point, checked against the base config: std::invalid_argument naming the
// sweep file's line.
struct Override {
  std::string key, value, origin;
};

void CheckPoint(const SweepPlan& plan, const std::vector<Override>& overrides) {
  const std::vector<std::string>& sections =
      plan.kind == "predictor" ? PredictorSections() : ExperimentSections();
  RawSections raw = ReadSections(plan.base, sections, plan.kind + " config");
  for (const Override& o : overrides) {
    const size_t dot = o.key.find('.');
    const std::string section = o.key.substr(0, dot);
    if (dot == std::string::npos ||
        std::find(sections.begin(), sections.end(), section) == sections.end()) {
      throw std::invalid_argument(o.origin + ": key '" + o.key + "': a " + plan.kind +
                                  " config has sections [" + core::Join(sections, "], [") +
                                  "] (keys are section.key)");
    }
    raw[section][o.key.substr(dot + 1)] = core::RawValue{o.value, o.origin};
  }
  if (plan.kind == "predictor") {
    CheckPredictorConfig(std::move(raw));
  } else {
    ResolveExperiment(std::move(raw), {}, plan.base);
  }
}

// --- run states ---------------------------------------------------------------------------------

struct PointState {
  std::string state;  // done, failed, running, queued, interrupted, pending
  std::string detail;
  int64_t attempts = 0;
  std::string slurm_job;  // "<job>_<task>" when submitted
};

// The array task each point was last submitted as, "<job>_<task>" (slurm/jobs.json).
std::map<std::string, std::string> SubmittedJobs(const SweepPlan& plan) {
  std::map<std::string, std::string> jobs;
  const core::Json j = ReadJsonOr(plan.dir + "/slurm/jobs.json", core::Json::array());
  for (const core::Json& s : j) {
    const std::vector<std::string> points = s.at("points").get<std::vector<std::string>>();
    for (size_t i = 0; i < points.size(); ++i) {
      jobs[points[i]] = s.at("job").get<std::string>() + "_" + std::to_string(i);
    }
  }
  return jobs;
}

// Whether a task holds the point's lock now (it runs, on this host or, over a shared file
// system that locks, another).
bool TaskLockHeld(const std::string& run) {
  if (!fs::exists(run + "/.task.lock")) return false;
  const int fd = ::open((run + "/.task.lock").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
  ::close(fd);
  return held;
}

// Every point's state; `notes` gets what could not be asked (squeue or sacct failing).
std::vector<PointState> PointStates(const SweepPlan& plan, std::vector<std::string>* notes) {
  const std::map<std::string, std::string> submitted = SubmittedJobs(plan);
  std::map<std::string, std::string> queue, accounting;
  bool queue_known = false;  // squeue answered
  if (!submitted.empty()) {
    std::set<std::string> ids;
    for (const auto& [name, task] : submitted) ids.insert(core::Split(task, '_')[0]);
    const std::vector<std::string> jobs(ids.begin(), ids.end());
    try {
      const SlurmClient slurm;
      try {
        queue = slurm.QueueStates(jobs);
        queue_known = true;
      } catch (const std::exception& e) {
        notes->push_back(std::string("squeue: ") + e.what());
      }
      // Accounting only for tasks the controller no longer knows (and that did not finish).
      bool gone = false;
      for (const auto& [name, task] : submitted) {
        gone = gone || (!queue.count(task) && fs::exists(plan.dir + "/runs/" + name) &&
                        !fs::exists(plan.dir + "/runs/" + name + "/summary.json"));
      }
      if (gone) {
        try {
          accounting = slurm.AccountingStates(jobs);
        } catch (const std::exception& e) {
          notes->push_back(std::string("sacct (final states of tasks that left the queue): ") +
                           e.what());
        }
      }
    } catch (const std::exception& e) {
      notes->push_back(e.what());
    }
  }
  std::vector<PointState> states;
  for (size_t i = 0; i < plan.points.size(); ++i) {
    const std::string run = RunDir(plan, plan.points[i]);
    const core::Json task = ReadJsonOr(run + "/sweep_task.json", core::Json::object());
    PointState s;
    s.attempts = task.value("attempts", static_cast<int64_t>(0));
    const auto sub = submitted.find(plan.points[i].name);
    if (sub != submitted.end()) s.slurm_job = sub->second;
    const std::string recorded = task.value("state", "");
    const std::string log_line = LastLogLine(run + "/log.txt");
    const auto q = s.slurm_job.empty() ? queue.end() : queue.find(s.slurm_job);
    const auto a = s.slurm_job.empty() ? accounting.end() : accounting.find(s.slurm_job);
    const bool active = q != queue.end() && SlurmActive(q->second);
    // The final state Slurm gives a task that has ended: from the queue while the controller
    // keeps it, else from accounting.
    // Only for the attempt that task made (not one before or after it, run elsewhere).
    std::string ended;
    if (task.empty() || task.value("slurm_job", "") == s.slurm_job) {
      if (q != queue.end() && !active) ended = q->second;
      if (ended.empty() && a != accounting.end()) ended = a->second;
    }
    if (fs::exists(run + "/summary.json")) {
      s.state = "done";
    } else if (active) {
      s.state = core::StartsWith(q->second, "PENDING") ? "queued" : "running";
      s.detail = "Slurm job " + s.slurm_job + " " + q->second;
    } else if (TaskLockHeld(run)) {
      s.state = "running";
      s.detail = "on " + task.value("host", std::string("?")) + ", pid " +
                 std::to_string(task.value("pid", 0)) + ", since " + task.value("started", "");
    } else if (!s.slurm_job.empty() && !queue_known && recorded != "failed") {
      s.state = "unknown";
      s.detail = "submitted as Slurm job " + s.slurm_job + ", and squeue did not answer";
    } else if (recorded == "failed") {
      s.state = "failed";
      s.detail = task.value("error", "");
    } else if (!ended.empty() && !core::StartsWith(ended, "COMPLETED")) {
      s.state = "failed";
      s.detail = "Slurm job " + s.slurm_job + " ended " + ended +
                 (log_line.empty() ? "" : "; last log line: " + log_line);
    } else if (recorded == "running" || recorded == "interrupted") {
      s.state = "interrupted";
      s.detail = "stopped before it finished" +
                 (log_line.empty() ? std::string() : "; last log line: " + log_line);
    } else if (!s.slurm_job.empty() && queue_known && task.empty()) {
      s.state = "failed";
      s.detail = "Slurm job " + s.slurm_job + " left the queue without starting";
    } else {
      s.state = "pending";
    }
    states.push_back(s);
  }
  return states;
}

// The indices to run: unfinished points (or only the failed ones) that are not queued or
// running elsewhere. Says on stderr what Slurm could not tell and how many points are busy;
// `done` gets the number of finished points.
std::vector<int64_t> Selected(const SweepPlan& plan, SweepSelection selection, int64_t* done) {
  std::vector<std::string> notes;
  const std::vector<PointState> states = PointStates(plan, &notes);
  for (const std::string& n : notes) std::cerr << "linklab: note: " << n << "\n";
  std::vector<int64_t> todo;
  int64_t busy = 0, unknown = 0;
  *done = 0;
  for (const PointState& s : states) unknown += s.state == "unknown";
  if (unknown > 0) {
    throw std::runtime_error(std::to_string(unknown) +
                             " points were submitted to Slurm and squeue cannot say whether they "
                             "still run (linklab sweep status " +
                             plan.dir + "); nothing run or submitted");
  }
  for (size_t i = 0; i < plan.points.size(); ++i) {
    const std::string& s = states[i].state;
    if (s == "queued" || s == "running") ++busy;
    if (s == "done") ++*done;
    if (s == "done" || s == "queued" || s == "running") continue;
    if (selection == SweepSelection::kFailed && s != "failed") continue;
    todo.push_back(static_cast<int64_t>(i));
  }
  if (busy > 0) {
    std::cerr << "linklab: " << busy << " points are queued or running elsewhere; left to them\n";
  }
  return todo;
}

void UpdateTask(const std::string& run, const std::function<void(core::Json&)>& change) {
  core::Json task = ReadJsonOr(run + "/sweep_task.json", core::Json::object());
  change(task);
  core::WriteFileAtomic(run + "/sweep_task.json", core::DumpJson(task));
}

std::string SelfExe() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find this program's path (/proc/self/exe)");
  return p.string();
}

// --- collect ------------------------------------------------------------------------------------

// The number at dotted `path` of `summary`, or NaN when it is missing or null.
double Figure(const core::Json& summary, const std::string& path, const std::string& file) {
  const core::Json* node = &summary;
  for (const std::string& part : core::Split(path, '.')) {
    if (!node->is_object() || !node->contains(part)) return NAN;
    node = &(*node)[part];
  }
  if (node->is_null()) return NAN;
  if (!node->is_number()) {
    throw std::invalid_argument(file + ": figure " + path + " is not a number (" +
                                core::Printable(node->dump(), 60) + ")");
  }
  return node->get<double>();
}

struct Stats {
  int64_t n = 0;
  double mean = NAN, std = NAN, ci95 = NAN, min = NAN, max = NAN;
};

Stats Summarise(const std::vector<double>& values) {
  Stats s;
  std::vector<double> v;
  for (double x : values) {
    if (std::isfinite(x)) v.push_back(x);
  }
  s.n = static_cast<int64_t>(v.size());
  if (v.empty()) return s;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / v.size();
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  if (v.size() >= 2) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / (v.size() - 1));
    s.ci95 = StudentT95(static_cast<int>(v.size()) - 1) * s.std / std::sqrt(double(v.size()));
  }
  return s;
}

// "187.2 ± 12.1", with "(n 2)" when fewer seeds than the point's runs gave a value.
std::string Cell(const Stats& s, int64_t runs) {
  if (s.n == 0) return "–";
  char buf[96];
  if (s.n < 2) {
    std::snprintf(buf, sizeof buf, "%.4g", s.mean);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g ± %.3g", s.mean, s.ci95);
  }
  return std::string(buf) + (s.n < runs ? " (n " + std::to_string(s.n) + ")" : "");
}

// A value fit for a Markdown table cell.
std::string MarkdownCell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

core::Json JsonNumber(double v) { return std::isfinite(v) ? core::Json(v) : core::Json(nullptr); }

// A varied value as JSON: a number when it reads as one.
core::Json ValueJson(const std::string& text) {
  try {
    return core::Json(core::ParseDouble(text, "value"));
  } catch (const std::invalid_argument&) {
    return core::Json(text);
  }
}

}  // namespace

std::string SweepTolerance::Text() const {
  return relative ? Number(value * 100) + " %" : Number(value);
}

// --- values -------------------------------------------------------------------------------------

std::vector<std::string> ExpandSweepValues(const std::string& raw, const std::string& what) {
  const std::string text = core::Trim(raw);
  const auto args_of = [&](const std::string& fn) {
    const std::string inner = text.substr(fn.size() + 1, text.size() - fn.size() - 2);
    std::vector<std::string> args = core::Split(inner, ',');
    for (auto& a : args) a = core::Trim(a);
    return args;
  };
  const auto is_call = [&](const std::string& fn) {
    return core::StartsWith(text, fn + "(") && text.back() == ')';
  };
  std::vector<std::string> out;
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    const std::string body = core::Trim(text.substr(1, text.size() - 2));
    if (body.empty()) throw std::invalid_argument(what + " = []: an empty list (no value to run)");
    for (const std::string& item : SplitTopLevel(body, what)) {
      if (item.empty()) throw std::invalid_argument(what + " = " + text + ": an empty item");
      std::string v = item;
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      out.push_back(v);
    }
  } else if (is_call("range")) {
    const std::vector<std::string> a = args_of("range");
    if (a.size() != 2 && a.size() != 3) {
      throw std::invalid_argument(what + " = " + text + ": range(start, stop[, step])");
    }
    const bool ints = std::all_of(a.begin(), a.end(), IsInteger);
    const double start = core::ParseDouble(a[0], what + " range start");
    const double stop = core::ParseDouble(a[1], what + " range stop");
    const double step = a.size() == 3 ? core::ParseDouble(a[2], what + " range step") : 1.0;
    if (step == 0 || !std::isfinite(step)) {
      throw std::invalid_argument(what + " = " + text + ": the step must be a non-zero number");
    }
    const double count = std::ceil((stop - start) / step - 1e-9);
    if (!(count >= 1)) throw std::invalid_argument(what + " = " + text + ": an empty range");
    if (count > kMaxPoints) throw std::invalid_argument(what + " = " + text + ": too many values");
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) {
      const double v = start + static_cast<double>(i) * step;
      out.push_back(ints ? std::to_string(static_cast<int64_t>(std::llround(v))) : Number(v));
    }
  } else if (is_call("linspace") || is_call("geomspace")) {
    const bool geom = is_call("geomspace");
    const std::vector<std::string> a = args_of(geom ? "geomspace" : "linspace");
    if (a.size() != 3) {
      throw std::invalid_argument(what + " = " + text + ": " + (geom ? "geomspace" : "linspace") +
                                  "(first, last, count)");
    }
    const double lo = core::ParseDouble(a[0], what + " first");
    const double hi = core::ParseDouble(a[1], what + " last");
    const int64_t n = core::ParseInt(a[2], what + " count");
    if (n < 1 || n > static_cast<int64_t>(kMaxPoints)) {
      throw std::invalid_argument(what + " = " + text + ": the count must be in 1.." +
                                  std::to_string(kMaxPoints));
    }
    if (geom && !(lo * hi > 0)) {
      throw std::invalid_argument(what + " = " + text +
                                  ": geomspace needs two non-zero ends of the same sign");
    }
    for (int64_t i = 0; i < n; ++i) {
      const double f = n == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(n - 1);
      const double v = (n > 1 && i == n - 1) ? hi
                       : geom                ? lo * std::pow(hi / lo, f)
                                             : lo + (hi - lo) * f;
      out.push_back(Number(v));
    }
  } else {
    throw std::invalid_argument(what + " = " + core::Printable(text) +
                                ": expected a list [a, b, ...], range(start, stop[, step]), "
                                "linspace(first, last, count) or geomspace(first, last, count) "
                                "(a fixed value goes in [set])");
  }
  return out;
}

// --- planning -----------------------------------------------------------------------------------

SweepPlan LoadSweep(const std::string& path, const std::string& out) {
  const std::vector<core::IniEntry> entries = core::ReadIni(path, kSweepSections, "sweep file");
  if (entries.empty()) throw std::invalid_argument("sweep file '" + path + "' sets no key");
  std::map<std::string, core::RawValues> raw;
  std::vector<core::IniEntry> sets, grid, zip, tolerances;
  for (const core::IniEntry& e : entries) {
    const std::string origin = path + ":" + std::to_string(e.line);
    if (e.section == "tolerance") {
      tolerances.push_back(e);
    } else if (e.section == "sweep" || e.section == "slurm") {
      raw[e.section][e.key] = core::RawValue{e.value, origin};
    } else {
      (e.section == "set" ? sets : e.section == "grid" ? grid : zip).push_back(e);
    }
  }
  SweepPlan plan;
  plan.file = fs::absolute(path).lexically_normal().string();
  const core::Params sweep =
      core::Params::Resolve(SweepSpecs(fs::path(path).stem().string()), raw["sweep"], "[sweep]");
  const core::Params slurm = core::Params::Resolve(SlurmSpecs(), raw["slurm"], "[slurm]");
  const std::string origin_of_base =
      raw["sweep"].count("base") ? raw["sweep"]["base"].origin : path;
  plan.name = sweep.String("name");
  if (plan.name.empty() || plan.name.size() > 100 || FolderName(plan.name) != plan.name) {
    throw std::invalid_argument(path + ": [sweep] name = '" + plan.name +
                                "': letters, digits and . _ - = , + only");
  }
  plan.description = sweep.String("description");
  if (sweep.String("base").empty()) {
    throw std::invalid_argument(path +
                                ": [sweep] base: missing (the config every point starts "
                                "from)");
  }
  fs::path base = sweep.String("base");
  if (base.is_relative()) base = fs::absolute(path).parent_path() / base;
  plan.base = base.lexically_normal().string();
  if (!fs::is_regular_file(plan.base)) {
    throw std::invalid_argument(origin_of_base + ": [sweep] base = " + sweep.String("base") +
                                ": no such file (" + plan.base + ")");
  }
  plan.kind = IsPredictorConfig(plan.base) ? "predictor" : "experiment";
  plan.processes = sweep.Int("processes");
  plan.cwd = fs::current_path().string();
  plan.slurm.partition = slurm.String("partition");
  plan.slurm.time = slurm.String("time");
  plan.slurm.cpus_per_task = slurm.Int("cpus_per_task");
  plan.slurm.mem = slurm.String("mem");
  plan.slurm.max_parallel = slurm.Int("max_parallel");
  plan.slurm.account = slurm.String("account");
  plan.slurm.qos = slurm.String("qos");
  plan.slurm.sbatch_args = core::ParseListValue(slurm.String("sbatch_args"));

  // Seeds.
  std::vector<uint64_t> seeds;
  {
    const std::string origin = raw["sweep"].count("seeds") ? raw["sweep"]["seeds"].origin : path;
    for (const std::string& s :
         ExpandSweepValues(sweep.String("seeds"), origin + ": [sweep] seeds")) {
      const int64_t v = core::ParseInt(s, origin + ": [sweep] seeds item");
      if (v < 0) throw std::invalid_argument(origin + ": [sweep] seeds: " + s + " is negative");
      if (std::find(seeds.begin(), seeds.end(), uint64_t(v)) != seeds.end()) {
        throw std::invalid_argument(origin + ": [sweep] seeds: " + s + " twice");
      }
      seeds.push_back(static_cast<uint64_t>(v));
    }
  }

  // Fixed overrides, then the varied keys: every key once, never the seed.
  std::vector<Override> fixed;
  std::set<std::string> seen;
  const auto claim = [&](const core::IniEntry& e) {
    const std::string origin = path + ":" + std::to_string(e.line);
    if (e.key.find('.') == std::string::npos) {
      throw std::invalid_argument(origin + ": [" + e.section + "] " + e.key +
                                  ": keys are section.key (e.g. agent.learning_rate)");
    }
    if (e.key == "experiment.seed") {
      throw std::invalid_argument(origin + ": [" + e.section +
                                  "] experiment.seed: the seeds go in [sweep] seeds");
    }
    if (!seen.insert(e.key).second) {
      throw std::invalid_argument(origin + ": " + e.key +
                                  " is set twice across [set], [grid] and [zip]");
    }
    return origin;
  };
  for (const core::IniEntry& e : sets) fixed.push_back({e.key, e.value, claim(e)});
  struct Varied {
    std::string key, origin;
    std::vector<std::string> values;
  };
  std::vector<Varied> grid_keys, zip_keys;
  for (const core::IniEntry& e : grid) {
    const std::string origin = claim(e);
    grid_keys.push_back({e.key, origin, ExpandSweepValues(e.value, origin + ": [grid] " + e.key)});
  }
  for (const core::IniEntry& e : zip) {
    const std::string origin = claim(e);
    zip_keys.push_back({e.key, origin, ExpandSweepValues(e.value, origin + ": [zip] " + e.key)});
    if (zip_keys.back().values.size() != zip_keys.front().values.size()) {
      throw std::invalid_argument(origin + ": [zip] " + e.key + " has " +
                                  std::to_string(zip_keys.back().values.size()) + " values, " +
                                  zip_keys.front().key + " has " +
                                  std::to_string(zip_keys.front().values.size()) +
                                  ": keys varied together need as many values");
    }
  }
  for (const Varied& v : grid_keys) plan.keys.push_back(v.key);
  for (const Varied& v : zip_keys) plan.keys.push_back(v.key);

  // The figures collect gathers.
  plan.figures = core::ParseListValue(sweep.String("figures"));
  if (plan.figures.empty()) {
    plan.figures = plan.kind == "predictor"
                       ? std::vector<std::string>{"best_val_loss_scaled", "best_epoch"}
                       : std::vector<std::string>{"eval.mean_return", "train.mean_return_last100"};
  }
  for (const std::string& f : plan.figures) {
    if (f.empty()) throw std::invalid_argument(path + ": [sweep] figures: an empty item");
  }
  for (const core::IniEntry& e : tolerances) {
    const std::string what = path + ":" + std::to_string(e.line) + ": [tolerance] " + e.key;
    if (std::find(plan.figures.begin(), plan.figures.end(), e.key) == plan.figures.end()) {
      throw std::invalid_argument(what + ": not one of the figures (" +
                                  core::Join(plan.figures, ", ") + ")");
    }
    SweepTolerance t;
    t.figure = e.key;
    std::string v = core::Trim(e.value);
    t.relative = !v.empty() && v.back() == '%';
    if (t.relative) v = core::Trim(v.substr(0, v.size() - 1));
    t.value = core::ParseDouble(v, what);
    if (!(t.value >= 0) || !std::isfinite(t.value)) {
      throw std::invalid_argument(what + " = " + e.value + ": must be a number >= 0 (or X%)");
    }
    if (t.relative) t.value /= 100;
    plan.tolerances.push_back(t);
  }

  // The id: what makes two plans the same sweep (the varied keys may grow).
  {
    std::string identity = plan.name + "\n" + plan.kind + "\n" + core::ReadFile(plan.base) + "\n";
    std::vector<std::string> lines;
    for (const Override& o : fixed) lines.push_back(o.key + "=" + o.value);
    std::sort(lines.begin(), lines.end());
    identity += core::Join(lines, "\n");
    plan.id = Hex(core::Fnv1a64(identity), 16);
  }

  // The points: the grid (first key outermost) x the zipped keys x the seeds.
  size_t combos = 1;
  for (const Varied& v : grid_keys) {
    combos *= v.values.size();
    if (combos > kMaxPoints) throw std::invalid_argument(path + ": the grid has too many points");
  }
  const size_t zips = zip_keys.empty() ? 1 : zip_keys.front().values.size();
  if (combos * zips * seeds.size() > kMaxPoints) {
    throw std::invalid_argument(path + ": over " + std::to_string(kMaxPoints) + " runs");
  }
  std::set<std::string> names;
  for (size_t c = 0; c < combos; ++c) {
    std::vector<std::pair<const Varied*, size_t>> chosen;
    size_t rest = c;
    for (size_t k = grid_keys.size(); k-- > 0;) {
      chosen.insert(chosen.begin(), {&grid_keys[k], rest % grid_keys[k].values.size()});
      rest /= grid_keys[k].values.size();
    }
    for (size_t z = 0; z < zips; ++z) {
      std::vector<std::pair<const Varied*, size_t>> all = chosen;
      for (const Varied& v : zip_keys) all.push_back({&v, z});
      std::vector<Override> overrides = fixed;
      std::vector<std::pair<std::string, std::string>> values;
      std::vector<std::string> labels;
      for (const auto& [v, i] : all) {
        overrides.push_back({v->key, v->values[i], v->origin});
        values.emplace_back(v->key, v->values[i]);
        labels.push_back(v->key + "=" + v->values[i]);
      }
      const std::string group = core::Join(labels, ",");
      try {
        CheckPoint(plan, overrides);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string(e.what()) +
                                    (group.empty() ? "" : " (sweep point " + group + ")"));
      }
      for (uint64_t seed : seeds) {
        SweepPoint p;
        p.group = group;
        p.values = values;
        p.seed = seed;
        for (const Override& o : overrides) p.sets.push_back(o.key + "=" + o.value);
        p.sets.push_back("experiment.seed=" + std::to_string(seed));
        p.name = FolderName((group.empty() ? "" : group + ",") + "seed=" + std::to_string(seed));
        if (!names.insert(p.name).second) {
          p.name += "-" + Hex(core::Fnv1a64(group + "\n" + std::to_string(seed)), 8);
          names.insert(p.name);
        }
        plan.points.push_back(std::move(p));
      }
    }
  }

  // The folder: new, or one that holds this same sweep.
  fs::path dir = out.empty() ? fs::path(sweep.String("output")) / plan.name : fs::path(out);
  plan.dir = fs::absolute(dir).lexically_normal().string();
  while (plan.dir.size() > 1 && plan.dir.back() == '/') plan.dir.pop_back();
  if (fs::exists(plan.dir + "/plan.json")) {
    const SweepPlan old = ReadPlan(plan.dir);
    plan.cwd = old.cwd;  // relative paths keep meaning what they meant when it was planned
    if (old.id != plan.id) {
      throw std::invalid_argument(
          "sweep folder " + plan.dir + " holds another sweep ('" + old.name + "' of base " +
          old.base + ", id " + old.id + "; this one is " + plan.id +
          ": its name, base config or [set] differ); nothing run or submitted: pass another "
          "--out or remove the folder");
    }
    CheckRunFolders(plan);
  } else if (fs::exists(plan.dir) && !fs::is_empty(plan.dir)) {
    throw std::invalid_argument(plan.dir +
                                ": exists and is not a sweep folder (no plan.json); "
                                "nothing run or submitted");
  }
  return plan;
}

namespace {

// The sweep folder's lock, held while one linklab plans, runs or submits its points.
int LockSweep(const SweepPlan& plan) {
  fs::create_directories(plan.dir);
  const int fd = TryLock(plan.dir + "/.sweep.lock");
  if (fd < 0) {
    throw std::runtime_error("another linklab sweep is running or submitting the points of " +
                             plan.dir + "; nothing run or submitted");
  }
  return fd;
}

void WritePlanLocked(const SweepPlan& plan) {
  fs::create_directories(plan.dir + "/runs");
  CheckRunFolders(plan);
  core::WriteFileAtomic(plan.dir + "/sweep.ini", core::ReadFile(plan.file));
  core::WriteFileAtomic(plan.dir + "/base.ini", core::ReadFile(plan.base));
  core::WriteFileAtomic(plan.dir + "/plan.json", core::DumpJson(PlanJson(plan)));
}

}  // namespace

void WritePlan(const SweepPlan& plan) {
  LockGuard lock{LockSweep(plan)};
  WritePlanLocked(plan);
}

// --- one point ----------------------------------------------------------------------------------

int RunSweepArrayTask(const std::string& dir, const std::string& list, int64_t index) {
  const std::vector<std::string> points = core::ReadJsonFile(list).get<std::vector<std::string>>();
  if (index < 0 || index >= static_cast<int64_t>(points.size())) {
    throw std::invalid_argument("sweep task --array-index " + std::to_string(index) + ": " + list +
                                " lists " + std::to_string(points.size()) + " points");
  }
  const char* job = std::getenv("SLURM_ARRAY_JOB_ID");
  return RunSweepTask(dir, points[index],
                      job ? std::string(job) + "_" + std::to_string(index) : std::string());
}

int RunSweepTask(const std::string& dir, const std::string& name, const std::string& slurm_job) {
  const SweepPlan plan = ReadPlan(dir);
  const auto found = std::find_if(plan.points.begin(), plan.points.end(),
                                  [&](const SweepPoint& p) { return p.name == name; });
  if (found == plan.points.end()) {
    throw std::invalid_argument("sweep task --point " + name + ": not a point of the plan of " +
                                dir);
  }
  const SweepPoint& point = *found;
  const std::string run = RunDir(plan, point);
  fs::create_directories(run);
  if (fs::exists(run + "/sweep_task.json")) {
    const std::string id = core::ReadJsonFile(run + "/sweep_task.json").value("sweep", "");
    if (id != plan.id) {
      throw std::invalid_argument("run folder " + run + " belongs to another sweep (" + id + ")");
    }
  }
  // A moment's wait: `sweep status` probes the lock too.
  LockGuard lock{TryLock(run + "/.task.lock")};
  for (int i = 0; i < 20 && lock.fd < 0; ++i) {
    ::usleep(100000);
    lock.fd = TryLock(run + "/.task.lock");
  }
  if (lock.fd < 0) {
    std::cerr << "linklab: sweep point " << point.name << " is running elsewhere; left to it\n";
    return kSweepTaskBusy;
  }
  if (fs::exists(run + "/summary.json")) {
    std::cerr << "linklab: sweep point " << point.name << " is done already\n";
    return 0;
  }
  int64_t attempt = 0;
  UpdateTask(run, [&](core::Json& t) {
    attempt = t.value("attempts", static_cast<int64_t>(0)) + 1;
    t["sweep"] = plan.id;
    t["point"] = point.name;
    t["state"] = "running";
    t["attempts"] = attempt;
    t["started"] = core::UtcTimestamp();
    t["host"] = ThisHost();
    t["pid"] = static_cast<int64_t>(::getpid());
    t["slurm_job"] = slurm_job;
    t.erase("error");
    t.erase("finished");
  });
  const auto fail = [&](const std::string& error) {
    UpdateTask(run, [&](core::Json& t) {
      t["state"] = "failed";
      t["error"] = error;
      t["finished"] = core::UtcTimestamp();
    });
    return 1;
  };
  // From here on the run's output goes to its log.
  const int log =
      ::open((run + "/log.txt").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return fail("cannot open " + run + "/log.txt");
  std::fflush(stdout);
  std::fflush(stderr);
  ::dup2(log, 1);
  ::dup2(log, 2);
  ::close(log);
  if (::chdir(plan.cwd.c_str()) != 0) {
    std::cerr << "linklab: error: cannot enter the sweep's working folder " << plan.cwd << "\n";
    return fail("cannot enter the sweep's working folder " + plan.cwd + " on " + ThisHost());
  }
  std::cerr << "=== linklab sweep " << plan.name << ": point " << point.name << ", attempt "
            << attempt << ", " << core::UtcTimestamp() << " on " << ThisHost() << " ===\n";
  try {
    // A run with a checkpoint continues from it; otherwise it starts over in a clean folder.
    bool resume = false;
    if (plan.kind == "predictor") {
      // (checkpoint.new or .old: it stopped between the two renames of a checkpoint)
      resume = IsPredictorRun(run) &&
               (fs::exists(run + "/checkpoint") || fs::exists(run + "/checkpoint.new") ||
                fs::exists(run + "/checkpoint.old"));
    } else if (fs::exists(run + "/checkpoints")) {
      try {
        const std::string checkpoint = FindCheckpoint(run, "sweep point");
        resume = !fs::exists(checkpoint + "/env_state.unavailable");
        if (!resume) std::cerr << "linklab: its env cannot resume exactly; starting over\n";
      } catch (const std::invalid_argument&) {
      }
    }
    if (!resume) {
      for (const auto& e : fs::directory_iterator(run)) {
        const std::string name = e.path().filename();
        if (name != "sweep_task.json" && name != "log.txt" && name != ".task.lock") {
          fs::remove_all(e.path());
        }
      }
    }
    if (plan.kind == "predictor") {
      if (resume) {
        ResumePredictorTrain(run, {});
      } else {
        RunPredictorTrain(plan.dir + "/base.ini", point.sets, run);
      }
    } else if (resume) {
      ResumeExperiment(run);
    } else {
      RunExperiment(LoadExperiment(plan.dir + "/base.ini", point.sets), run);
    }
  } catch (const std::exception& e) {
    const std::string error = core::Printable(core::Trim(e.what()), 400);
    std::cerr << "linklab: error: " << error << "\n";
    return fail(error);
  }
  UpdateTask(run, [&](core::Json& t) {
    t["state"] = "done";
    t["finished"] = core::UtcTimestamp();
  });
  return 0;
}

// --- local runs ---------------------------------------------------------------------------------

int RunSweepLocal(const SweepPlan& plan, SweepSelection selection, int64_t processes) {
  LockGuard lock{LockSweep(plan)};
  WritePlanLocked(plan);
  int64_t done = 0;
  const std::vector<int64_t> todo = Selected(plan, selection, &done);
  if (todo.empty()) {
    std::cerr << "linklab: sweep " << plan.name << ": nothing to run (" << done << " of "
              << plan.points.size() << " points done)\n";
    return 0;
  }
  int64_t workers = processes > 0 ? processes : plan.processes;
  if (workers <= 0) workers = std::max(1u, std::thread::hardware_concurrency());
  std::cerr << "linklab: sweep " << plan.name << ": " << todo.size() << " runs to do (" << done
            << " done already), " << workers << " at a time, in " << plan.dir << "\n";
  const std::string self = SelfExe();
  struct Worker {
    int64_t index;
    std::unique_ptr<Child> child;
  };
  std::vector<Worker> running;
  size_t next = 0;
  int64_t finished = 0, failed = 0;
  std::vector<std::string> failures;
  std::string latest;
  SignalGuard guard;
  core::Progress progress("sweep " + plan.name, static_cast<int64_t>(todo.size()), "runs");
  try {
    while (next < todo.size() || !running.empty()) {
      while (next < todo.size() && static_cast<int64_t>(running.size()) < workers) {
        const int64_t i = todo[next++];
        running.push_back(
            {i, std::make_unique<Child>(std::vector<std::string>{self, "sweep", "task", plan.dir,
                                                                 "--point", plan.points[i].name})});
      }
      for (size_t w = 0; w < running.size();) {
        if (running[w].child->Running()) {
          ++w;
          continue;
        }
        const SweepPoint& p = plan.points[running[w].index];
        const std::string run = RunDir(plan, p);
        const int code = running[w].child->exit_code();
        ++finished;
        if (code == kSweepTaskBusy) {
          std::cerr << "linklab: sweep point " << p.name << " is running elsewhere; left to it\n";
        } else if (code != 0) {
          ++failed;
          const core::Json task = ReadJsonOr(run + "/sweep_task.json", core::Json::object());
          std::string error = task.value("error", "");
          if (task.value("state", "") != "failed") {
            // It died before it could say why (a signal, memory): its exit and last words.
            error = (code > 128 ? "killed by signal " + std::to_string(code - 128)
                                : "exit code " + std::to_string(code));
            const std::string last = LastLogLine(run + "/log.txt");
            const std::string err = core::Trim(running[w].child->Err());
            if (!last.empty()) error += "; last log line: " + last;
            if (!err.empty()) error += "; " + FirstLines(err);
            UpdateTask(run, [&](core::Json& t) {
              t["sweep"] = plan.id;
              t["state"] = "failed";
              t["error"] = error;
              t["finished"] = core::UtcTimestamp();
            });
          }
          failures.push_back(p.name + ": " + error);
          std::cerr << "linklab: sweep point " << p.name << " failed: " << error << "\n";
        } else {
          latest = p.name;
          try {
            const core::Json summary = core::ReadJsonFile(run + "/summary.json");
            const double v = Figure(summary, plan.figures.front(), run);
            if (std::isfinite(v)) latest += " " + plan.figures.front() + " " + Number(v);
          } catch (const std::exception&) {
          }
        }
        running.erase(running.begin() + static_cast<long>(w));
        progress.Update(finished, "failed " + std::to_string(failed) + " | latest " + latest);
      }
      Sleep(0.1);
    }
  } catch (const std::runtime_error& e) {
    if (PendingStopSignal() == 0) throw;
    for (Worker& w : running) w.child->SendSignal(SIGTERM);
    for (Worker& w : running) {
      w.child->Stop(10.0);
      const std::string run = RunDir(plan, plan.points[w.index]);
      UpdateTask(run, [&](core::Json& t) {
        if (t.value("state", "") == "running") t["state"] = "interrupted";
      });
    }
    throw std::runtime_error(std::string(e.what()) + ": " + std::to_string(finished - failed) +
                             " runs of this call finished and are kept; " +
                             std::to_string(running.size()) +
                             " stopped (they continue from their last checkpoint); run the "
                             "same command to go on");
  }
  progress.Finish("failed " + std::to_string(failed));
  if (!failures.empty()) {
    std::cerr << "linklab: " << failures.size() << " points failed:\n";
    for (const std::string& f : failures) std::cerr << "  " << f << "\n";
    std::cerr << "linklab: rerun them alone with --failed after a fix; logs in " << plan.dir
              << "/runs/<point>/log.txt\n";
  }
  std::cerr << "linklab: sweep folder " << plan.dir << "\n";
  return static_cast<int>(failed);
}

// --- Slurm --------------------------------------------------------------------------------------

// Refuses a path sbatch directives or the array script could not carry as it is.
void CheckScriptPath(const std::string& path, const std::string& what) {
  for (char c : path) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '\'' || c == '%' ||
        c == '\\' || c == '$' || c == '`') {
      throw std::invalid_argument(what + " '" + path +
                                  "' holds a space, quote, %, $, ` or backslash, which sbatch "
                                  "directives cannot carry; nothing submitted");
    }
  }
}

std::string SubmitSweepSlurm(const SweepPlan& plan, SweepSelection selection) {
  const std::string self = SelfExe();
  CheckScriptPath(plan.dir, "the sweep folder");
  CheckScriptPath(plan.cwd, "the working folder");
  CheckScriptPath(self, "the linklab program");
  const SlurmClient slurm;
  slurm.CheckReachable();
  LockGuard lock{LockSweep(plan)};
  WritePlanLocked(plan);
  int64_t done = 0;
  const std::vector<int64_t> todo = Selected(plan, selection, &done);
  if (todo.empty()) {
    std::cerr << "linklab: sweep " << plan.name << ": nothing to submit\n";
    return "";
  }
  fs::create_directories(plan.dir + "/slurm");
  core::Json jobs = ReadJsonOr(plan.dir + "/slurm/jobs.json", core::Json::array());
  const std::string stem = plan.dir + "/slurm/array-" + std::to_string(jobs.size() + 1);
  const std::string script = stem + ".sh", list = stem + ".points.json";
  std::vector<std::string> names;
  for (int64_t i : todo) names.push_back(plan.points[i].name);
  core::WriteFileAtomic(list, core::DumpJson(core::Json(names)));
  std::ostringstream s;
  s << "#!/bin/bash\n# linklab sweep " << plan.name << ": array task i runs the i-th point of "
    << list << "\n";
  s << "#SBATCH --job-name=linklab-" << plan.name << "\n";
  s << "#SBATCH --array=0-" << todo.size() - 1
    << (plan.slurm.max_parallel > 0 ? "%" + std::to_string(plan.slurm.max_parallel) : "") << "\n";
  s << "#SBATCH --output=" << plan.dir << "/slurm/%A_%a.out\n";
  s << "#SBATCH --chdir=" << plan.cwd << "\n";
  s << "#SBATCH --cpus-per-task=" << plan.slurm.cpus_per_task << "\n";
  if (!plan.slurm.partition.empty()) s << "#SBATCH --partition=" << plan.slurm.partition << "\n";
  if (!plan.slurm.time.empty()) s << "#SBATCH --time=" << plan.slurm.time << "\n";
  if (!plan.slurm.mem.empty()) s << "#SBATCH --mem=" << plan.slurm.mem << "\n";
  if (!plan.slurm.account.empty()) s << "#SBATCH --account=" << plan.slurm.account << "\n";
  if (!plan.slurm.qos.empty()) s << "#SBATCH --qos=" << plan.slurm.qos << "\n";
  for (const std::string& a : plan.slurm.sbatch_args) s << "#SBATCH " << a << "\n";
  s << "exec " << self << " sweep task " << plan.dir << " --array " << list
    << " --array-index \"$SLURM_ARRAY_TASK_ID\"\n";
  core::WriteFileAtomic(script, s.str());
  fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
  const std::string job = slurm.Submit(script);
  core::Json record = core::Json::object();
  record["job"] = job;
  record["points"] = names;
  record["list"] = list;
  record["script"] = script;
  record["submitted"] = core::UtcTimestamp();
  jobs.push_back(record);
  core::WriteFileAtomic(plan.dir + "/slurm/jobs.json", core::DumpJson(jobs));
  std::cerr << "linklab: sweep " << plan.name << ": " << todo.size()
            << " points submitted as Slurm job array " << job << " (" << script << ")\n";
  return job;
}

// --- status -------------------------------------------------------------------------------------

core::Json SweepStatus(const std::string& dir) {
  const SweepPlan plan = ReadPlan(dir);
  CheckRunFolders(plan);
  std::vector<std::string> notes;
  const std::vector<PointState> states = PointStates(plan, &notes);
  core::Json j = core::Json::object();
  j["sweep"] = {{"name", plan.name},
                {"id", plan.id},
                {"dir", plan.dir},
                {"base", plan.base},
                {"kind", plan.kind}};
  std::map<std::string, int64_t> counts = {{"done", 0},   {"failed", 0},  {"running", 0},
                                           {"queued", 0}, {"unknown", 0}, {"interrupted", 0},
                                           {"pending", 0}};
  core::Json points = core::Json::array();
  for (size_t i = 0; i < states.size(); ++i) {
    ++counts[states[i].state];
    core::Json p = core::Json::object();
    p["index"] = static_cast<int64_t>(i);
    p["name"] = plan.points[i].name;
    p["state"] = states[i].state;
    p["detail"] = states[i].detail;
    p["attempts"] = states[i].attempts;
    p["slurm_job"] = states[i].slurm_job;
    points.push_back(p);
  }
  // Run folders of this sweep that an earlier plan (another grid) had.
  std::set<std::string> planned;
  for (const SweepPoint& p : plan.points) planned.insert(p.name);
  std::vector<std::string> extra;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(plan.dir + "/runs", ec)) {
    if (e.is_directory() && !planned.count(e.path().filename()))
      extra.push_back(e.path().filename());
  }
  std::sort(extra.begin(), extra.end());
  if (!extra.empty()) {
    notes.push_back(std::to_string(extra.size()) +
                    " run folders of an earlier plan are not in this one (kept, not collected): " +
                    core::Join(extra, ", "));
  }
  j["total"] = static_cast<int64_t>(states.size());
  core::Json c = core::Json::object();
  for (const char* k :
       {"done", "failed", "running", "queued", "unknown", "interrupted", "pending"}) {
    c[k] = counts[k];
  }
  j["counts"] = c;
  j["points"] = points;
  j["notes"] = notes;
  return j;
}

std::string SweepStatusText(const core::Json& status) {
  std::ostringstream out;
  out << "sweep " << status["sweep"]["name"].get<std::string>() << " ("
      << status["sweep"]["dir"].get<std::string>() << "): " << status["total"].get<int64_t>()
      << " points";
  for (const auto& [k, v] : status["counts"].items()) {
    if (v.get<int64_t>() > 0) out << ", " << v.get<int64_t>() << " " << k;
  }
  out << "\n";
  for (const core::Json& p : status["points"]) {
    if (p["state"] == "done") continue;
    char state[16];
    std::snprintf(state, sizeof state, "%-11s", p["state"].get<std::string>().c_str());
    out << "  " << state << " " << p["name"].get<std::string>();
    if (!p["detail"].get<std::string>().empty()) out << "  " << p["detail"].get<std::string>();
    out << "\n";
  }
  for (const core::Json& n : status["notes"]) out << "note: " << n.get<std::string>() << "\n";
  return out.str();
}

// --- collect ------------------------------------------------------------------------------------

core::Json CollectSweep(const std::string& dir, const CollectOptions& options) {
  const SweepPlan plan = ReadPlan(dir);
  CheckRunFolders(plan);
  for (const std::string& k : options.plots) {
    if (std::find(plan.keys.begin(), plan.keys.end(), k) == plan.keys.end()) {
      throw std::invalid_argument("sweep collect --plot " + k + ": not a varied key of " +
                                  plan.dir + " (" +
                                  (plan.keys.empty() ? "none" : core::Join(plan.keys, ", ")) + ")");
    }
  }
  // Groups in plan order, each with its points.
  std::vector<std::string> groups;
  std::map<std::string, std::vector<size_t>> members;
  for (size_t i = 0; i < plan.points.size(); ++i) {
    if (!members.count(plan.points[i].group)) groups.push_back(plan.points[i].group);
    members[plan.points[i].group].push_back(i);
  }
  core::Json table = core::Json::object();
  table["kind"] = "linklab-sweep-table";
  table["sweep"] = {{"name", plan.name}, {"id", plan.id},     {"dir", plan.dir},
                    {"base", plan.base}, {"kind", plan.kind}, {"file", plan.file}};
  table["keys"] = plan.keys;
  table["figures"] = plan.figures;
  table["interval"] = "95 % Student t-interval over seeds: mean ± t(0.975, n-1) · s / sqrt(n)";
  table["git_commit"] = core::GitCommit();
  table["collected"] = core::UtcTimestamp();
  core::Json rows = core::Json::array();
  core::MetricsLog h5;
  std::set<std::string> commits;
  int64_t runs_done = 0;
  std::vector<std::string> incomplete;
  for (size_t g = 0; g < groups.size(); ++g) {
    const std::vector<size_t>& idx = members[groups[g]];
    core::Json row = core::Json::object();
    core::Json values = core::Json::object();
    for (const auto& [k, v] : plan.points[idx[0]].values) values[k] = ValueJson(v);
    row["values"] = values;
    core::Json seeds = core::Json::array(), runs = core::Json::array();
    std::map<std::string, std::vector<double>> per_figure;
    for (size_t i : idx) {
      const std::string run = RunDir(plan, plan.points[i]);
      if (!fs::exists(run + "/summary.json")) continue;
      const core::Json summary = core::ReadJsonFile(run + "/summary.json");
      if (summary.contains("git_commit") && summary["git_commit"].is_string()) {
        commits.insert(summary["git_commit"].get<std::string>());
      }
      seeds.push_back(plan.points[i].seed);
      runs.push_back("runs/" + plan.points[i].name);
      core::Row h5_run = {{"point", static_cast<double>(g)},
                          {"seed", static_cast<double>(plan.points[i].seed)}};
      for (const std::string& f : plan.figures) {
        const double v = Figure(summary, f, run + "/summary.json");
        per_figure[f].push_back(v);
        h5_run.push_back({f, v});
      }
      h5.Add("runs", h5_run);
      ++runs_done;
    }
    row["seeds"] = seeds;
    row["runs"] = runs;
    row["planned_seeds"] = static_cast<int64_t>(idx.size());
    if (seeds.size() < idx.size()) {
      incomplete.push_back((groups[g].empty() ? std::string("(the base config)") : groups[g]) +
                           ": " + std::to_string(seeds.size()) + " of " +
                           std::to_string(idx.size()) + " seeds done");
    }
    core::Json figures = core::Json::object();
    core::Row h5_row = {{"point", static_cast<double>(g)},
                        {"seeds", static_cast<double>(seeds.size())}};
    for (const auto& [k, v] : plan.points[idx[0]].values) {
      const core::Json vj = ValueJson(v);
      if (vj.is_number()) h5_row.push_back({k, vj.get<double>()});
    }
    for (const std::string& f : plan.figures) {
      const Stats s = Summarise(per_figure[f]);
      core::Json fj = core::Json::object();
      fj["n"] = s.n;
      fj["mean"] = JsonNumber(s.mean);
      fj["std"] = JsonNumber(s.std);
      fj["ci95"] = JsonNumber(s.ci95);
      fj["min"] = JsonNumber(s.min);
      fj["max"] = JsonNumber(s.max);
      core::Json vals = core::Json::array();
      for (double v : per_figure[f]) vals.push_back(JsonNumber(v));
      fj["values"] = vals;
      figures[f] = fj;
      h5_row.push_back({f + ".mean", s.mean});
      h5_row.push_back({f + ".ci95", s.ci95});
      h5_row.push_back({f + ".std", s.std});
      h5_row.push_back({f + ".n", static_cast<double>(s.n)});
    }
    row["figures"] = figures;
    rows.push_back(row);
    h5.Add("points", h5_row);
  }
  if (runs_done == 0) {
    throw std::invalid_argument(plan.dir + ": no finished run to collect (linklab sweep status " +
                                plan.dir + ")");
  }
  table["points"] = rows;
  table["incomplete"] = incomplete;
  table["run_commits"] = std::vector<std::string>(commits.begin(), commits.end());

  // Markdown.
  std::ostringstream md;
  md << "# Sweep " << plan.name << "\n\n";
  if (!plan.description.empty()) md << plan.description << "\n\n";
  md << "Base config `" << plan.base << "`; " << runs_done << " runs of " << plan.points.size()
     << "; collected " << table["collected"].get<std::string>() << " by linklab "
     << core::GitCommit() << ", runs from "
     << core::Join(table["run_commits"].get<std::vector<std::string>>(), ", ") << ".\n\n";
  md << "|";
  for (const std::string& k : plan.keys) md << " " << k << " |";
  md << " seeds |";
  for (const std::string& f : plan.figures) md << " " << f << " |";
  md << "\n|";
  for (size_t i = 0; i < plan.keys.size() + 1 + plan.figures.size(); ++i) md << "---|";
  md << "\n";
  for (size_t g = 0; g < groups.size(); ++g) {
    const core::Json& row = rows[g];
    md << "|";
    for (const auto& [k, v] : plan.points[members[groups[g]][0]].values) {
      md << " " << MarkdownCell(v) << " |";
    }
    md << " " << row["seeds"].size() << "/" << row["planned_seeds"].get<int64_t>() << " |";
    for (const std::string& f : plan.figures) {
      Stats s;
      const core::Json& fj = row["figures"][f];
      s.n = fj["n"].get<int64_t>();
      s.mean = fj["mean"].is_number() ? fj["mean"].get<double>() : NAN;
      s.ci95 = fj["ci95"].is_number() ? fj["ci95"].get<double>() : NAN;
      md << " " << Cell(s, static_cast<int64_t>(row["seeds"].size())) << " |";
    }
    md << "\n";
  }
  md << "\nMean ± half-width of the 95 % Student t-interval over seeds (n − 1 degrees of "
        "freedom); a single seed shows its value alone.\n";
  if (!incomplete.empty()) md << "\nIncomplete: " << core::Join(incomplete, "; ") << ".\n";

  const std::string out = options.out.empty() ? plan.dir + "/collect" : options.out;
  fs::create_directories(out);
  core::WriteFileAtomic(out + "/table.json", core::DumpJson(table));
  core::WriteFileAtomic(out + "/table.md", md.str());
  datasets::Attributes attrs;
  attrs.text = {{"sweep", plan.name},
                {"sweep_id", plan.id},
                {"base", plan.base},
                {"config", core::ReadFile(plan.dir + "/sweep.ini")},
                {"git_commit", core::GitCommit()},
                {"created", table["collected"].get<std::string>()},
                {"keys", core::Json(plan.keys).dump()},
                {"figures", core::Json(plan.figures).dump()},
                {"table", core::DumpJson(table)}};
  datasets::WriteTables(out + "/table.h5", kSweepTableFile, h5, attrs);
  std::cerr << "linklab: " << runs_done << " runs of " << groups.size() << " config points -> "
            << out << "/table.{md,json,h5}\n";
  if (!incomplete.empty()) {
    std::cerr << "linklab: incomplete: " << core::Join(incomplete, "; ") << "\n";
  }

  // Plots: each varied key against every figure.
  if (options.make_plots && !plan.keys.empty()) {
    const std::vector<std::string> keys = options.plots.empty() ? plan.keys : options.plots;
    const std::string script = std::string(LINKLAB_SOURCE_DIR) + "/notebooks/plot_sweep.py";
    std::vector<std::string> made;
    for (const std::string& k : keys) {
      const std::string png = out + "/plot_" + FolderName(k) + ".png";
      try {
        Run({script, "--table", out + "/table.json", "--key", k, "--out", png}, 120);
      } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string("the tables are written, but the plot of ") + k +
                                 " failed (" + e.what() +
                                 "; Debian's python3-matplotlib is needed, or pass --no-plots)");
      }
      made.push_back(png);
    }
    std::cerr << "linklab: plots " << core::Join(made, ", ") << "\n";
  }
  return table;
}

}  // namespace linklab::experiments
