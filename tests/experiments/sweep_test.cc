// `linklab sweep`: the values a grid accepts, the plan, local runs (resumable, failed points
// rerun alone, an interrupted sweep losing nothing) and the collected table.

#include "experiments/sweep.h"

#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/files.h"
#include "core/text.h"
#include "datasets/metrics_file.h"
#include "experiments/eval.h"
#include "experiments/process.h"
#include "experiments/repro.h"
#include "tests/test_util.h"

namespace linklab::experiments {
namespace {

namespace fs = std::filesystem;
using linklab::testing::ErrorOf;

using linklab::testing::RunCli;
using Output = linklab::testing::CliOutput;

// A fresh folder with a tiny PPO CartPole base config (a couple of seconds per run).
std::string Workspace(const std::string& name, int64_t total_steps = 1500) {
  const std::string dir =
      fs::path(::testing::TempDir() + "/sweep-" + name).lexically_normal().string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  core::WriteFileAtomic(dir + "/base.ini",
                        "[experiment]\nname = tiny\n[env]\nid = CartPole-v1\nnum_envs = 2\n"
                        "[agent]\nalgo = ppo\nnum_steps = 64\n[train]\ntotal_steps = " +
                            std::to_string(total_steps) +
                            "\nprogress = false\n[eval]\nepisodes = 2\n");
  return dir;
}

core::Json Json(const std::string& path) { return core::ReadJsonFile(path); }

TEST(SweepValues, ListsRangesAndSpaces) {
  using V = std::vector<std::string>;
  EXPECT_EQ(ExpandSweepValues("[0.1, 0.2]", "k"), (V{"0.1", "0.2"}));
  EXPECT_EQ(ExpandSweepValues("[[a, b], [c], \"x, y\"]", "k"), (V{"[a, b]", "[c]", "x, y"}));
  EXPECT_EQ(ExpandSweepValues("range(1, 4)", "k"), (V{"1", "2", "3"}));
  EXPECT_EQ(ExpandSweepValues("range(10, 0, -5)", "k"), (V{"10", "5"}));
  EXPECT_EQ(ExpandSweepValues("range(0, 0.3, 0.1)", "k"), (V{"0", "0.1", "0.2"}));
  EXPECT_EQ(ExpandSweepValues("linspace(0, 1, 3)", "k"), (V{"0", "0.5", "1"}));
  EXPECT_EQ(ExpandSweepValues("linspace(0.5, 1, 1)", "k"), (V{"0.5"}));
  EXPECT_EQ(ExpandSweepValues("geomspace(0.0001, 0.01, 3)", "k"), (V{"0.0001", "0.001", "0.01"}));
  EXPECT_NE(ErrorOf([] { ExpandSweepValues("[]", "s.ini:3: [grid] a.b"); }).find("s.ini:3"),
            std::string::npos);
  for (const char* bad : {"[]", "[1, , 2]", "range(3, 1)", "range(0, 1, 0)", "linspace(0, 1, 0)",
                          "geomspace(0, 1, 3)", "0.1", "[1, [2]", "spaced(1, 2)"}) {
    EXPECT_NE(ErrorOf([&] { ExpandSweepValues(bad, "key"); }), "") << bad;
  }
}

TEST(SweepPlan, GridTimesZipTimesSeedsEachCheckedAgainstTheBase) {
  const std::string w = Workspace("plan");
  core::WriteFileAtomic(w + "/s.ini",
                        "[sweep]\nname = p\nbase = base.ini\nseeds = range(1, 4)\noutput = " + w +
                            "/out\n[set]\ntrain.total_steps = 1000\n[grid]\n"
                            "agent.learning_rate = [0.001, 0.01]\n[zip]\nenv.num_envs = [1, 2]\n"
                            "agent.num_steps = [32, 64]\n");
  const SweepPlan plan = LoadSweep(w + "/s.ini");
  EXPECT_EQ(plan.kind, "experiment");
  EXPECT_EQ(plan.keys,
            (std::vector<std::string>{"agent.learning_rate", "env.num_envs", "agent.num_steps"}));
  ASSERT_EQ(plan.points.size(), 2u * 2u * 3u);
  const SweepPoint& p = plan.points[4];  // lr 0.001, zip item 2, seed 2
  EXPECT_EQ(p.name, "agent.learning_rate=0.001,env.num_envs=2,agent.num_steps=64,seed=2");
  EXPECT_EQ(p.sets, (std::vector<std::string>{"train.total_steps=1000", "agent.learning_rate=0.001",
                                              "env.num_envs=2", "agent.num_steps=64",
                                              "experiment.seed=2"}));
  EXPECT_EQ(plan.dir, fs::path(w + "/out/p").lexically_normal().string());
  EXPECT_FALSE(fs::exists(plan.dir));  // loading writes nothing
}

// Writes s.ini with `body` after the [sweep] section and returns LoadSweep's error.
std::string PlanError(const std::string& w, const std::string& body) {
  core::WriteFileAtomic(w + "/s.ini", "[sweep]\nbase = base.ini\noutput = " + w + "/out\n" + body);
  return ErrorOf([&] { LoadSweep(w + "/s.ini"); });
}

TEST(SweepPlan, BadInputNamesTheLineKeyAndValue) {
  const std::string w = Workspace("bad");
  std::string e = PlanError(w, "[grid]\nagent.learnin_rate = [0.1, 0.2]\n");
  EXPECT_NE(e.find("s.ini:5"), std::string::npos) << e;
  EXPECT_NE(e.find("learnin_rate"), std::string::npos) << e;
  e = PlanError(w, "[grid]\nagnet.learning_rate = [0.1]\n");
  EXPECT_NE(e.find("agnet.learning_rate"), std::string::npos) << e;
  EXPECT_NE(e.find("sections"), std::string::npos) << e;
  e = PlanError(w, "[grid]\nagent.learning_rate = []\n");
  EXPECT_NE(e.find("empty list"), std::string::npos) << e;
  e = PlanError(w, "[grid]\nagent.learning_rate = [-1]\n");  // out of range for the agent
  EXPECT_NE(e.find("learning_rate"), std::string::npos) << e;
  e = PlanError(w, "[zip]\nagent.learning_rate = [0.1, 0.2]\nagent.num_steps = [8]\n");
  EXPECT_NE(e.find("as many values"), std::string::npos) << e;
  e = PlanError(w, "[grid]\nexperiment.seed = [1, 2]\n");
  EXPECT_NE(e.find("[sweep] seeds"), std::string::npos) << e;
  e = PlanError(w, "[set]\nagent.num_steps = 8\n[grid]\nagent.num_steps = [8, 16]\n");
  EXPECT_NE(e.find("twice"), std::string::npos) << e;
  e = PlanError(w, "[slurm]\ncpus_per_task = 0\n");
  EXPECT_NE(e.find("cpus_per_task"), std::string::npos) << e;
  core::WriteFileAtomic(w + "/s.ini", "[sweep]\nbase = nowhere.ini\n");
  e = ErrorOf([&] { LoadSweep(w + "/s.ini"); });
  EXPECT_NE(e.find("nowhere.ini"), std::string::npos) << e;
  // A folder that is not a sweep's is never taken over.
  fs::create_directories(w + "/out/s");
  core::WriteFileAtomic(w + "/out/s/notes.txt", "mine\n");
  e = PlanError(w, "[grid]\nagent.learning_rate = [0.1]\n");
  EXPECT_NE(e.find("not a sweep folder"), std::string::npos) << e;
  EXPECT_EQ(core::ReadFile(w + "/out/s/notes.txt"), "mine\n");
}

TEST(SweepLocal, RunsEveryPointOnceCollectsAndRerunsNothing) {
  const std::string w = Workspace("local");
  core::WriteFileAtomic(w + "/s.ini",
                        "[sweep]\nname = lr\nbase = base.ini\nseeds = [1, 2]\nprocesses = 2\n"
                        "output = " +
                            w + "/out\n[grid]\nagent.learning_rate = [0.0003, 0.003]\n");
  const std::string dir = w + "/out/lr";
  Output o = RunCli("sweep " + w + "/s.ini");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("4/4"), std::string::npos) << o.text;  // progress
  const SweepPlan plan = LoadSweep(w + "/s.ini");
  for (const SweepPoint& p : plan.points) {
    const std::string run = dir + "/runs/" + p.name;
    ASSERT_TRUE(fs::exists(run + "/summary.json")) << run;
    EXPECT_TRUE(fs::exists(run + "/metrics.h5"));
    const std::string config = core::ReadFile(run + "/config.ini");
    EXPECT_NE(config.find("learning_rate = " + p.values[0].second), std::string::npos);
    EXPECT_NE(config.find("seed = " + std::to_string(p.seed)), std::string::npos);
    EXPECT_EQ(Json(run + "/sweep_task.json")["state"], "done");
  }
  // A point is an ordinary run: `linklab run` with the same overrides gives the same figures.
  const SweepPoint& first = plan.points[1];
  std::string sets;
  for (const std::string& s : first.sets) sets += " --set " + s;
  o = RunCli("run " + w + "/base.ini" + sets + " --set experiment.output=" + w + "/direct");
  ASSERT_EQ(o.code, 0) << o.text;
  fs::path direct;
  for (const auto& e : fs::recursive_directory_iterator(w + "/direct")) {
    if (e.path().filename() == "summary.json") direct = e.path();
  }
  EXPECT_EQ(Json(direct.string())["eval"]["mean_return"],
            Json(dir + "/runs/" + first.name + "/summary.json")["eval"]["mean_return"]);

