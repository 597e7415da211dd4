// The shaping env: the Env contract (the conformance suite, on the fluid backend), a shaped
// total just below a constant capacity lowering the gaming RTT on both backends, ns-3 in this
// process and in worker processes, the per-episode randomisation, bad input, and a run config.

#include "envs/shaping/shaping_env.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <set>

#include "core/files.h"
#include "sim/action.h"
#include "sim/capacity.h"
#include "tests/envs/env_conformance.h"
#include "tests/test_util.h"

namespace linklab::envs {
namespace {

using linklab::testing::ErrorOf;

// Registered before any test runs (the env lives outside linklab_envs).
const bool kRegistered = [] {
  shaping::RegisterShapingEnv(EnvRegistry());
  return true;
}();

// A small mahimahi trace written by the test, looping every second: `per_ms_odd` opportunities
// at odd milliseconds, `per_ms_even` at even ones (2, 1: 18 Mbit/s; 1, 0: 6 Mbit/s). Written
// atomically: other test processes may read it.
std::string TestTrace(const std::string& name, int per_ms_odd, int per_ms_even) {
  const std::string path = ::testing::TempDir() + "/shaping_" + name;
  std::string text;
  for (int ms = 1; ms <= 1000; ++ms) {
    for (int k = 0; k < (ms % 2 ? per_ms_odd : per_ms_even); ++k) text += std::to_string(ms) + "\n";
  }
  core::WriteFileAtomic(path, text);
  return path;
}

INSTANTIATE_TEST_SUITE_P(
    Shaping, EnvConformance,
    ::testing::Values("shaping", "shaping(action=continuous,window=2)",
                      "shaping(scenario=internet(backend=fluid,capacity=constant,base_mbps=40,"
                      "cross_flows=1,rtt_ms=60),max_link_mbps=200,sla=[video.mbps>1.5])",
                      "shaping(controller=autorate,controller_mbps=8)"),
    ConformanceName);

// Index of discrete action `name` ("x0.9 fair"), by the names the env's table gives.
float ActionIndex(const std::string& name) {
  sim::ActionSpec s;
  s.classes = {sim::AppClass::kBulk};
  sim::ActionDecoder d(s);
  for (int i = 0; i < d.num_actions(); ++i) {
    if (d.ActionName(i) == name) return static_cast<float>(i);
  }
  ADD_FAILURE() << "no action " << name;
  return 0.0f;
}

struct EpisodeFigures {
  double gaming_rtt_ms = 0.0;  // mean of the steps' RTT p95 over the second half
  double bulk_mbps = 0.0;      // mean delivered over the second half
  double shaped_mbps = 0.0;    // the HTB total at the end
  std::vector<float> trace;    // observations and rewards, for determinism checks
};

// One episode of `steps` steps on a constant 10 Mbit/s cellular link with bulk and gaming.
// shaped: the total bounded at 9 Mbit/s, just below the capacity, and one fixed action,
// "x1.25 fair" (the total up to 1.25 x the delivered rate: to its bound); unshaped: "leave"
// keeps the initial, transparent 100 Mbit/s.
EpisodeFigures Episode(const std::string& backend, bool shaped, int steps, uint64_t seed = 1) {
  auto env = MakeEnv(
      "shaping(scenario=tethered(capacity=constant,constant_mbps=10,workload=[bulk,gaming],"
      "backend=" +
      backend + "),max_link_mbps=" + (shaped ? "9" : "100") + ",max_episode_steps=0)");
  EpisodeFigures f;
  f.trace = env->Reset(seed).obs;
  const float action = shaped ? ActionIndex("x1.25 fair") : 0.0f;
  int counted = 0;
  for (int t = 0; t < steps; ++t) {
    const StepResult r = env->Step({action});
    f.trace.insert(f.trace.end(), r.obs.begin(), r.obs.end());
    f.trace.push_back(static_cast<float>(r.reward));
    f.shaped_mbps = r.info.Get("shaping.mbps");
    if (t >= steps / 2) {
      const double rtt = r.info.Get("gaming.rtt95");
      if (std::isfinite(rtt)) {
        f.gaming_rtt_ms += rtt;
        ++counted;
      }
      f.bulk_mbps += r.info.Get("bulk.mbps") / (steps - steps / 2);
    }
  }
  f.gaming_rtt_ms /= std::max(counted, 1);
  return f;
}

// Unshaped, bulk fills the 250-packet cellular buffer (300 ms at 10 Mbit/s) and the game's
// packets wait behind it; shaped just below the capacity, the queue moves into the shaper,
// where the game has a class of its own, and its RTT falls toward the 80 ms base.
void ExpectShapingLowersGamingRtt(const std::string& backend, int steps) {
  const EpisodeFigures free = Episode(backend, false, steps);
  const EpisodeFigures shaped = Episode(backend, true, steps);
  SCOPED_TRACE(backend);
  EXPECT_GT(free.gaming_rtt_ms, 200.0);
  EXPECT_LT(shaped.gaming_rtt_ms, 0.6 * free.gaming_rtt_ms);
  EXPECT_GT(shaped.gaming_rtt_ms, 75.0);  // never below the base RTT
  EXPECT_NEAR(shaped.shaped_mbps, 9.0, 1e-6);
  // The link stays busy: bulk keeps most of the capacity.
  EXPECT_GT(shaped.bulk_mbps, 7.5);
  EXPECT_GT(free.bulk_mbps, 8.5);
  std::cerr << backend << ": gaming RTT p95 " << free.gaming_rtt_ms << " -> "
            << shaped.gaming_rtt_ms << " ms, bulk " << free.bulk_mbps << " -> " << shaped.bulk_mbps
            << " Mbit/s\n";
}

TEST(ShapingEnv, ShapingJustBelowCapacityLowersTheGamingRttOnFluid) {
  ExpectShapingLowersGamingRtt("fluid", 300);
}

TEST(ShapingEnv, ShapingJustBelowCapacityLowersTheGamingRttOnNs3) {
  ExpectShapingLowersGamingRtt("ns3", 200);
}

// The rule-based controllers (controller=...) on a constant 10 Mbit/s link with bulk and a
// game: they ignore the action; static_htb holds 0.85 x the capacity, the oracle 0.95 x, and
// each of them and autorate lowers the game's RTT against no shaping.
struct ControlledFigures {
  double gaming_rtt_ms = 0.0, bulk_mbps = 0.0, bulk_delay_ms = 0.0, min_shaped = 1e9,
         max_shaped = 0.0;
};
// `leaf`: the scenario's htb_leaf.
ControlledFigures Controlled(const std::string& controller, float action = 0.0f,
                             const std::string& leaf = "pfifo") {
  auto env = MakeEnv(
      "shaping(scenario=tethered(capacity=constant,constant_mbps=10,workload=[bulk,gaming],"
      "backend=fluid,htb_leaf=" +
      leaf + "),controller=" + controller + ",max_episode_steps=0)");
  env->Reset(3);
  ControlledFigures f;
  int counted = 0;
  const int steps = 300;
  for (int t = 0; t < steps; ++t) {
    const StepResult r = env->Step({action});
    f.min_shaped = std::min(f.min_shaped, r.info.Get("shaping.mbps"));
    f.max_shaped = std::max(f.max_shaped, r.info.Get("shaping.mbps"));
    if (t < steps / 2) continue;
    const double rtt = r.info.Get("gaming.rtt95");
    if (std::isfinite(rtt)) {
      f.gaming_rtt_ms += rtt;
      ++counted;
    }
    f.bulk_mbps += r.info.Get("bulk.mbps") / (steps - steps / 2);
    f.bulk_delay_ms += r.info.Get("bulk.delay95") / (steps - steps / 2);
  }
  f.gaming_rtt_ms /= std::max(counted, 1);
  std::cerr << controller << ": gaming RTT p95 " << f.gaming_rtt_ms << " ms, bulk " << f.bulk_mbps
            << " Mbit/s, shaped " << f.min_shaped << ".." << f.max_shaped << "\n";
  return f;
}

TEST(ShapingEnv, ControllersShapeInPlaceOfTheAction) {
  const ControlledFigures none = Controlled("none");
  EXPECT_DOUBLE_EQ(none.min_shaped, 100.0);
  EXPECT_GT(none.gaming_rtt_ms, 200.0);
  const ControlledFigures fixed = Controlled("static_htb");
  EXPECT_DOUBLE_EQ(fixed.min_shaped, 8.5);
  EXPECT_DOUBLE_EQ(fixed.max_shaped, 8.5);
  // The action is ignored.
  const ControlledFigures other_action = Controlled("static_htb", ActionIndex("x0.8 squeeze"));
  EXPECT_EQ(other_action.gaming_rtt_ms, fixed.gaming_rtt_ms);
  const ControlledFigures oracle = Controlled("oracle");
  EXPECT_NEAR(oracle.max_shaped, 9.5, 1e-6);  // after its first step
  const ControlledFigures autorate = Controlled("autorate");
  EXPECT_LT(autorate.min_shaped, 10.0);
  // SQM: FQ-CoDel under a shaper at 0.85 x the capacity (the scenario's, not an HTB).
  const ControlledFigures sqm = Controlled("sqm");
  EXPECT_DOUBLE_EQ(sqm.min_shaped, 8.5);
  EXPECT_DOUBLE_EQ(sqm.max_shaped, 8.5);
  EXPECT_NEAR(sqm.bulk_mbps, 8.0, 0.6);
  for (const ControlledFigures* f : {&fixed, &oracle, &autorate, &sqm}) {
    EXPECT_LT(f->gaming_rtt_ms, 0.7 * none.gaming_rtt_ms);
    EXPECT_GT(f->bulk_mbps, 6.0);
  }
  // CoDel leaves under the same HTB: the bulk class's queue stays short, its rate about the
  // same.
  const ControlledFigures codel = Controlled("static_htb", 0.0f, "codel");
  EXPECT_LT(codel.bulk_delay_ms, 0.5 * fixed.bulk_delay_ms);
  EXPECT_GT(codel.bulk_mbps, 0.85 * fixed.bulk_mbps);
}

TEST(ShapingEnv, TheOracleShapesJustBelowTheComingStepsCapacity) {
  // A trace at 24 Mbit/s for 0.35 s, then 12 Mbit/s for 0.65 s, looping: the capacity moves
  // within steps and between them; the oracle's total is 0.95 x each step's own capacity.
  const std::string path = ::testing::TempDir() + "/shaping_oracle_steps";
  std::string text;
  for (int ms = 1; ms <= 1000; ++ms) {
    for (int k = 0; k < (ms <= 350 ? 2 : 1); ++k) text += std::to_string(ms) + "\n";
  }
  core::WriteFileAtomic(path, text);
  for (const char* offset : {"0", "0.25"}) {
    auto env = MakeEnv("shaping(scenario=tethered(capacity=trace,trace=" + path +
                       ",trace_offset_s=" + offset +
                       ",workload=[bulk,gaming],backend=fluid),controller=oracle)");
    env->Reset(1);
    for (int t = 0; t < 30; ++t) {
      const StepResult r = env->Step({0.0f});
      const double cap = r.info.Get("link.cap_mbps");
      EXPECT_NEAR(r.info.Get("shaping.mbps"), 0.95 * cap, 0.01 * cap) << offset << " step " << t;
    }
  }
}

TEST(ShapingEnv, ControllerBadInput) {
  auto error = [](const std::string& spec) { return ErrorOf([&] { MakeEnv(spec); }); };
  EXPECT_NE(
      error("shaping(controller=static_htb,controller_mbps=500)").find("controller_mbps = 500"),
      std::string::npos);
  EXPECT_NE(error("shaping(controller=autorate)").find("capacity = markov"), std::string::npos);
  EXPECT_NE(error("shaping(controller=cake)").find("controller"), std::string::npos);
  EXPECT_NE(error("shaping(controller=sqm)").find("capacity = markov"), std::string::npos);
  EXPECT_NE(error("shaping(scenario=tethered(qdisc=fifo,htb_leaf=codel))").find("htb_leaf"),
            std::string::npos);
  EXPECT_NO_THROW(MakeEnv("shaping(controller=autorate,controller_mbps=8)"));
}

TEST(ShapingEnv, Ns3EpisodesRepeatInOneProcess) {
  // A reset rebuilds the simulation in this process; the same seed and actions repeat.
  const EpisodeFigures a = Episode("ns3", true, 40, 7);
  const EpisodeFigures b = Episode("ns3", true, 40, 7);
  EXPECT_EQ(a.trace, b.trace);
  const EpisodeFigures c = Episode("ns3", true, 40, 8);
  EXPECT_NE(a.trace, c.trace);
}

TEST(ShapingEnv, FluidEpisodesRepeatWithTheirInfo) {
  auto run = [] {
    auto env = MakeEnv("shaping(action=continuous)");
    core::Rng rng(3);
    std::vector<double> out;
    env->Reset(11);
    for (int t = 0; t < 400; ++t) {
      const StepResult r = env->Step(env->action_space().Sample(rng));
      for (const auto& [k, v] : r.info.items()) {
        if (k != "episode_seconds") out.push_back(v);  // wall time
      }
      out.push_back(r.reward);
      if (r.done()) env->Reset();
    }
    return out;
  };
  const std::vector<double> a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) {
      EXPECT_TRUE(std::isnan(b[i])) << i;
    } else {
      EXPECT_EQ(a[i], b[i]) << i;
    }
  }
}

