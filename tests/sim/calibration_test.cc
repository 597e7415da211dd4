// The fluid backend held to ns-3: the same scenario config on both backends, one minute of
// traffic; throughput within 10 % and p95 delay within 25 % on the bottleneck direction. The
// scenarios here use capacities the test makes itself; `linklab bench sim` adds the real
// traces from ../shared/data when present (figures and divergences in the README).

#include "sim/calibration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>

#include "core/registry.h"
#include "core/rng.h"
#include "sim/fluid/fluid_model.h"
#include "sim/scenario.h"

namespace linklab::sim {
namespace {

struct Figures {
  double mbps = 0, p95_ms = 0;
  std::map<std::string, double> class_mbps;  // per class with traffic
};

Figures RunBackend(const std::string& spec, const std::string& backend, double seconds = 60.0) {
  auto s = MakeScenario(core::Spec::Parse(spec, "scenario spec").Set("backend", backend).Text());
  s->Start(1);
  Figures out;
  bool found = false;
  for (const LinkSample& x : s->Advance(seconds)) {
    if (x.link != "down") continue;
    const double mbps = x.bytes_delivered * 8e-6 / seconds;
    if (x.app_class == "all") {
      out.mbps = mbps;
      out.p95_ms = x.delay_p95_ms;
      found = true;
    } else {
      out.class_mbps[x.app_class] = mbps;
    }
  }
  if (!found) throw std::runtime_error("no down/all sample");
  return out;
}

// Bars: relative errors of throughput, p95 delay and (if > 0) each class's share of the
// throughput, as a fraction of the total.
struct Bars {
  double mbps = 0.10, p95 = 0.25, share = 0.0;
};

// Runs `spec` for `seconds` on both backends, checks the bars and returns the fluid figures.
Figures ExpectCalibrated(const std::string& spec, Bars bars = {}, double seconds = 60.0) {
  const Figures ns3 = RunBackend(spec, "ns3", seconds), fluid = RunBackend(spec, "fluid", seconds);
  std::cout << "[calibration] " << spec << ": throughput ns-3 " << ns3.mbps << " fluid "
            << fluid.mbps << " Mbit/s; p95 ns-3 " << ns3.p95_ms << " fluid " << fluid.p95_ms
            << " ms";
  for (const auto& [c, mbps] : ns3.class_mbps) {
    std::cout << "; " << c << " share ns-3 " << mbps / ns3.mbps << " fluid "
              << fluid.class_mbps.at(c) / fluid.mbps;
  }
  std::cout << "\n";
  EXPECT_NEAR(fluid.mbps / ns3.mbps, 1.0, bars.mbps)
      << spec << ": ns-3 " << ns3.mbps << " Mbit/s, fluid " << fluid.mbps;
  EXPECT_NEAR(fluid.p95_ms / ns3.p95_ms, 1.0, bars.p95)
      << spec << ": ns-3 p95 " << ns3.p95_ms << " ms, fluid " << fluid.p95_ms;
  if (bars.share <= 0) return fluid;
  for (const auto& [c, mbps] : ns3.class_mbps) {
    EXPECT_NEAR(fluid.class_mbps.at(c) / fluid.mbps, mbps / ns3.mbps, bars.share)
        << spec << ": class " << c << " share";
  }
  return fluid;
}

double Share(const Figures& f, const std::string& app_class) {
  return f.class_mbps.at(app_class) / f.mbps;
}

TEST(Calibration, TetheredConstantCapacityBulk) {
  ExpectCalibrated("tethered(capacity=constant,constant_mbps=10,workload=bulk)");
}

TEST(Calibration, TetheredMarkovCapacityBulkAndVideo) {
  ExpectCalibrated("tethered(capacity=markov,workload=[bulk,video])");
}

// A synthetic LTE-like trace: 2-12 Mbit/s, changing every 500 ms, 60 s period.
std::string SyntheticLteTrace() {
  const std::string path = ::testing::TempDir() + "/calibration.down";
  std::ofstream f(path);
  core::Rng rng(5);
  for (int block = 0; block < 120; ++block) {
    const double mbps = rng.Uniform(2.0, 12.0);
    const int per_500ms = static_cast<int>(mbps * 1e6 / 8 / 1500 / 2);
    for (int k = 0; k < per_500ms; ++k) f << block * 500 + 1 + k * 500 / per_500ms << "\n";
  }
  return path;
}

TEST(Calibration, TetheredMahimahiTrace) {
  ExpectCalibrated(core::Spec("tethered", "scenario spec")
                       .Set("capacity", "trace")
                       .Set("trace", SyntheticLteTrace())
                       .Set("workload", "bulk")
                       .Text());
}

// Per class: the default application mix over the synthetic trace, unshaped and under the
// three HTB configs of `linklab bench sim`'s per-class rows (sim/calibration.h). Every figure
// is printed; the ones listed must meet their targets (throughput 10 %, the rest 25 %) and
// met them here with room (within 0.6 of the target). The README names the others: the
// borrowing classes' throughput and p95 delay, gaming RTT p95 under shaping, web p95 delay.
TEST(Calibration, PerClassDefaultMixUnshapedAndUnderHtb) {
  const std::string spec = core::Spec("tethered", "scenario spec")
                               .Set("capacity", "trace")
                               .Set("trace", SyntheticLteTrace())
                               .Text();
  const std::map<std::string, std::vector<std::pair<std::string, std::string>>> must_meet = {
      {"none",
       {{"bulk", "throughput_mbps"},
        {"bulk", "delay_p95_ms"},
        {"video", "throughput_mbps"},
        {"video", "delay_p95_ms"},
        {"video", "video_bitrate_kbps"},
        {"video", "video_stall_s"},
        {"gaming", "throughput_mbps"},
        {"gaming", "delay_p95_ms"},
        {"gaming", "rtt_p95_ms"},
        {"gaming", "game_loss_rate"},
        {"web", "throughput_mbps"},
        {"web", "fct_ms"}}},
      {"htb_below_capacity",
       {{"bulk", "throughput_mbps"},
        {"video", "throughput_mbps"},
        {"video", "delay_p95_ms"},
        {"video", "video_bitrate_kbps"},
        {"video", "video_stall_s"},
        {"gaming", "throughput_mbps"},
        {"gaming", "delay_p95_ms"},
        {"web", "fct_ms"}}},
      {"htb_borrowing",
       {{"video", "video_bitrate_kbps"},
        {"video", "video_stall_s"},
        {"gaming", "throughput_mbps"},
        {"gaming", "delay_p95_ms"},
        {"web", "throughput_mbps"},
        {"web", "fct_ms"}}},
      {"htb_two_prios",
       {{"bulk", "throughput_mbps"},
        {"video", "throughput_mbps"},
        {"video", "delay_p95_ms"},
        {"video", "video_bitrate_kbps"},
        {"video", "video_stall_s"},
        {"gaming", "throughput_mbps"},
        {"gaming", "delay_p95_ms"},
        {"gaming", "game_loss_rate"},
        {"web", "throughput_mbps"},
        {"web", "fct_ms"}}},
  };
  std::vector<std::pair<std::string, HtbConfig>> cases = ClassShapingCases(7.0);
  cases.insert(cases.begin(), {"none", HtbConfig{}});
  for (const auto& [name, htb] : cases) {
    const std::vector<ClassComparison> rows =
        CompareClasses(spec, name == "none" ? nullptr : &htb, 60.0);
    for (const ClassComparison& c : rows) {
      std::cout << "[calibration class] " << name << " " << c.app_class << ":";
      for (const MetricComparison& m : c.metrics) {
        std::cout << " " << m.name << " ns-3 " << m.ns3 << " fluid " << m.fluid
                  << (m.met ? "" : " (miss)");
      }
      std::cout << "\n";
    }
    for (const auto& [cls, metric] : must_meet.at(name)) {
      const auto row = std::find_if(rows.begin(), rows.end(),
                                    [&](const ClassComparison& c) { return c.app_class == cls; });
      ASSERT_NE(row, rows.end()) << name << ": no class " << cls;
      const MetricComparison& m = row->Metric(metric);
      EXPECT_TRUE(m.met) << name << " " << cls << " " << metric << ": ns-3 " << m.ns3 << ", fluid "
                         << m.fluid << " (target " << m.target << ")";
    }
  }
}

TEST(Calibration, InternetWithCrossTraffic) {
  ExpectCalibrated(
      "internet(workload=bulk,capacity=constant,base_mbps=50,cross_mbps=5,loss=0,rtt_ms=60)");
}

// A short fast path: the fluid step follows the RTT (a quarter of 6 ms, not the 20 ms default,
// which lost 5 % of the throughput and half the queueing delay here).
TEST(Calibration, ShortRttFastPath) {
  ExpectCalibrated(
      "internet(workload=bulk,capacity=constant,base_mbps=200,cross_flows=0,loss=0,rtt_ms=6)", {},
      15.0);
}

// Queue discs above the bottleneck buffer (ns-3's own, with their defaults): a bulk and a video
// flow through a constant 10 Mbit/s cellular link.
TEST(Calibration, BottleneckFifo) {
  ExpectCalibrated(
      "tethered(capacity=constant,constant_mbps=10,workload=[bulk,video],bottleneck_qdisc=fifo)");
}

TEST(Calibration, BottleneckCodel) {
  ExpectCalibrated(
      "tethered(capacity=constant,constant_mbps=10,workload=[bulk,video],bottleneck_qdisc=codel)");
}

// FQ-CoDel's per-flow fair share lifts the video flow's share over a FIFO's, on both backends.
TEST(Calibration, BottleneckFqCodel) {
  const Figures fq = ExpectCalibrated(
      "tethered(capacity=constant,constant_mbps=10,workload=[bulk,video],"
      "bottleneck_qdisc=fq_codel)",
      {0.10, 0.25, 0.10});
  const Figures fifo = RunBackend(
      "tethered(capacity=constant,constant_mbps=10,workload=[bulk,video],bottleneck_qdisc=fifo)",
      "fluid");
  EXPECT_GT(Share(fq, "video"), Share(fifo, "video"));
}

TEST(Calibration, BottleneckPie) {
  ExpectCalibrated(
      "tethered(capacity=constant,constant_mbps=10,workload=[bulk,video],bottleneck_qdisc=pie)");
}

TEST(Calibration, BottleneckRed) {
  ExpectCalibrated(
      "tethered(capacity=constant,constant_mbps=10,workload=[bulk,video],bottleneck_qdisc=red)");
}

// Queue discs at the shaping point where the tether hop (8 Mbit/s) is the bottleneck: the
// disc sits above the phone's 100-packet device queue toward the laptop.
TEST(Calibration, ShapingFifoAtTetherBottleneck) {
  ExpectCalibrated(
      "tethered(capacity=constant,constant_mbps=20,tether_mbps=8,workload=[bulk*2,video],"
      "qdisc=fifo)");
}

// FQ-CoDel at the shaping point (above the phone's 100-packet device FIFO) gives video a
// share within 10 % of ns-3's and lifts it well over a FIFO's.
TEST(Calibration, ShapingFqCodelAtTetherBottleneck) {
  const Figures fq = ExpectCalibrated(
      "tethered(capacity=constant,constant_mbps=20,tether_mbps=8,workload=[bulk*2,video],"
      "qdisc=fq_codel)",
      {0.10, 0.25, 0.10});
  const Figures fifo = RunBackend(
      "tethered(capacity=constant,constant_mbps=20,tether_mbps=8,workload=[bulk*2,video],"
      "qdisc=fifo)",
      "fluid");
  EXPECT_GT(Share(fq, "video"), 2 * Share(fifo, "video"));
}

TEST(Calibration, DatacenterIncastThroughputAndCompletions) {
  // Throughput at the incast receiver and completed transfers match; delays do not yet (the
  // README lists the divergence).
  const core::Spec spec = core::Spec::Parse("datacenter(link_gbps=1,rtt_ms=0.2)", "scenario spec");
  double mbps[2] = {0, 0}, flows[2] = {0, 0};
  const char* backends[2] = {"ns3", "fluid"};
  for (int b = 0; b < 2; ++b) {
    auto s = MakeScenario(core::Spec(spec).Set("backend", backends[b]).Text());
    s->Start(1);
    for (const LinkSample& x : s->Advance(1.0)) {
      if (x.link == "rx" && x.app_class == "all") {
        mbps[b] = x.bytes_delivered * 8e-6;
        flows[b] = x.flows_done;
      }
    }
  }
  EXPECT_NEAR(mbps[1] / mbps[0], 1.0, 0.10);
  EXPECT_EQ(flows[1], flows[0]);
  EXPECT_GT(flows[0], 100);
}

TEST(Calibration, TetheredOutageResumesAndDeliversAsNs3) {
  // 10 Mbit/s with a 5 s outage at 20 s: both backends time out during it (RTO 1 s, then 2 s)
  // and resume when the link returns; bytes over 40 s within 10 %.
  const std::string path = ::testing::TempDir() + "/outage.down";
  {
    std::ofstream f(path);
    double acc = 0;
    for (int ms = 1; ms <= 60000; ++ms) {
      if (ms >= 20000 && ms < 25000) continue;
      for (acc += 10e6 / 8 / 1500 / 1000; acc >= 1; acc -= 1) f << ms << "\n";
    }
  }
  const std::string spec = core::Spec("tethered", "scenario spec")
                               .Set("capacity", "trace")
                               .Set("trace", path)
                               .Set("workload", "bulk")
                               .Text();
  double mb[2] = {0, 0}, resume_s[2] = {-1, -1};
  const char* backends[2] = {"ns3", "fluid"};
  for (int b = 0; b < 2; ++b) {
    auto s =
        MakeScenario(core::Spec::Parse(spec, "scenario spec").Set("backend", backends[b]).Text());
    s->Start(1);
    for (int k = 1; k <= 400; ++k) {
      for (const LinkSample& x : s->Advance(0.1)) {
        if (x.link != "down" || x.app_class != "all") continue;
        mb[b] += x.bytes_delivered * 8e-6;
        if (k * 0.1 > 21 && resume_s[b] < 0 && x.bytes_delivered > 0) resume_s[b] = k * 0.1;
      }
    }
  }
  EXPECT_NEAR(resume_s[0], 25.0, 0.5);
  EXPECT_NEAR(resume_s[1], resume_s[0], 0.25) << "ns-3 resumes at " << resume_s[0] << " s";
  EXPECT_NEAR(mb[1] / mb[0], 1.0, 0.10) << "ns-3 " << mb[0] << " Mb, fluid " << mb[1];
}

TEST(Calibration, DatacenterIncastCollapseWithSmallBuffer) {
  // 15 senders into a 50-packet port: on ns-3 retransmission timeouts (1 s minimum RTO) leave
  // rounds unfinished; the fluid's timeouts give the same throughput within 10 % (before them
  // the fluid finished every transfer at 618 Mbit/s against ns-3's 431-459). Against the
  // median of three ns-3 seeds (the collapse depends on which packets a seed drops; the fluid
  // backend draws nothing here).
  const core::Spec spec = core::Spec::Parse(
      "datacenter(link_gbps=1,rtt_ms=0.2,hosts_per_rack=8,incast_senders=15,buffer_packets=50)",
      "scenario spec");
  auto run = [&](const std::string& backend, uint64_t seed) {
    auto s = MakeScenario(core::Spec(spec).Set("backend", backend).Text());
    s->Start(seed);
    for (const LinkSample& x : s->Advance(1.0)) {
      if (x.link == "rx" && x.app_class == "all") {
        return std::make_pair(x.bytes_delivered * 8e-6, x.flows_done);
      }
    }
    throw std::runtime_error("no rx/all sample");
  };
  std::vector<std::pair<double, double>> ns3;
  for (uint64_t seed : {1, 2, 3}) ns3.push_back(run("ns3", seed));
  std::sort(ns3.begin(), ns3.end());
  const auto [ns3_mbps, ns3_flows] = ns3[1];
  const auto [fluid_mbps, fluid_flows] = run("fluid", 1);
  EXPECT_NEAR(fluid_mbps / ns3_mbps, 1.0, 0.10) << "ns-3 " << ns3_mbps << ", fluid " << fluid_mbps;
  // 20 rounds of 15 transfers: both lose a good part of them.
  EXPECT_LT(ns3_flows, 200);
  EXPECT_LT(fluid_flows, 200);
  EXPECT_NEAR(fluid_flows / ns3_flows, 1.0, 0.4)
      << "ns-3 " << ns3_flows << ", fluid " << fluid_flows;
}

TEST(FluidRto, Rfc6298Arithmetic) {
  fluid::RtoEstimator r;
  EXPECT_DOUBLE_EQ(r.rto_s, 1.0);  // before any sample
  r.Sample(0.1);                   // SRTT = R, RTTVAR = R/2: 0.1 + 0.2, raised to the 1 s minimum
  EXPECT_DOUBLE_EQ(r.srtt_s, 0.1);
  EXPECT_DOUBLE_EQ(r.rttvar_s, 0.05);
  EXPECT_DOUBLE_EQ(r.rto_s, 1.0);
  fluid::RtoEstimator e;
  e.Sample(1.0);
  EXPECT_DOUBLE_EQ(e.rto_s, 3.0);
  e.Sample(3.0);  // err 2: RTTVAR = 3/4 0.5 + 1/4 2, SRTT = 1 + 2 / 8
  EXPECT_NEAR(e.rttvar_s, 0.875, 1e-12);
  EXPECT_NEAR(e.srtt_s, 1.25, 1e-12);
  EXPECT_NEAR(e.rto_s, 1.25 + 4 * 0.875, 1e-12);
  e.Backoff();
  EXPECT_NEAR(e.rto_s, 9.5, 1e-12);
  for (int i = 0; i < 10; ++i) e.Backoff();
  EXPECT_DOUBLE_EQ(e.rto_s, 60.0);  // capped
  e.Sample(1.25);                   // a sample clears the backoff
  EXPECT_NEAR(e.rto_s, 1.25 + 4 * 0.65625, 1e-12);
  fluid::RtoEstimator g;  // steady samples: RTTVAR decays to the 1 ms granularity
  for (int i = 0; i < 200; ++i) g.Sample(2.0);
  EXPECT_NEAR(g.rto_s, 2.0 + 0.001, 1e-6);
}

TEST(FluidRto, WholeWindowLostTimesOutAndBacksOff) {
  // A flow whose window is dropped and nothing delivered waits for its timer, then restarts
  // from one segment; an unrepaired wait backs off to 2 s.
  fluid::Flow f;
  f.cc = fluid::Cc::kNewReno;
  f.to_send = 1e6;
  f.rtt_s = 0.05;
  double t = 0.0;
  const double dt = 0.01;
  f.delivered_step = 0;
  f.dropped_step = fluid::Send(f, dt);  // all of the first step is lost
  ASSERT_GT(f.dropped_step, 0);
  f.loss_seen_s = t;
  for (t = dt; t < 0.99; t += dt) {
    fluid::React(f, t);
    f.dropped_step = f.delivered_step = 0;
    if (t > 0.1) {
      EXPECT_EQ(fluid::Send(f, dt), 0.0) << "at " << t;
    }
  }
  EXPECT_EQ(f.timeouts, 0);
  fluid::React(f, 1.0 + dt);
  EXPECT_EQ(f.timeouts, 1);
  EXPECT_DOUBLE_EQ(f.cwnd, f.mss);
  EXPECT_DOUBLE_EQ(f.ssthresh, 2 * f.mss);  // half the two lost segments, at least 2 MSS
  EXPECT_DOUBLE_EQ(f.rto.rto_s, 2.0);
  EXPECT_NEAR(fluid::Send(f, 1.0), f.mss * f.wire, 1e-9);  // one segment, then nothing
  EXPECT_EQ(fluid::Send(f, 1.0), 0.0);
}

TEST(Calibration, FluidShapingCutsDelayAsNs3Does) {
  // The shaping win of the ns-3 test, on the fluid backend.
  auto s = MakeScenario(
      "tethered(capacity=constant,constant_mbps=10,workload=bulk,rtt_ms=60,backend=fluid)");
  s->Start(1);
  s->Advance(20);  // Cubic has filled the cellular buffer
  double before = 0;
  for (const auto& x : s->Advance(5)) {
    if (x.link == "down" && x.app_class == "bulk") before = x.delay_p50_ms;
  }
  HtbConfig htb;
  htb.link_rate_bps = 9e6;
  htb.classes = {{AppClass::kBulk, 8e6, 9e6, 0}, {AppClass::kOther, 1e6, 9e6, 1}};
  htb.class_queue_packets = 30;
  s->ApplyShaping("down", htb);
  s->Advance(10);
  for (const auto& x : s->Advance(5)) {
    if (x.link == "down" && x.app_class == "bulk") {
      EXPECT_LT(x.delay_p50_ms, before / 2) << "before " << before;
      EXPECT_NEAR(x.bytes_delivered * 8e-6 / 5, 9.0, 0.5);
    }
  }
}

}  // namespace
}  // namespace linklab::sim