  // Again: nothing runs, nothing changes.
  const auto stamp = fs::last_write_time(dir + "/runs/" + first.name + "/summary.json");
  o = RunCli("sweep " + w + "/s.ini");
  EXPECT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("nothing to run"), std::string::npos) << o.text;
  EXPECT_EQ(fs::last_write_time(dir + "/runs/" + first.name + "/summary.json"), stamp);
  o = RunCli("sweep status " + dir);
  EXPECT_NE(o.text.find("4 points, 4 done"), std::string::npos) << o.text;

  // The table: per learning rate, the mean and t-interval of the two seeds.
  o = RunCli("sweep collect " + dir);
  ASSERT_EQ(o.code, 0) << o.text;
  const core::Json table = Json(dir + "/collect/table.json");
  ASSERT_EQ(table["points"].size(), 2u);
  for (size_t g = 0; g < 2; ++g) {
    const core::Json& f = table["points"][g]["figures"]["eval.mean_return"];
    double a =
        Json(dir + "/runs/" + plan.points[2 * g].name + "/summary.json")["eval"]["mean_return"];
    double b =
        Json(dir + "/runs/" + plan.points[2 * g + 1].name + "/summary.json")["eval"]["mean_return"];
    EXPECT_EQ(f["n"], 2);
    EXPECT_DOUBLE_EQ(f["mean"].get<double>(), (a + b) / 2);
    const double sd = std::abs(a - b) / std::sqrt(2.0);
    EXPECT_NEAR(f["ci95"].get<double>(), StudentT95(1) * sd / std::sqrt(2.0), 1e-9);
  }
  EXPECT_NE(core::ReadFile(dir + "/collect/table.md").find("| 0.003 | 2/2 |"), std::string::npos);
  datasets::Attributes attrs;
  const core::MetricsLog h5 =
      datasets::ReadTables(dir + "/collect/table.h5", {"linklab-sweep-table", 1}, &attrs);
  EXPECT_EQ(h5.Get("points").rows, 2u);
  EXPECT_EQ(h5.Get("runs").rows, 4u);
  EXPECT_DOUBLE_EQ(h5.Get("points").Column("agent.learning_rate")[1], 0.003);
  EXPECT_TRUE(fs::exists(dir + "/collect/plot_agent.learning_rate.png"));
  o = RunCli("sweep collect " + dir + " --plot agent.gamma");
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.text.find("not a varied key"), std::string::npos) << o.text;

  // The same folder for a sweep of another base config is refused; nothing runs.
  core::WriteFileAtomic(w + "/base.ini", core::ReadFile(w + "/base.ini") + "[agent]\n" /*dup*/);
  core::WriteFileAtomic(w + "/s.ini", core::ReadFile(w + "/s.ini") + "[set]\nagent.gamma = 0.9\n");
  o = RunCli("sweep " + w + "/s.ini");
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.text.find("holds another sweep"), std::string::npos) << o.text;
}

