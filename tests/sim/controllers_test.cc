// The rule-based shaping controllers (sim/controllers.h): static HTB as configured, autorate's
// cuts, raises, limits and refractory periods, the oracle under the true capacity, and that
// only the oracle reads truth fields.
#include "sim/controllers.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/rng.h"
#include "tests/sim/net_samples.h"

namespace linklab::sim {
namespace {

using testing::ClassSample;

const std::vector<AppClass> kClasses = {AppClass::kBulk, AppClass::kVideo, AppClass::kGaming,
                                        AppClass::kWeb};

ControllerSpec Spec() {
  ControllerSpec s;
  s.classes = kClasses;
  s.static_bps = 10e6;
  return s;
}

// One 100 ms step ending at `t_s`: "all" delivered `mbps`, the game's RTT p50 `rtt_ms`, and
// truth fields at values a controller must not read (the capacity at `cap_mbps`).
std::vector<LinkSample> Step(double t_s, double mbps, double rtt_ms, double cap_mbps = 50) {
  std::vector<LinkSample> out;
  LinkSample all = ClassSample("down", "all", 0.1);
  all.time_s = t_s;
  all.bytes_delivered = static_cast<uint64_t>(mbps * 1e6 * 0.1 / 8);
  all.capacity_mbps = cap_mbps;
  out.push_back(all);
  LinkSample g = ClassSample("down", "gaming", 0.1);
  g.time_s = t_s;
  g.rtt_p50_ms = rtt_ms;
  g.rtt_p95_ms = rtt_ms;
  out.push_back(g);
  LinkSample b = ClassSample("down", "bulk", 0.1);
  b.time_s = t_s;
  b.rtt_p50_ms = rtt_ms + 200;  // queued at the shaper: not the least queued class
  out.push_back(b);
  return out;
}

double Rate(const HtbConfig& c, AppClass k) {
  for (const auto& x : c.classes) {
    if (x.app_class == k) return x.rate_bps;
  }
  return NAN;
}
int Prio(const HtbConfig& c, AppClass k) {
  for (const auto& x : c.classes) {
    if (x.app_class == k) return x.prio;
  }
  return -1;
}

TEST(StaticHtb, ConfigAsGiven) {
  auto c = MakeController("static_htb", Spec());
  const HtbConfig h = c->Reset();
  EXPECT_DOUBLE_EQ(h.link_rate_bps, 10e6);
  // Half the total guaranteed: gaming 1 : web 2 : video 3 : bulk 2 of what is left after
  // other's minimum; the rest lent by prio.
  const double left = 0.5 * 10e6 - 0.05e6;
  EXPECT_NEAR(Rate(h, AppClass::kGaming), left / 8, 1);
  EXPECT_NEAR(Rate(h, AppClass::kWeb), left * 2 / 8, 1);
  EXPECT_NEAR(Rate(h, AppClass::kVideo), left * 3 / 8, 1);
  EXPECT_NEAR(Rate(h, AppClass::kBulk), left * 2 / 8, 1);
  EXPECT_NEAR(Rate(h, AppClass::kOther), 0.05e6, 1);
  EXPECT_EQ(Prio(h, AppClass::kGaming), 0);
  EXPECT_EQ(Prio(h, AppClass::kWeb), 1);
  EXPECT_EQ(Prio(h, AppClass::kVideo), 2);
  EXPECT_EQ(Prio(h, AppClass::kBulk), 3);
  EXPECT_EQ(Prio(h, AppClass::kOther), 7);
  for (const auto& x : h.classes) EXPECT_DOUBLE_EQ(x.ceil_bps, 10e6);
  // Whatever it sees, it keeps the config.
  const HtbConfig h2 = c->Next(Step(0.1, 3, 400, 1), h);
  EXPECT_DOUBLE_EQ(h2.link_rate_bps, 10e6);
  EXPECT_DOUBLE_EQ(Rate(h2, AppClass::kVideo), Rate(h, AppClass::kVideo));
}

TEST(NoneController, TransparentAtTheUpperBound) {
  auto c = MakeController("none", Spec());
  const HtbConfig h = c->Reset();
  EXPECT_DOUBLE_EQ(h.link_rate_bps, 100e6);
  for (const auto& x : h.classes) {
    EXPECT_EQ(x.prio, 0);
    EXPECT_DOUBLE_EQ(x.ceil_bps, 100e6);
  }
}

TEST(Autorate, CutsOnADelayRiseByAtMostThreeQuarters) {
  AutorateController c(Spec());
  c.Reset();
  HtbConfig h = c.Next(Step(0.1, 9.9, 40), {});  // baseline 40 ms, load high: raise
  EXPECT_EQ(c.last_move(), "raise");
  const double before = c.rate_bps();
  EXPECT_NEAR(before, 10e6 * 1.04, 1);
  // +300 ms over the baseline: the deepest cut, x0.75, though only 1 Mbit/s got through.
  h = c.Next(Step(0.2, 1.0, 340), h);
  EXPECT_EQ(c.last_move(), "cut");
  EXPECT_NEAR(c.rate_bps(), 0.75 * before, 1);
  EXPECT_NEAR(h.link_rate_bps, 0.75 * before, 1);
  EXPECT_NEAR(c.baseline_ms(), 40 + 0.01 * 300, 1e-9);  // the baseline rises slowly
}

TEST(Autorate, CutDepthFollowsTheDelay) {
  AutorateController c(Spec());
  c.Reset();
  c.Next(Step(0.1, 5, 40), {});  // baseline 40 ms, load low
  const double before = c.rate_bps();
  // Delay 45 ms over the baseline after the baseline moves: half way from 30 to 60 ms.
  const double rtt = 40 + 45 / 0.99;
  c.Next(Step(0.2, 9.5, rtt), {});
  EXPECT_EQ(c.last_move(), "cut");
  EXPECT_NEAR(c.delta_ms(), 45, 1e-6);
  EXPECT_NEAR(c.rate_bps(), std::min(before, 9.5e6) * (0.99 + (0.75 - 0.99) * 0.5), 10);
}

TEST(Autorate, NoChangeDuringTheRefractoryPeriod) {
  AutorateController c(Spec());
  c.Reset();
  c.Next(Step(0.1, 9, 40), {});
  c.Next(Step(0.2, 1, 340), {});
  ASSERT_EQ(c.last_move(), "cut");
  const double after_cut = c.rate_bps();
  // 0.1 and 0.2 s after the cut: neither another cut nor a raise.
  c.Next(Step(0.3, 1, 340), {});
  EXPECT_EQ(c.last_move(), "hold");
  c.Next(Step(0.4, after_cut / 1e6, 40), {});
  EXPECT_EQ(c.last_move(), "hold");
  EXPECT_DOUBLE_EQ(c.rate_bps(), after_cut);
  // 0.3 s after: the delay is still high, so it cuts again.
  c.Next(Step(0.5, 1, 340), {});
  EXPECT_EQ(c.last_move(), "cut");
  EXPECT_NEAR(c.rate_bps(), 0.75 * after_cut, 1);
}

TEST(Autorate, RaisesUnderLoadByAtMost4Percent) {
  AutorateController c(Spec());
  c.Reset();
  double rate = c.rate_bps();
  for (int k = 1; k <= 20; ++k) {
    c.Next(Step(0.1 * k, rate / 1e6 * 0.8, 40), {});  // 80 % load, no delay
    EXPECT_EQ(c.last_move(), "raise");
    EXPECT_LE(c.rate_bps(), rate * 1.04 + 1e-6);
    EXPECT_GT(c.rate_bps(), rate);
    rate = c.rate_bps();
  }
  // A delay near the threshold raises less.
  AutorateController d(Spec());
  d.Reset();
  d.Next(Step(0.1, 9, 40), {});
  const double r0 = d.rate_bps();
  d.Next(Step(0.2, 9, 40 + 20 / 0.99), {});
  EXPECT_EQ(d.last_move(), "raise");
  EXPECT_NEAR(d.rate_bps() / r0, 1 + 0.04 / 3, 1e-6);
}

TEST(Autorate, LowLoadDecaysTowardTheBaseAndStaysWithinBounds) {
  ControllerSpec s = Spec();
  s.max_link_bps = 11e6;
  AutorateController c(s);
  c.Reset();
  for (int k = 1; k <= 10; ++k) c.Next(Step(0.1 * k, 100, 40), {});
  EXPECT_DOUBLE_EQ(c.rate_bps(), 11e6);  // capped at max_link_bps
  // Low load: x0.99 once a second, never below the base.
  c.Next(Step(1.1, 0.1, 40), {});
  EXPECT_EQ(c.last_move(), "decay");
  EXPECT_NEAR(c.rate_bps(), 11e6 * 0.99, 1);
  c.Next(Step(1.2, 0.1, 40), {});
  EXPECT_EQ(c.last_move(), "hold");
  // Repeated cuts stop at min_link_bps.
  for (int k = 0; k < 100; ++k) c.Next(Step(2 + 0.5 * k, 0.01, 40 + 500), {});
  EXPECT_DOUBLE_EQ(c.rate_bps(), s.min_link_bps);
}

TEST(Autorate, ReadsOnlyObservableFields) {
  // Truth fields set to random values do not change what autorate does.
  auto run = [](uint64_t seed) {
    core::Rng rng(seed);
    AutorateController c(Spec());
    c.Reset();
    std::vector<double> rates;
    for (int k = 1; k <= 50; ++k) {
      auto samples = Step(0.1 * k, 5 + (k % 7), 40 + 30 * (k % 5));
      for (LinkSample& x : samples) {
        for (const std::string& f : LinkSampleTruthFields()) {
          SetLinkSampleField(x, f, rng.Uniform(0.0, 1000.0));
        }
      }
      rates.push_back(c.Next(samples, {}).link_rate_bps);
    }
    return rates;
  };
  EXPECT_EQ(run(1), run(2));
  EXPECT_TRUE(ControllerReadsTruth("oracle"));
  EXPECT_FALSE(ControllerReadsTruth("autorate"));
}

TEST(Oracle, JustBelowTheTrueCapacity) {
  auto c = MakeController("oracle", Spec());
  HtbConfig h = c->Reset();
  for (double cap : {2.0, 8.0, 30.0}) {
    h = c->Next(Step(1, 1, 40, cap), h);
    EXPECT_NEAR(h.link_rate_bps, 0.95 * cap * 1e6, 1);
    EXPECT_LT(h.link_rate_bps, cap * 1e6);
    EXPECT_EQ(Prio(h, AppClass::kGaming), 0);
  }
  // Below the total's lower bound: the bound.
  h = c->Next(Step(1, 1, 40, 0.1), h);
  EXPECT_DOUBLE_EQ(h.link_rate_bps, 0.5e6);
  // Told the coming step's capacity, it follows that one, once.
  c->SetNextCapacityBps(20e6);
  h = c->Next(Step(1, 1, 40, 8), h);
  EXPECT_NEAR(h.link_rate_bps, 0.95 * 20e6, 1);
  h = c->Next(Step(1, 1, 40, 8), h);
  EXPECT_NEAR(h.link_rate_bps, 0.95 * 8e6, 1);
}

TEST(Controllers, BadSpecsAndNames) {
  EXPECT_THROW(MakeController("cake", Spec()), std::invalid_argument);
  ControllerSpec s = Spec();
  s.static_bps = 200e6;
  try {
    MakeController("static_htb", s);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("static rate 200"), std::string::npos) << e.what();
  }
  s = Spec();
  s.classes.clear();
  EXPECT_THROW(MakeController("none", s), std::invalid_argument);
  s = Spec();
  s.min_class_bps = 30e6;
  EXPECT_THROW(MakeController("autorate", s), std::invalid_argument);
}

TEST(Controllers, MinClassRtt) {
  auto samples = Step(1, 1, 40);
  EXPECT_DOUBLE_EQ(MinClassRttMs(samples, "down"), 40);
  EXPECT_TRUE(std::isnan(MinClassRttMs(samples, "up")));
  samples[1].rtt_p50_ms = NAN;
  EXPECT_DOUBLE_EQ(MinClassRttMs(samples, "down"), 240);
}

}  // namespace
}  // namespace linklab::sim