TEST(ShapingEnv, TraitsFollowTheBackend) {
  auto traits = [](const std::string& scenario) {
    return EnvTraits("shaping",
                     ResolveEnvParams("shaping", {{"scenario", {scenario, "test"}}}, "test"));
  };
  const core::EntryTraits fluid = traits("tethered(backend=fluid)");
  const core::EntryTraits ns3 = traits("tethered(backend=ns3)");
  EXPECT_FALSE(fluid.own_process);
  EXPECT_TRUE(ns3.own_process);
  EXPECT_FALSE(fluid.snapshot);
  EXPECT_FALSE(ns3.snapshot);
  EXPECT_GT(ns3.cost_us_per_step, 10 * fluid.cost_us_per_step);
}

TEST(ShapingEnv, Ns3RunsInWorkerProcesses) {
  // sync with 2 envs on ns-3 becomes process (one simulation per process).
  const core::Params params = ResolveEnvParams(
      "shaping",
      {{"scenario", {"tethered(capacity=constant,constant_mbps=8,workload=[bulk,gaming])", "test"}},
       {"max_episode_steps", {"15", "test"}}},
      "test");
  VectorOptions opts;
  opts.num_envs = 2;
  EXPECT_EQ(EffectiveVectorMode("shaping", params, opts), "process");
  auto env = MakeVectorEnv("shaping", params, opts);
  env->Reset(1);
  int done = 0;
  for (int t = 0; t < 40; ++t) {
    const VectorStep& s = env->Step({ActionIndex("x0.9 priority"), 0.0f});
    for (int i = 0; i < 2; ++i) {
      EXPECT_TRUE(std::isfinite(s.reward[i]));
      done += s.truncated[i];
    }
  }
  EXPECT_EQ(done, 4);  // episodes of 15 steps, next-step autoreset: 2 per env in 40 steps
}