TEST(SweepLocal, ARunFolderOfAnotherSweepIsRefused) {
  const std::string w = Workspace("foreign");
  core::WriteFileAtomic(w + "/s.ini", "[sweep]\nname = a\nbase = base.ini\noutput = " + w +
                                          "/out\n[set]\ntrain.total_steps = 500\n");
  ASSERT_EQ(RunCli("sweep " + w + "/s.ini").code, 0);
  core::WriteFileAtomic(w + "/t.ini", "[sweep]\nname = b\nbase = base.ini\noutput = " + w +
                                          "/out\n[set]\ntrain.total_steps = 600\n");
  ASSERT_EQ(RunCli("sweep " + w + "/t.ini").code, 0);
  // A run of sweep b moved into sweep a's folder.
  fs::rename(w + "/out/b/runs/seed=1", w + "/out/a/runs/seed=9");
  for (const std::string& cmd :
       {"sweep " + w + "/s.ini", "sweep status " + w + "/out/a", "sweep collect " + w + "/out/a"}) {
    const Output o = RunCli(cmd);
    EXPECT_EQ(o.code, 2) << cmd;
    EXPECT_NE(o.text.find("runs/seed=9 belongs to another sweep"), std::string::npos) << o.text;
  }
  fs::create_directories(w + "/out/a/runs/mine");
  core::WriteFileAtomic(w + "/out/a/runs/mine/notes.txt", "x\n");
  fs::remove_all(w + "/out/a/runs/seed=9");
  const Output o = RunCli("sweep status " + w + "/out/a");
  EXPECT_NE(o.text.find("runs/mine was not made by this sweep"), std::string::npos) << o.text;
}

