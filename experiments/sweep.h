#pragma once
// `linklab sweep`: one base config run over a grid of keys and over seeds, each point an
// ordinary run folder, run locally (a bounded number of processes) or as one Slurm job array,
// then gathered into one table. The sweep file (INI):
//
//   [sweep]  name, base (the experiment or predictor config; relative to the sweep file),
//            seeds, output, processes, figures, description
//   [set]    section.key = value: fixed overrides of the base config, for every point
//   [grid]   section.key = VALUES: every combination of these keys' values
//   [zip]    section.key = VALUES: keys varied together (equal lengths), crossed with [grid]
//   [slurm]  partition, time, cpus_per_task, mem, max_parallel, account, qos, sbatch_args
//   [tolerance]  figure = X or X% : how far `linklab repro` lets the mean over seeds of a figure
//            be from the committed reference's (absolute, or relative to the reference)
//
// VALUES: a list `[a, b, c]` (items may be lists: `[[x, y], [z]]`), `range(start, stop[, step])`
// (stop excluded), `linspace(a, b, n)` or `geomspace(a, b, n)` (both ends included).
//
// The sweep folder (<output>/<name>, or --out):
//   sweep.ini, base.ini          the sweep file and its base config as planned
//   plan.json                    the sweep's id, keys, figures and every point (its name, varied
//                                values, seed and the overrides of its run)
//   runs/<point>/                an ordinary run folder (config.ini, metrics.h5, summary.json,
//                                ...) plus sweep_task.json (state, attempts, last error) and
//                                log.txt (the run's output)
//   slurm/                       the array scripts, jobs.json (every submission), Slurm's output
//   collect/                     table.md, table.json, table.h5, plot_<key>.png
//
// A point is done when its run folder has summary.json. Planning again (the same command) skips
// done points, resumes interrupted ones from their last checkpoint and reruns failed ones; a
// changed grid adds points. A folder made for another sweep (another base config or [set]) is
// refused. Every point's config is checked before anything runs or is submitted.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"

namespace linklab::experiments {

// One run of a sweep: a config point and a seed.
struct SweepPoint {
  std::string name;   // its run folder under runs/
  std::string group;  // the config point without the seed ("agent.lr=0.001,env.x=2"; "" alone)
  std::vector<std::pair<std::string, std::string>> values;  // varied key -> value, in key order
  uint64_t seed = 0;
  std::vector<std::string> sets;  // the run's overrides: [set], the varied values, the seed
};

// [slurm]: the resources of each array task and how the array is submitted.
struct SlurmOptions {
  std::string partition, time, mem, account, qos;
  int64_t cpus_per_task = 1;
  int64_t max_parallel = 0;              // the array's throttle (%N); 0: none
  std::vector<std::string> sbatch_args;  // more sbatch options, passed as they are
};

// [tolerance]: a figure's allowed distance from its reference.
struct SweepTolerance {
  std::string figure;
  double value = 0;
  bool relative = false;     // value is a fraction of |reference|
  std::string Text() const;  // "25" or "10 %"
};

struct SweepPlan {
  std::string id;  // hash of the name, the base config's text and [set]
  std::string name, description;
  std::string file;                  // the sweep file (absolute)
  std::string base;                  // the base config (absolute)
  std::string kind;                  // "experiment" or "predictor"
  std::string dir;                   // the sweep folder (absolute)
  std::string cwd;                   // where runs start (relative paths in configs)
  int64_t processes = 0;             // local runs at once; 0: the cores
  std::vector<std::string> keys;     // the varied keys, [grid] then [zip]
  std::vector<std::string> figures;  // summary.json paths collect gathers
  SlurmOptions slurm;
  std::vector<SweepTolerance> tolerances;
  std::vector<SweepPoint> points;
};

// Reads the sweep file and checks every point's config; `out` replaces <output>/<name>.
// Throws std::invalid_argument naming file:line, key and value (an unknown key, an empty
// grid, lists of unequal lengths in [zip], a folder holding another sweep).
SweepPlan LoadSweep(const std::string& path, const std::string& out = "");

// Writes the plan (plan.json, sweep.ini, base.ini) into the sweep folder, creating it; checks
// that every run folder in it belongs to this sweep. std::runtime_error while another linklab
// sweep runs or submits its points (RunSweepLocal and SubmitSweepSlurm write it themselves).
void WritePlan(const SweepPlan& plan);

// Which points to run again: every unfinished one, or only the failed ones.
enum class SweepSelection { kUnfinished, kFailed };

// Writes the plan, then runs the selected points locally, at most `processes` at a time (0: the
// plan's, then the cores), each as `linklab sweep task` (this program, /proc/self/exe) in a
// process of its own, with progress on stderr. SIGINT/SIGTERM stop the running points (their
// checkpoints stay); finished runs are kept. Points queued or running elsewhere are left to
// them; when Slurm cannot say whether submitted points still run, nothing runs
// (std::runtime_error). Returns the number of failed points.
int RunSweepLocal(const SweepPlan& plan, SweepSelection selection, int64_t processes = 0);

// Writes the plan, then submits the selected points as one Slurm job array (sbatch --array,
// task i runs the i-th point of slurm/array-<n>.points.json); returns the job id, or "" when no
// point needs to run. Throws std::runtime_error (nothing submitted) when Slurm is not
// installed, its controller does not answer, or the state of points submitted before is
// unknown.
std::string SubmitSweepSlurm(const SweepPlan& plan, SweepSelection selection);

// `linklab sweep task DIR --point NAME`: runs that point of the sweep in DIR in this process
// (what a local worker runs), its output appended to the run folder's log.txt; `slurm_job`
// ("<job>_<task>") is recorded when a Slurm array task runs it. Returns the exit code: 0 done
// (or done already), 1 failed, kSweepTaskBusy when another process holds the point.
int RunSweepTask(const std::string& dir, const std::string& point,
                 const std::string& slurm_job = "");
// `linklab sweep task DIR --array LIST --array-index I` (a Slurm array task): the I-th point
// of the submission's LIST (slurm/array-<n>.points.json), job id from SLURM_ARRAY_JOB_ID.
int RunSweepArrayTask(const std::string& dir, const std::string& list, int64_t index);
constexpr int kSweepTaskBusy = 75;

// Every point's state (done, failed, running, queued, interrupted, pending; unknown when Slurm
// cannot be asked about a submitted one) from the run
// folders and, for points submitted to Slurm, squeue and sacct: a JSON report.
core::Json SweepStatus(const std::string& dir);
// The report as text: counts, then every point that is not done with its state and detail.
std::string SweepStatusText(const core::Json& status);

struct CollectOptions {
  std::string out;                 // "" for DIR/collect
  std::vector<std::string> plots;  // varied keys to plot against each figure; empty: every one
  bool make_plots = true;
};
// Gathers every done point's summary into one table per config point: the mean, standard
// deviation and 95 % t-interval over seeds of each figure (table.md, table.json, table.h5) and
// plots of each varied key against the figures. Returns table.json's content.
core::Json CollectSweep(const std::string& dir, const CollectOptions& options);

// The values a VALUES text stands for (see above); `what` names it in messages.
std::vector<std::string> ExpandSweepValues(const std::string& text, const std::string& what);

}  // namespace linklab::experiments