TEST(ShapingEnv, FluidRunsInASyncVectorEnv) {
  const core::Params params = ResolveEnvParams("shaping", {}, "test");
  VectorOptions opts;
  opts.num_envs = 3;
  auto env = MakeVectorEnv("shaping", params, opts);
  const VectorStep& r = env->Reset(5);
  ASSERT_EQ(r.obs.size(), 3 * env->single_observation_space().size());
  for (int t = 0; t < 50; ++t) env->Step({1.0f, 2.0f, 3.0f});
}

TEST(ShapingEnv, EpisodesDrawTheirTraceOffsetRttAndBuffer) {
  const std::string fast = TestTrace("fast.down", 2, 1), slow = TestTrace("slow.down", 1, 0);
  const std::string spec =
      "shaping(scenario=tethered(capacity=trace,trace=" + fast +
      ",workload=[bulk,gaming],backend=fluid),traces=[" + fast + "," + slow +
      "],random_offset=true,rtt_ms_range=[40,200],buffer_range=[50,400],max_episode_steps=20)";
  auto run = [&] {
    auto env = MakeEnv(spec);
    std::vector<double> caps, rtts;
    std::vector<float> trace = env->Reset(21).obs;
    for (int episode = 0; episode < 12; ++episode) {
      double cap = 0.0, rtt = 0.0;
      StepResult r;
      for (int t = 0; t < 20; ++t) {
        r = env->Step({0.0f});
        cap += r.info.Get("link.cap_mbps") / 20;
        if (std::isfinite(r.info.Get("gaming.rtt95"))) rtt = r.info.Get("gaming.rtt95");
        trace.insert(trace.end(), r.obs.begin(), r.obs.end());
      }
      EXPECT_TRUE(r.truncated);
      caps.push_back(cap);
      rtts.push_back(rtt);
      const ResetResult rr = env->Reset();
      trace.insert(trace.end(), rr.obs.begin(), rr.obs.end());
    }
    return std::make_tuple(caps, rtts, trace);
  };
  const auto [caps, rtts, trace] = run();
  // Both traces come up: 18 and 6 Mbit/s.
  const auto [lo, hi] = std::minmax_element(caps.begin(), caps.end());
  EXPECT_LT(*lo, 8.0);
  EXPECT_GT(*hi, 10.0);
  // The base RTT varies between episodes within its range.
  std::set<double> distinct(rtts.begin(), rtts.end());
  EXPECT_GT(distinct.size(), 6u);
  for (double r : rtts) EXPECT_GT(r, 35.0);
  // ... deterministically.
  EXPECT_EQ(std::get<2>(run()), trace);
}