TEST(SweepLocal, FailedPointsAreListedAndRerunAlone) {
  const std::string w = Workspace("failed");
  const std::string start = w + "/start-from";
  core::WriteFileAtomic(w + "/s.ini",
                        "[sweep]\nname = f\nbase = base.ini\nseeds = [1]\noutput = " + w +
                            "/out\n[grid]\ntrain.init_from = [\"\", " + start + "]\n");
  const std::string dir = w + "/out/f";
  Output o = RunCli("sweep " + w + "/s.ini");
  EXPECT_EQ(o.code, 1) << o.text;
  EXPECT_NE(o.text.find("1 points failed"), std::string::npos) << o.text;
  o = RunCli("sweep status " + dir);
  EXPECT_NE(o.text.find("1 done, 1 failed"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("init_from"), std::string::npos) << o.text;  // its last error
  const core::Json status = Json(dir + "/runs/train.init_from=,seed=1/sweep_task.json");
  EXPECT_EQ(status["state"], "done");
  const auto stamp = fs::last_write_time(dir + "/runs/train.init_from=,seed=1/summary.json");

  // The cause mended, --failed runs only that point.
  fs::copy(dir + "/runs/train.init_from=,seed=1", start, fs::copy_options::recursive);
  o = RunCli("sweep " + w + "/s.ini --failed");
  EXPECT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("1 runs to do"), std::string::npos) << o.text;
  o = RunCli("sweep status " + dir + " --json");
  EXPECT_EQ(nlohmann::json::parse(o.text)["counts"]["done"], 2) << o.text;
  EXPECT_EQ(fs::last_write_time(dir + "/runs/train.init_from=,seed=1/summary.json"), stamp);
}

