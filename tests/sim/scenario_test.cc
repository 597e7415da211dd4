// Scenarios end to end on ns-3: what they measure, how shaping changes it, determinism and
// bad input. Short simulations on small links.

#include "sim/scenario.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "sim/shaping.h"
#include "sim/workload.h"
#include "tests/test_util.h"

namespace linklab::sim {
namespace {

using linklab::testing::ErrorOf;

const LinkSample& Find(const std::vector<LinkSample>& samples, const std::string& link,
                       const std::string& app_class) {
  for (const auto& s : samples) {
    if (s.link == link && s.app_class == app_class) return s;
  }
  throw std::runtime_error("no sample for " + link + "/" + app_class);
}

// Runs `seconds` in 1 s steps and returns the last step's samples.
std::vector<LinkSample> RunFor(Scenario& s, double seconds) {
  std::vector<LinkSample> last;
  for (double t = 0; t < seconds - 1e-9; t += 1.0) last = s.Advance(1.0);
  return last;
}

TEST(Tethered, BulkFillsTheCellularLinkAndItsBuffer) {
  auto s = MakeScenario("tethered(capacity=constant,constant_mbps=10,workload=bulk,rtt_ms=60)");
  s->Start(1);
  EXPECT_EQ(s->info().links, (std::vector<std::string>{"down", "up"}));
  const auto samples = RunFor(*s, 6);
  const LinkSample& bulk = Find(samples, "down", "bulk");
  EXPECT_NEAR(bulk.bytes_delivered * 8e-6, 10.0, 0.3);  // the link's capacity
  EXPECT_NEAR(bulk.capacity_mbps, 10.0, 1e-6);
  EXPECT_GT(bulk.backlog_packets, 50);  // Cubic fills the deep per-user buffer ...
  EXPECT_GT(bulk.delay_p50_ms, 100);    // ... and the delay grows with it
  EXPECT_GT(bulk.rtt_p50_ms, 100);
  EXPECT_NEAR(bulk.goodput_mbps, 9.6, 0.6);
  // The uplink carries the ACKs, marked with the class.
  EXPECT_GT(Find(samples, "up", "bulk").packets_delivered, 100u);
  const LinkSample& all = Find(samples, "down", "all");
  EXPECT_EQ(all.bytes_delivered, bulk.bytes_delivered);
}

// Mean of `field` over `seconds` 1 s steps of link/class.
double MeanOver(Scenario& s, double seconds, const std::string& link, const std::string& cls,
                double LinkSample::*field) {
  double sum = 0;
  for (int i = 0; i < seconds; ++i) sum += Find(s.Advance(1.0), link, cls).*field;
  return sum / seconds;
}

TEST(Tethered, ShapingBelowCapacityEmptiesTheCellularBuffer) {
  auto s = MakeScenario("tethered(capacity=constant,constant_mbps=10,workload=bulk,rtt_ms=60)");
  s->Start(1);
  RunFor(*s, 3);
  const double unshaped = MeanOver(*s, 5, "down", "bulk", &LinkSample::delay_p50_ms);
  HtbConfig htb;
  htb.link_rate_bps = 9e6;
  htb.classes = {{AppClass::kBulk, 8e6, 9e6, 0}, {AppClass::kOther, 1e6, 9e6, 1}};
  htb.class_queue_packets = 30;  // a short shaper queue: TCP sees its drops, not a long queue
  s->ApplyShaping("down", htb);
  RunFor(*s, 10);  // the cellular buffer drains at the 1 Mbit/s left over
  const double shaped = MeanOver(*s, 5, "down", "bulk", &LinkSample::delay_p50_ms);
  const double rate = MeanOver(*s, 3, "down", "bulk", &LinkSample::goodput_mbps);
  EXPECT_LT(shaped, unshaped / 2);
  EXPECT_NEAR(rate, 8.5, 0.5);  // the shaped rate, less headers
  EXPECT_THROW(s->ApplyShaping("sideways", htb), std::invalid_argument);
}

// SQM as people deploy it: FQ-CoDel under a token bucket below the link's rate holds the rate
// and keeps the queue short (CoDel's drops reach TCP), on both backends.
TEST(Tethered, SqmShaperHoldsItsRateWithAShortQueue) {
  for (const std::string backend : {"ns3", "fluid"}) {
    SCOPED_TRACE(backend);
    const std::string base =
        "tethered(capacity=constant,constant_mbps=10,workload=bulk,rtt_ms=60,backend=" + backend;
    auto plain = MakeScenario(base + ")");
    plain->Start(1);
    RunFor(*plain, 3);
    const double unshaped = MeanOver(*plain, 5, "down", "bulk", &LinkSample::delay_p50_ms);
    plain.reset();
    auto sqm = MakeScenario(base + ",qdisc=fq_codel,shaper_down_mbps=6)");
    sqm->Start(1);
    RunFor(*sqm, 3);
    const double rate = MeanOver(*sqm, 5, "down", "bulk", &LinkSample::goodput_mbps);
    const double delay = MeanOver(*sqm, 5, "down", "bulk", &LinkSample::delay_p50_ms);
    EXPECT_NEAR(rate, 5.7, 0.4);  // the shaper's rate, less headers
    EXPECT_GT(unshaped, 100);     // Cubic fills the cellular buffer ...
    EXPECT_LT(delay, 60);         // ... CoDel keeps the shaper's queue near its target
  }
  EXPECT_NE(ErrorOf([] { MakeScenario("tethered(shaper_down_mbps=5)"); }).find("qdisc = htb"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf([] { MakeScenario("datacenter(shaper_down_mbps=5)"); }).find("shaper_down_mbps"),
      std::string::npos);
}

TEST(Tethered, MahimahiTraceDrivesCapacity) {
  const std::string trace = ::testing::TempDir() + "/two_per_ms.down";
  {
    std::ofstream f(trace);
    for (int ms = 1; ms <= 1000; ++ms) f << ms << "\n" << ms << "\n";  // 24 Mbit/s
  }
  auto s = MakeScenario("tethered(capacity=trace,trace=" + trace + ",workload=bulk)");
  s->Start(3);
  const auto samples = RunFor(*s, 5);
  EXPECT_NEAR(Find(samples, "down", "all").capacity_mbps, 24.0, 1e-6);
  EXPECT_NEAR(Find(samples, "down", "bulk").bytes_delivered * 8e-6, 24.0, 1.0);
  // Without a .up twin, the uplink follows the same trace.
  EXPECT_NEAR(Find(samples, "up", "all").capacity_mbps, 24.0, 1e-6);
}

TEST(Tethered, MixedWorkloadReportsApplicationMetrics) {
  auto s = MakeScenario(
      "tethered(capacity=constant,constant_mbps=20,workload=video+gaming+web,rtt_ms=60)");
  s->Start(2);
  double stall = 0, bitrate = 0, flows = 0, game_rtt = 0;
  for (int i = 0; i < 30; ++i) {
    const auto samples = s->Advance(1.0);
    const LinkSample& video = Find(samples, "down", "video");
    if (!std::isnan(video.video_bitrate_kbps)) bitrate = video.video_bitrate_kbps;
    stall += video.video_stall_s;
    flows += Find(samples, "down", "web").flows_done;
    game_rtt = Find(samples, "down", "gaming").rtt_p50_ms;
  }
  EXPECT_GE(bitrate, 1850);
  EXPECT_LT(stall, 1.0);
  EXPECT_GT(flows, 3);
  EXPECT_GT(game_rtt, 55);
  EXPECT_LT(game_rtt, 300);
}

TEST(Scenarios, SameSeedSameSamples) {
  const std::string spec = "tethered(workload=bulk+video,markov_hold_s=0.5)";
  auto a = MakeScenario(spec);
  a->Start(7);
  const auto first = RunFor(*a, 4);
  a->Start(7);  // a restart rebuilds the same network
  const auto again = RunFor(*a, 4);
  a.reset();  // ns-3 runs one simulation per process
  auto b = MakeScenario(spec);
  b->Start(8);
  const auto other = RunFor(*b, 4);
  ASSERT_EQ(first.size(), again.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(LinkSampleValues(first[i]).size(), LinkSampleValues(again[i]).size());
    const auto x = LinkSampleValues(first[i]), y = LinkSampleValues(again[i]);
    for (size_t k = 0; k < x.size(); ++k) {
      if (std::isnan(x[k])) {
        EXPECT_TRUE(std::isnan(y[k]));
      } else {
        EXPECT_EQ(x[k], y[k]) << LinkSampleFields()[k];
      }
    }
  }
  EXPECT_NE(Find(first, "down", "all").capacity_mbps, Find(other, "down", "all").capacity_mbps);
}

TEST(Scenarios, OneNs3SimulationPerProcessIsAClearError) {
  auto a = MakeScenario("tethered(workload=bulk)");
  a->Start(1);
  auto b = MakeScenario("internet(workload=bulk,cross_flows=0)");
  try {
    b->Start(1);
    FAIL() << "a second ns-3 scenario started while the first ran";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("one simulation per process"), std::string::npos);
  }
  RunFor(*a, 1);  // the first one is untouched
  a.reset();
  b->Start(1);  // and once it is gone, the next one starts
  EXPECT_FALSE(RunFor(*b, 1).empty());
  // The fluid backend has no such limit.
  auto c = MakeScenario("tethered(workload=bulk,backend=fluid)");
  c->Start(1);
  EXPECT_FALSE(RunFor(*c, 1).empty());
}

// Every numeric LinkSample member is in the field table (they are all 8 bytes wide).
TEST(LinkSampleTable, CoversEveryNumericField) {
  const size_t numeric = (sizeof(LinkSample) - 2 * sizeof(std::string)) / 8;
  EXPECT_EQ(LinkSampleFields().size(), numeric);
  LinkSample s;
  s.day_of_week = 6;
  s.drops = 3;
  const auto values = LinkSampleValues(s);
  ASSERT_EQ(values.size(), LinkSampleFields().size());
  EXPECT_EQ(values.back(), 6);
  EXPECT_EQ(LinkSampleFields().back(), "day_of_week");
}

TEST(Internet, CrossTrafficAndDiurnalCapacity) {
  auto s = MakeScenario(
      "internet(base_mbps=50,workload=bulk,cross_flows=2,cross_mbps=10,start_hour=21,"
      "diurnal_depth=0.5,noise=0,rtt_ms=60,loss=0)");
  s->Start(1);
  const auto samples = RunFor(*s, 4);
  EXPECT_GT(Find(samples, "down", "cross").packets_offered, 0u);
  EXPECT_GT(Find(samples, "down", "cross").packets_delivered, 0u);
  // 21:00 is the daily peak: half the base capacity.
  EXPECT_NEAR(Find(samples, "down", "all").capacity_mbps, 25.0, 0.5);
  EXPECT_NEAR(Find(samples, "down", "all").hour_of_day, 21.0 + 4.0 / 3600, 1e-9);
}

TEST(Datacenter, IncastTransfersComplete) {
  auto s = MakeScenario("datacenter(link_gbps=1,rtt_ms=0.2,incast_senders=4,incast_kb=100)");
  s->Start(1);
  double flows = 0, fct = 0;
  for (int i = 0; i < 5; ++i) {
    const auto samples = s->Advance(0.1);
    const LinkSample& rx = Find(samples, "rx", "web");
    flows += rx.flows_done;
    if (rx.flows_done > 0) fct = rx.fct_ms;
  }
  EXPECT_GE(flows, 30);  // 4 senders x ~9 rounds of 50 ms
  // 400 KB through a 1 Gbit/s port takes at least 3.2 ms.
  EXPECT_GT(fct, 3.2);
  EXPECT_LT(fct, 50);
  EXPECT_GT(s->counters().events, 0u);
}

// Two bulk flows, the second put in the video class: each class is measured and shaped on its
// own, on both backends (HTB guarantees 2 and 6 Mbit/s, no borrowing).
TEST(Workload, TwoFlowsOfOneKindSitInTwoClasses) {
  for (const std::string backend : {"ns3", "fluid"}) {
    SCOPED_TRACE(backend);
    auto s = MakeScenario(
        "tethered(capacity=constant,constant_mbps=10,rtt_ms=60,workload=[bulk,"
        "bulk:video],backend=" +
        backend + ")");
    s->Start(1);
    RunFor(*s, 10);
    HtbConfig htb;
    htb.link_rate_bps = 9e6;
    htb.classes = {{AppClass::kBulk, 2e6, 2e6, 0},
                   {AppClass::kVideo, 6e6, 6e6, 0},
                   {AppClass::kOther, 1e6, 1e6, 1}};
    s->ApplyShaping("down", htb);
    RunFor(*s, 5);
    EXPECT_NEAR(MeanOver(*s, 10, "down", "bulk", &LinkSample::goodput_mbps), 1.9, 0.25);
    EXPECT_NEAR(MeanOver(*s, 10, "down", "video", &LinkSample::goodput_mbps), 5.8, 0.5);
  }
}

TEST(Workload, ItemGrammarTakesSuffixesInAnyOrderAndNamesBadOnes) {
  const auto items = ParseWorkload("bulk*2@bbr/up:other, video:web*3, gaming", "cubic", "workload");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].app, AppClass::kBulk);
  EXPECT_EQ(items[0].app_class, AppClass::kOther);
  EXPECT_EQ(items[0].count, 2);
  EXPECT_EQ(items[0].tcp, "bbr");
  EXPECT_EQ(items[0].direction, "up");
  EXPECT_EQ(items[1].app, AppClass::kVideo);
  EXPECT_EQ(items[1].app_class, AppClass::kWeb);
  EXPECT_EQ(items[1].count, 3);
  EXPECT_EQ(items[1].tcp, "cubic");
  EXPECT_EQ(items[2].app_class, AppClass::kGaming);
  auto error = [](const std::string& spec) {
    return ErrorOf([&] { ParseWorkload(spec, "cubic", "workload"); });
  };
  EXPECT_NE(error("bulk:cross").find("'cross' is the cross traffic's own"), std::string::npos);
  EXPECT_NE(error("bulk:voice").find("workload item 'bulk:voice' class = 'voice'"),
            std::string::npos);
  EXPECT_NE(error("other:bulk").find("'other' is not an application"), std::string::npos);
  EXPECT_NE(error("bulk*2*3").find("'*' given twice"), std::string::npos);
  EXPECT_NE(error("bulk/sideways").find("direction 'sideways'"), std::string::npos);
}