TEST(ShapingEnv, BadInputIsAnErrorNamingKeyAndValue) {
  auto error = [](const std::string& spec) { return ErrorOf([&] { MakeEnv(spec); }); };
  const std::string bulk_only = "scenario=tethered(workload=[bulk,video],backend=fluid)";
  EXPECT_NE(error("shaping(classes=[bulk,robot])").find("'robot': unknown application class"),
            std::string::npos);
  EXPECT_NE(error("shaping(" + bulk_only + ",classes=[bulk,gaming])")
                .find("class gaming has no traffic in the workload (classes with traffic: bulk, "
                      "video)"),
            std::string::npos);
  EXPECT_NE(error("shaping(" + bulk_only + ",sla=[gaming.rtt_p95_ms<80])")
                .find("class gaming has no traffic in the workload"),
            std::string::npos);
  EXPECT_NE(error("shaping(sla=[video.smoothness>1])").find("unknown metric 'smoothness'"),
            std::string::npos);
  EXPECT_NE(error("shaping(min_link_mbps=20,max_link_mbps=10)")
                .find("max_link_mbps = 10 is below min_link_mbps = 20"),
            std::string::npos);
  EXPECT_NE(error("shaping(min_class_mbps=30,max_link_mbps=100)").find("min_class_mbps = 30"),
            std::string::npos);
  EXPECT_NE(error("shaping(scenario=tethered(qdisc=fifo,backend=fluid))").find("qdisc = fifo"),
            std::string::npos);
  EXPECT_NE(error("shaping(point=sideways)").find("point = 'sideways'"), std::string::npos);
  EXPECT_NE(error("shaping(traces=[a.down])").find("needs a scenario with capacity = trace"),
            std::string::npos);
  EXPECT_NE(error("shaping(random_offset=true)").find("random_offset = true"), std::string::npos);
  EXPECT_NE(error("shaping(scenario=tethered(capacity=trace,backend=fluid),traces=[no-such."
                  "down])")
                .find("traces = 'no-such.down'"),
            std::string::npos);
  EXPECT_NE(error("shaping(rtt_ms_range=[50])").find("rtt_ms_range = '50'"), std::string::npos);
  EXPECT_NE(error("shaping(buffer_range=[300,100])").find("needs 0 < lo <= hi"), std::string::npos);
  EXPECT_NE(error("shaping(scenario=tethered(warp=9))").find("unknown key 'warp'"),
            std::string::npos);
  EXPECT_NE(error("shaping(action=sideways)").find("action = 'sideways'"), std::string::npos);
}