TEST(SweepLocal, AnInterruptedSweepKeepsFinishedRunsAndResumesTheRest) {
  const std::string w = Workspace("interrupt", 40000);
  core::WriteFileAtomic(w + "/s.ini",
                        "[sweep]\nname = i\nbase = base.ini\nseeds = [1, 2, 3]\nprocesses = 1\n"
                        "output = " +
                            w + "/out\n[set]\ntrain.checkpoint_every = 2000\n");
  const std::string dir = w + "/out/i";
  const std::string first = dir + "/runs/seed=1", second = dir + "/runs/seed=2";
  {
    Child sweep({LINKLAB_BINARY, "sweep", w + "/s.ini"});
    // Stop it once the first run is done and the second has a checkpoint.
    for (int i = 0; i < 12000 && !(fs::exists(first + "/summary.json") &&
                                   fs::exists(second + "/checkpoints/step_4000"));
         ++i) {
      ASSERT_TRUE(sweep.Running()) << sweep.Err();
      Sleep(0.05);
    }
    ASSERT_TRUE(fs::exists(second + "/checkpoints/step_4000"));
    sweep.SendSignal(SIGINT);
    ASSERT_TRUE(sweep.Wait(60));
    EXPECT_NE(sweep.exit_code(), 0);
    EXPECT_NE(sweep.Err().find("kept"), std::string::npos) << sweep.Err();
  }
  EXPECT_TRUE(fs::exists(first + "/summary.json"));
  EXPECT_FALSE(fs::exists(second + "/summary.json"));
  EXPECT_EQ(Json(second + "/sweep_task.json")["state"], "interrupted");
  Output o = RunCli("sweep status " + dir);
  EXPECT_NE(o.text.find("1 done"), std::string::npos) << o.text;
  EXPECT_NE(o.text.find("interrupted"), std::string::npos) << o.text;

  const auto stamp = fs::last_write_time(first + "/summary.json");
  o = RunCli("sweep " + w + "/s.ini");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_EQ(fs::last_write_time(first + "/summary.json"), stamp);
  EXPECT_NE(core::ReadFile(second + "/log.txt").find("resuming"), std::string::npos);
  EXPECT_EQ(Json(second + "/sweep_task.json")["attempts"], 2);
  EXPECT_TRUE(fs::exists(dir + "/runs/seed=3/summary.json"));
}

