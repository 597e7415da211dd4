// `linklab eval`: short evaluations on the fluid backend write a table with the expected
// columns and finite numbers, the same twice; a trained run folder is evaluated with its
// training figures; bad input stops before any episode runs; one ns-3 evaluation runs.

#include "experiments/eval.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/files.h"
#include "envs/registry.h"
#include "envs/shaping/shaping_env.h"
#include "models/policy.h"
#include "tests/test_util.h"

namespace linklab::experiments {
namespace {

namespace fs = std::filesystem;
using linklab::testing::ErrorOf;

const bool kRegistered = [] {
  envs::shaping::RegisterShapingEnv(envs::EnvRegistry());
  return true;
}();

std::string Tmp(const std::string& name) {
  const std::string dir =
      ::testing::TempDir() + "/eval_test_" + std::to_string(::getpid()) + "/" + name;
  fs::create_directories(fs::path(dir).parent_path());
  return dir;
}

// A mahimahi trace looping every second: `per_ms` opportunities each millisecond but one
// millisecond in `gap` without any (per_ms 1: 12 Mbit/s).
std::string TestTrace(const std::string& name, int per_ms, int gap) {
  const std::string path = Tmp("traces/" + name);
  std::string text;
  for (int ms = 1; ms <= 1000; ++ms) {
    if (ms % gap == 0) continue;
    for (int k = 0; k < per_ms; ++k) text += std::to_string(ms) + "\n";
  }
  core::WriteFileAtomic(path, text);
  return path;
}

// An eval config over the test traces with `eval_lines` in [eval] and `env_lines` in [env].
std::string Config(const std::string& name, const std::string& env_lines,
                   const std::string& eval_lines, const std::string& backend = "fluid") {
  const std::string a = TestTrace("a.down", 1, 4), b = TestTrace("b.down", 2, 3);
  const std::string path = Tmp(name + ".ini");
  // Defaults for the keys the lines do not set.
  auto unless = [](const std::string& lines, const std::string& key, const std::string& line) {
    return lines.find(key + " =") == std::string::npos ? line + "\n" : std::string();
  };
  core::WriteFileAtomic(
      path, "[experiment]\nname = t\noutput = " + Tmp("results") +
                "\n[env]\nid = shaping\nscenario = tethered(capacity=trace,trace=" + a +
                ",workload=[bulk,video,gaming],backend=" + backend + ")\nstep_s = 0.1\n" +
                unless(env_lines, "max_episode_steps", "max_episode_steps = 40") +
                "max_link_mbps = 50\n" + unless(env_lines, "sla", "sla = [gaming.rtt_p95_ms<150]") +
                env_lines + "\n[eval]\n" +
                unless(eval_lines, "traces", "traces = [" + a + "," + b + "]") +
                unless(eval_lines, "seeds", "seeds = 2") + eval_lines + "\n");
  return path;
}

EvalResult EvalIn(const std::string& config, const std::string& out, EvalOverrides o = {}) {
  o.out = out;
  return RunEval(LoadEvalConfig(config, o), false);
}

TEST(Eval, TwoBaselinesTwoSeedsWriteTheTableAndRepeat) {
  const std::string cfg = Config("two", "", "policies = [none,autorate]");
  const EvalResult r = EvalIn(cfg, Tmp("two_out"));
  ASSERT_TRUE(fs::exists(r.dir + "/table.md"));
  ASSERT_TRUE(fs::exists(r.dir + "/table.json"));
  const core::Json t = core::ReadJsonFile(r.dir + "/table.json");
  EXPECT_EQ(t["seeds"].size(), 2u);
  EXPECT_EQ(t["traces"].size(), 2u);
  EXPECT_FALSE(t["git_commit"].get<std::string>().empty());
  EXPECT_TRUE(t.contains("machine"));
  ASSERT_EQ(t["policies"].size(), 2u);
  for (const core::Json& row : t["policies"]) {
    SCOPED_TRACE(row["policy"].get<std::string>());
    EXPECT_EQ(row["episodes"], 4);
    EXPECT_EQ(row["env_steps"], 4 * 40);
    for (const char* k : {"reward_mean", "reward_ci95", "link_util", "video_kbps",
                          "video_stall_s_per_min", "gaming_rtt_p95_ms", "gaming_loss"}) {
      ASSERT_TRUE(row[k].is_number()) << k;
      EXPECT_TRUE(std::isfinite(row[k].get<double>())) << k;
    }
    EXPECT_GE(row["reward_ci95"].get<double>(), 0.0);
    EXPECT_GT(row["link_util"].get<double>(), 0.2);
    EXPECT_LE(row["link_util"].get<double>(), 1.1);
    for (const char* c : {"bulk", "video", "gaming"}) {
      ASSERT_TRUE(row["classes"].contains(c)) << c;
      EXPECT_GT(row["classes"][c]["mbps"].get<double>(), 0.0) << c;
      EXPECT_TRUE(row["classes"][c]["delay_p95_ms"].is_number()) << c;
    }
    // The SLA is on the game only.
    EXPECT_TRUE(row["classes"]["gaming"]["sla_violation_rate"].is_number());
    EXPECT_TRUE(row["classes"]["bulk"]["sla_violation_rate"].is_null());
    EXPECT_TRUE(row["web_page_ms"].is_null());  // no web traffic
  }
  // Autorate shapes below the transparent 50 Mbit/s.
  EXPECT_DOUBLE_EQ(t["policies"][0]["shaping_mbps"].get<double>(), 50.0);
  EXPECT_LT(t["policies"][1]["shaping_mbps"].get<double>(), 20.0);
  const std::string md = core::ReadFile(r.dir + "/table.md");
  for (const char* col : {"| policy | reward |", "link util", "video kbit/s", "stall s/min",
                          "game RTT p95 ms", "game loss", "web page ms", "train s",
                          "| bulk | video | gaming |", "| none |", "| autorate |", "a.down"}) {
    EXPECT_NE(md.find(col), std::string::npos) << col;
  }
  // The same config again, one episode at a time: the same table (but for the time it was
  // made).
  EvalOverrides one;
  one.sets = {"eval.workers=1"};
  const EvalResult r2 = EvalIn(cfg, Tmp("two_out2"), one);
  EXPECT_EQ(r.table["policies"].dump(), r2.table["policies"].dump());
}

// A run folder with a constant policy for the env of `cfg` (as `linklab run` leaves one).
std::string FakeRun(const std::string& name, const std::string& cfg, float action) {
  const std::string dir = Tmp(name);
  fs::create_directories(dir);
  const EvalConfig c = LoadEvalConfig(cfg);
  auto env = envs::MakeEnv(c.env_id, envs::ResolveEnvParams(c.env_id, c.env_raw, "test"));
  models::PolicyArtefact a;
  a.agent = "fixed";
  a.observation_space = env->observation_space();
  a.action_space = env->action_space();
  a.head.kind = models::ActionHead::Kind::kConstant;
  a.head.constant = {action};
  models::WritePolicy(dir + "/policy.bin", a);
  core::WriteFileAtomic(dir + "/summary.json",
                        R"({"train": {"seconds": 12.5, "env_steps": 4000}})");
  core::WriteFileAtomic(dir + "/config.ini",
                        "[env]\nid = shaping\ntraces = [ATT-LTE-driving.down]\n");
  return dir;
}

TEST(Eval, ATrainedRunFolderWithItsTrainingFigures) {
  const std::string cfg = Config("trained", "", "policies = [static_htb]");
  const std::string run = FakeRun("run1", cfg, 7.0f);
  EvalOverrides o;
  o.policies = {run, "oracle"};
  o.seeds = 3;
  const EvalResult r = EvalIn(cfg, Tmp("trained_out"), o);
  const core::Json& rows = r.table["policies"];
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["kind"], "trained");
  EXPECT_DOUBLE_EQ(rows[0]["train_seconds"].get<double>(), 12.5);
  EXPECT_DOUBLE_EQ(rows[0]["train_env_steps"].get<double>(), 4000);
  EXPECT_EQ(rows[0]["trained_on"], "ATT-LTE-driving.down");
  EXPECT_EQ(rows[0]["episodes"], 6);
  EXPECT_TRUE(std::isfinite(rows[0]["reward_mean"].get<double>()));
  EXPECT_TRUE(rows[1]["reads_truth"].get<bool>());
  const std::string md = core::ReadFile(r.dir + "/table.md");
  EXPECT_NE(md.find("12"), std::string::npos);
  EXPECT_NE(md.find("Trained on"), std::string::npos);
  // A folder of traces: both test traces (an X.up next to X.down would be its twin).
  EvalOverrides f;
  f.policies = {"none"};
  f.traces = {fs::path(TestTrace("a.down", 1, 4)).parent_path().string()};
  core::WriteFileAtomic(fs::path(f.traces[0]) / "a.up", "1\n2\n");
  const EvalConfig folder = LoadEvalConfig(cfg, f);
  EXPECT_EQ(folder.traces.size(), 2u);
}

TEST(Eval, BadInputStopsBeforeAnyEpisode) {
  const std::string out = Tmp("bad_out");
  auto error = [&](const std::string& env, const std::string& eval, EvalOverrides o = {}) {
    const std::string cfg = Config("bad", env, eval);
    return ErrorOf([&] { EvalIn(cfg, out, o); });
  };
  auto has = [](const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
  };
  std::string e = error("", "policies = [none,cake]");
  EXPECT_TRUE(has(e, "bad.ini:")) << e;
  EXPECT_TRUE(has(e, "'cake'") && has(e, "autorate")) << e;
  e = error("", "policies = [" + Tmp("no_such_run") + "]");
  EXPECT_TRUE(has(e, "no_such_run") && has(e, "run folder")) << e;
  const std::string empty_run = Tmp("empty_run");
  fs::create_directories(empty_run);
  core::WriteFileAtomic(empty_run + "/policy.unavailable", "random has no policy");
  e = error("", "policies = [" + empty_run + "]");
  EXPECT_TRUE(has(e, "no policy.bin") && has(e, "random has no policy")) << e;
  e = error("", "traces = [/no/such/trace.down]");
  EXPECT_TRUE(has(e, "/no/such/trace.down")) << e;
  EvalOverrides bad_trace;
  bad_trace.traces = {Tmp("nowhere")};
  e = error("", "", bad_trace);
  EXPECT_TRUE(has(e, "--traces") && has(e, "nowhere")) << e;
  const std::string pensieve_text = Tmp("not_pensieve");
  core::WriteFileAtomic(pensieve_text, "1\n2\n3\n");
  e = error("", "traces = [" + pensieve_text + "]\nformat = pensieve");
  EXPECT_TRUE(has(e, "not a pensieve trace")) << e;
  e = error("sla = [web.mbps>1]", "");
  EXPECT_TRUE(has(e, "web") && has(e, "no traffic")) << e;
  e = error("min_class_mbps = 20", "");
  EXPECT_TRUE(has(e, "min_class")) << e;
  e = error("max_episode_steps = 0", "");
  EXPECT_TRUE(has(e, "never end")) << e;
  e = error("controller = autorate", "");
  EXPECT_TRUE(has(e, "[env] controller")) << e;
  e = error("colour = red", "");
  EXPECT_TRUE(has(e, "colour")) << e;
  e = error("", "seeds = 1");
  EXPECT_TRUE(has(e, "seeds")) << e;
  // A trained policy for other classes: its spaces do not fit the eval env.
  const std::string other = Config("other", "classes = [bulk,gaming]", "");
  const std::string run = FakeRun("run_other", other, 1.0f);
  e = error("", "policies = [" + run + "]");
  EXPECT_TRUE(has(e, "the policy takes observations")) << e;
  EXPECT_FALSE(fs::exists(out)) << "an episode ran";
}

TEST(Eval, TheCliRunsItAndExitsTwoOnBadInput) {
  const std::string cfg = Config("cli", "", "policies = [static_htb]");
  const std::string out = Tmp("cli_out");
  const std::string cmd = std::string(LINKLAB_BINARY) + " eval " + cfg + " --out " + out +
                          " --seeds 2 --policy none --policy autorate 2>&1";
  auto run = [](const std::string& c, std::string& text) {
    FILE* p = popen(c.c_str(), "r");
    std::array<char, 4096> buf;
    size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) text.append(buf.data(), n);
    const int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string text;
  EXPECT_EQ(run(cmd, text), 0) << text;
  EXPECT_NE(text.find("episodes"), std::string::npos) << text;
  const core::Json t = core::ReadJsonFile(out + "/table.json");
  ASSERT_EQ(t["policies"].size(), 2u);
  EXPECT_EQ(t["policies"][1]["policy"], "autorate");
  text.clear();
  EXPECT_EQ(run(std::string(LINKLAB_BINARY) + " eval " + cfg + " --traces /no/such 2>&1", text), 2);
  EXPECT_NE(text.find("linklab: error:"), std::string::npos) << text;
  EXPECT_NE(text.find("/no/such"), std::string::npos) << text;
}

TEST(Eval, OneNs3EvaluationRuns) {
  const std::string cfg =
      Config("ns3", "max_episode_steps = 5\nwarmup_s = 0.5", "policies = [static_htb]", "ns3");
  EvalOverrides o;
  o.traces = {TestTrace("a.down", 1, 4)};
  const EvalResult r = EvalIn(cfg, Tmp("ns3_out"), o);
  const core::Json& row = r.table["policies"][0];
  EXPECT_EQ(row["episodes"], 2);
  EXPECT_EQ(row["env_steps"], 10);
  EXPECT_NE(r.table["env_params"]["scenario"].get<std::string>().find("backend=ns3"),
            std::string::npos);
  EXPECT_TRUE(std::isfinite(row["reward_mean"].get<double>()));
  EXPECT_GT(row["classes"]["bulk"]["mbps"].get<double>(), 0.0);
}

}  // namespace
}  // namespace linklab::experiments