// Runs an example config through the linklab binary for `steps` training steps; "" when it
// ran and wrote its summary, else what it printed.
std::string RunExample(const std::string& config, int steps) {
  const std::string out = ::testing::TempDir() + "/shaping_run_" + config;
  std::filesystem::remove_all(out);
  const std::string cmd = std::string(LINKLAB_BINARY) + " run " + LINKLAB_SOURCE_DIR +
                          "/experiments/" + config +
                          " --set train.total_steps=" + std::to_string(steps) +
                          " --set experiment.output=" + out + " --set train.progress=false 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string text;
  std::array<char, 4096> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) text.append(buf.data(), n);
  const int status = pclose(p);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "failed: " + text;
  for (const auto& e : std::filesystem::recursive_directory_iterator(out)) {
    if (e.path().filename() == "summary.json") return "";
  }
  return "no summary.json: " + text;
}

// The example configs train for a few thousand steps, on the shared LTE traces they name.
bool ExampleTracesPresent() {
  for (const char* trace : {"ATT-LTE-driving.down", "TMobile-LTE-driving.down"}) {
    try {
      sim::FindTrace(trace);
    } catch (const std::invalid_argument&) {
      return false;
    }
  }
  return true;
}

TEST(ShapingEnv, TheDqnExampleConfigRuns) {
  if (!ExampleTracesPresent()) GTEST_SKIP() << "the shared traces (../shared/data) are not here";
  EXPECT_EQ(RunExample("shaping_fluid_dqn.ini", 3000), "");
}

TEST(ShapingEnv, ThePpoExampleConfigRuns) {
  if (!ExampleTracesPresent()) GTEST_SKIP() << "the shared traces (../shared/data) are not here";
  EXPECT_EQ(RunExample("shaping_fluid_ppo.ini", 4096), "");
}

// The internet example needs no trace.
TEST(ShapingEnv, TheInternetExampleConfigRuns) {
  EXPECT_EQ(RunExample("shaping_internet_ppo.ini", 4096), "");
}

}  // namespace
}  // namespace linklab::envs