TEST(Repro, BadSuitesAreRefusedBeforeAnythingRuns) {
  const std::string w = Workspace("repro");
  core::WriteFileAtomic(w + "/case.ini",
                        "[sweep]\nname = c\nbase = base.ini\nseeds = [1, 2]\n"
                        "[tolerance]\neval.mean_return = 10%\n");
  core::WriteFileAtomic(w + "/suite.ini", "[repro]\nreference = refs\ncases = [case.ini]\n");
  ReproOptions o;
  o.suite = w + "/suite.ini";
  o.out = w + "/out";
  std::string e = ErrorOf([&] { RunRepro(o); });
  EXPECT_NE(e.find("no reference " + w + "/refs/c/table.json"), std::string::npos) << e;
  EXPECT_NE(e.find("--update"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(w + "/out"));  // nothing ran
  o.only = {"d"};
  e = ErrorOf([&] { RunRepro(o); });
  EXPECT_NE(e.find("no such case"), std::string::npos) << e;
  o.only.clear();
  core::WriteFileAtomic(w + "/case.ini", "[sweep]\nname = c\nbase = base.ini\n");
  e = ErrorOf([&] { RunRepro(o); });
  EXPECT_NE(e.find("no [tolerance]"), std::string::npos) << e;
  core::WriteFileAtomic(w + "/case.ini",
                        "[sweep]\nname = c\nbase = base.ini\n[tolerance]\neval.mean = 1\n");
  e = ErrorOf([&] { RunRepro(o); });
  EXPECT_NE(e.find("case.ini:5: [tolerance] eval.mean: not one of the figures"), std::string::npos)
      << e;
}

// The reference made by --update, then a rerun of the same case holds to it exactly (same
// machine, same build).
TEST(Repro, UpdateThenCompareOnOneMachine) {
  const std::string w = Workspace("repro-update");
  core::WriteFileAtomic(w + "/case.ini",
                        "[sweep]\nname = c\nbase = base.ini\nseeds = [1, 2]\n[tolerance]\n"
                        "eval.mean_return = 0\ntrain.mean_return_last100 = 1%\n");
  core::WriteFileAtomic(w + "/suite.ini", "[repro]\nreference = refs\ncases = [case.ini]\n");
  Output o = RunCli("repro " + w + "/suite.ini --update --out " + w + "/made");
  ASSERT_EQ(o.code, 0) << o.text;
  ASSERT_TRUE(fs::exists(w + "/refs/c/table.json"));
  o = RunCli("repro " + w + "/suite.ini --out " + w + "/again");
  EXPECT_EQ(o.code, 0) << o.text;
  const core::Json report = Json(w + "/again/report.json");
  EXPECT_EQ(report["failed"], 0) << report.dump(2);
  EXPECT_EQ(report["checked"], 2);
  EXPECT_EQ(report["cases"][0]["rows"][0]["difference"], 0.0);
  EXPECT_NE(core::ReadFile(w + "/again/report.md").find("| c | (base) | eval.mean_return |"),
            std::string::npos);
  // A reference moved out of reach: the figure is reported as not holding, and the run fails.
  core::Json ref = Json(w + "/refs/c/table.json");
  ref["points"][0]["figures"]["eval.mean_return"]["mean"] = 1e6;
  core::WriteFileAtomic(w + "/refs/c/table.json", core::DumpJson(ref));
  const Output cli = RunCli("repro " + w + "/suite.ini --out " + w + "/moved");
  EXPECT_EQ(cli.code, 1) << cli.text;
  EXPECT_NE(cli.text.find("**no**"), std::string::npos) << cli.text;
  EXPECT_EQ(Json(w + "/moved/report.json")["failed"], 1);
}

// A single-node Slurm cluster on localhost (scripts/slurm-local.sh: munged, slurmctld and
// slurmd of Debian's packages, as root) for one test; stopped when it goes.
class LocalSlurm {
 public:
  explicit LocalSlurm(const std::string& state) : state_(state) {
    script_ = std::string(LINKLAB_SOURCE_DIR) + "/scripts/slurm-local.sh";
    fs::remove_all(state_);
    Child start({"/bin/bash", script_, "start", state_});
    if (!start.Wait(120)) start.Stop();
    code_ = start.exit_code();
    why_ = start.Err();
    if (code_ == 0) ::setenv("SLURM_CONF", (state_ + "/slurm.conf").c_str(), 1);
  }
  ~LocalSlurm() {
    Stop();
    ::unsetenv("SLURM_CONF");
  }
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    Child stop({"/bin/bash", script_, "stop", state_});
    stop.Wait(120, false);
  }
  int code() const { return code_; }
  const std::string& why() const { return why_; }

 private:
  std::string state_, script_, why_;
  int code_ = -1;
  bool stopped_ = false;
};