TEST(Scenarios, BadParametersFailBeforeTheRun) {
  EXPECT_NE(ErrorOf([] {
              MakeScenario("tethered(capacity=trace,trace=/nonexistent.down)");
            }).find("not found"),
            std::string::npos);
  const std::string bad = ::testing::TempDir() + "/bad.down";
  std::ofstream(bad) << "1\n2\nx\n";
  EXPECT_EQ(ErrorOf([&] { MakeScenario("tethered(capacity=trace,trace=" + bad + ")"); }),
            bad + ":3: 'x' is not an integer millisecond timestamp");
  EXPECT_NE(ErrorOf([] { MakeScenario("tethered(workload=bulk+telnet)"); }).find("telnet"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { MakeScenario("tethered(workload=bulk@vegas)"); }).find("vegas"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { MakeScenario("tethered(rtt_ms=-5)"); }).find("rtt_ms"), std::string::npos);
  EXPECT_NE(ErrorOf([] {
              MakeScenario("tethered(constant_mbps=0,capacity=constant)");
            }).find("constant_mbps"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { MakeScenario("tethered(rtt_ms=2)"); }).find("shorter"), std::string::npos);
  EXPECT_NE(ErrorOf([] { MakeScenario("lunar"); }).find("known: datacenter, internet, tethered"),
            std::string::npos);
}

}  // namespace
}  // namespace linklab::sim