TEST(SweepSlurm, AJobArrayRunsEveryPointAndFailedOnesAreResubmittedAlone) {
  if (::geteuid() != 0) GTEST_SKIP() << "starting slurmctld and slurmd needs root";
  const std::string w = Workspace("slurm");
  LocalSlurm slurm(w + "/cluster");
  if (slurm.code() == 77) GTEST_SKIP() << "Slurm's daemons cannot start here: " << slurm.why();
  ASSERT_EQ(slurm.code(), 0) << slurm.why();
  const std::string start = w + "/start-from";
  core::WriteFileAtomic(w + "/s.ini",
                        "[sweep]\nname = s\nbase = base.ini\nseeds = [1, 2]\n"
                        "output = " +
                            w + "/out\n[grid]\ntrain.init_from = [\"\", " + start +
                            "]\n[slurm]\ntime = 00:10:00\n");
  const std::string dir = w + "/out/s";
  Output o = RunCli("sweep " + w + "/s.ini --slurm --max-parallel 2");
  ASSERT_EQ(o.code, 0) << o.text;
  const std::string job =
      core::Trim(core::Split(o.text, '\n').back().empty() ? core::Split(o.text, '\n').rbegin()[1]
                                                          : core::Split(o.text, '\n').back());
  EXPECT_GT(core::ParseInt(job, "job id"), 0) << o.text;
  EXPECT_NE(core::ReadFile(dir + "/slurm/array-1.sh").find("#SBATCH --array=0-3%2"),
            std::string::npos);

  // Wait for the array to end: two points done, two failed (no checkpoint to start from).
  core::Json status;
  for (int i = 0; i < 600; ++i) {
    o = RunCli("sweep status " + dir + " --json");
    ASSERT_EQ(o.code, 0) << o.text;
    status = nlohmann::ordered_json::parse(o.text);
    if (status["counts"]["done"].get<int>() + status["counts"]["failed"].get<int>() == 4) break;
    Sleep(0.5);
  }
  EXPECT_EQ(status["counts"]["done"], 2) << status.dump(2);
  EXPECT_EQ(status["counts"]["failed"], 2) << status.dump(2);
  for (const auto& p : status["points"]) {
    EXPECT_EQ(p["slurm_job"], job + "_" + std::to_string(p["index"].get<int>()));
    if (p["state"] == "failed") {
      EXPECT_NE(p["detail"].get<std::string>().find("init_from"), std::string::npos) << p.dump();
    }
    const std::string run = dir + "/runs/" + p["name"].get<std::string>();
    EXPECT_EQ(Json(run + "/sweep_task.json")["slurm_job"], p["slurm_job"]);
    EXPECT_TRUE(
        fs::exists(dir + "/slurm/" + job + "_" + std::to_string(p["index"].get<int>()) + ".out"));
  }
  o = RunCli("sweep status " + dir);
  EXPECT_NE(o.text.find("2 done, 2 failed"), std::string::npos) << o.text;

  // Mended, the failed points alone go in a second array.
  fs::copy(dir + "/runs/train.init_from=,seed=1", start, fs::copy_options::recursive);
  o = RunCli("sweep " + w + "/s.ini --slurm --failed");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(core::ReadFile(dir + "/slurm/array-2.sh").find("#SBATCH --array=0-1\n"),
            std::string::npos);
  EXPECT_EQ(Json(dir + "/slurm/array-2.points.json").size(), 2u);
  for (int i = 0; i < 600; ++i) {
    status = nlohmann::ordered_json::parse(RunCli("sweep status " + dir + " --json").text);
    if (status["counts"]["done"] == 4) break;
    Sleep(0.5);
  }
  EXPECT_EQ(status["counts"]["done"], 4) << status.dump(2);
  o = RunCli("sweep " + w + "/s.ini --slurm");
  EXPECT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("nothing to submit"), std::string::npos) << o.text;
  o = RunCli("sweep collect " + dir + " --no-plots");
  EXPECT_EQ(o.code, 0) << o.text;
  EXPECT_EQ(Json(dir + "/collect/table.json")["points"][1]["figures"]["eval.mean_return"]["n"], 2);

  // A controller that does not answer: an error, and nothing submitted.
  slurm.Stop();
  const std::string jobs = core::ReadFile(dir + "/slurm/jobs.json");
  fs::remove_all(dir + "/runs/train.init_from=,seed=2");
  o = RunCli("sweep " + w + "/s.ini --slurm");
  EXPECT_EQ(o.code, 1) << o.text;
  EXPECT_NE(o.text.find("not reachable"), std::string::npos) << o.text;
  EXPECT_EQ(core::ReadFile(dir + "/slurm/jobs.json"), jobs);
  EXPECT_FALSE(fs::exists(dir + "/slurm/array-3.sh"));
  ::setenv("SLURM_CONF", (w + "/no-such.conf").c_str(), 1);
  o = RunCli("sweep " + w + "/s.ini --slurm");
  EXPECT_EQ(o.code, 1) << o.text;
  EXPECT_NE(o.text.find("no-such.conf: no such file"), std::string::npos) << o.text;
  // Nor is a point run here while Slurm cannot say whether its array task still runs it.
  o = RunCli("sweep " + w + "/s.ini");
  EXPECT_EQ(o.code, 1) << o.text;
  EXPECT_NE(o.text.find("cannot say whether they still run"), std::string::npos) << o.text;
  EXPECT_FALSE(fs::exists(dir + "/runs/train.init_from=,seed=2"));
  o = RunCli("sweep status " + dir);
  EXPECT_NE(o.text.find("1 unknown"), std::string::npos) << o.text;
  ::unsetenv("SLURM_CONF");
}

}  // namespace
}  // namespace linklab::experiments
