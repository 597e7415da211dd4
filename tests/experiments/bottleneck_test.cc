// The emulated cellular bottleneck (label `live`): namespaces near, link and far, the downlink
// shaped by an HTB class whose rate follows a capacity series over a deep pfifo. Needs root,
// network namespaces, sch_htb, iperf3 and ping; skipped, saying which is missing, elsewhere.

#include "experiments/bottleneck.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <thread>

#include "experiments/process.h"
#include "tests/test_util.h"

namespace linklab::experiments {
namespace {

std::vector<std::string> OurNamespaces() { return testing::OwnNamespaces("linklab-lab-"); }

// What `ip netns list` says, for the same check through the tool users run.
std::string IpNetnsList() { return Run({FindProgram("ip"), "netns", "list"}); }

TEST(BottleneckHelpers, PercentileInterpolates) {
  EXPECT_TRUE(std::isnan(Percentile({}, 0.5)));
  EXPECT_DOUBLE_EQ(Percentile({3.0}, 0.95), 3.0);
  EXPECT_DOUBLE_EQ(Percentile({4.0, 1.0, 3.0, 2.0}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Percentile({1.0, 2.0, 3.0, 4.0, 5.0}, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(Percentile({1.0, 2.0, 3.0, 4.0, 5.0}, 0.0), 1.0);
  EXPECT_THROW(Percentile({1.0}, 1.5), std::invalid_argument);
}

TEST(BottleneckHelpers, ParsesPing) {
  const std::string text =
      "PING 10.214.0.6 (10.214.0.6) 56(84) bytes of data.\n"
      "64 bytes from 10.214.0.6: icmp_seq=1 ttl=63 time=0.061 ms\n"
      "64 bytes from 10.214.0.6: icmp_seq=2 ttl=63 time=120 ms\n"
      "64 bytes from 10.214.0.6: icmp_seq=4 ttl=63 time=80.5 ms\n"
      "\n--- 10.214.0.6 ping statistics ---\n"
      "4 packets transmitted, 3 received, 25% packet loss, time 301ms\n"
      "rtt min/avg/max/mdev = 0.061/66.8/120/49.6 ms\n";
  const PingResult r = ParsePing(text, 4);
  ASSERT_EQ(r.rtt_ms.size(), 3u);
  EXPECT_DOUBLE_EQ(r.rtt_ms[1], 120.0);
  EXPECT_DOUBLE_EQ(r.p50_ms, 80.5);
  EXPECT_DOUBLE_EQ(r.loss_fraction, 0.25);
}

TEST(BottleneckHelpers, ParsesIperfReport) {
  const std::string json = R"({"start":{},"end":{"sum_sent":{"retransmits":7},)"
                           R"("sum_received":{"seconds":10.0,"bits_per_second":9.5e6},)"
                           R"("sender_tcp_congestion":"cubic"}})";
  const FlowResult f = ParseIperfReport(json, 5201, "iperf3");
  EXPECT_DOUBLE_EQ(f.mbps, 9.5);
  EXPECT_EQ(f.retransmits, 7);
  EXPECT_EQ(f.tcp, "cubic");
  EXPECT_THROW(ParseIperfReport(R"({"error":"unable to connect"})", 5201, "iperf3"),
               std::runtime_error);
  EXPECT_THROW(ParseIperfReport("not json", 5201, "iperf3"), std::runtime_error);
}

TEST(BottleneckHelpers, SyntheticSeriesIsDeterministicAndInRange) {
  const std::vector<double> a = SyntheticCellularSeriesMbps(30.0, 0.1, 1);
  EXPECT_EQ(a.size(), 300u);
  EXPECT_EQ(a, SyntheticCellularSeriesMbps(30.0, 0.1, 1));
  EXPECT_NE(a, SyntheticCellularSeriesMbps(30.0, 0.1, 2));
  const auto [lo, hi] = std::minmax_element(a.begin(), a.end());
  EXPECT_GE(*lo, 4.0);
  EXPECT_LE(*hi, 20.0);
  EXPECT_GT(*hi - *lo, 6.0);  // it varies: steps and ramps, not a constant
}

TEST(Process, ChildExitCodesSignalsAndOutput) {
  Child ok({FindProgram("sh"), "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(ok.Wait(10.0));
  EXPECT_EQ(ok.exit_code(), 3);
  EXPECT_EQ(ok.Out(), "out\n");
  EXPECT_EQ(ok.Err(), "err\n");
  EXPECT_NE(ok.Failure().find("exit 3"), std::string::npos);
  Child sleeper({FindProgram("sleep"), "30"});
  EXPECT_GT(sleeper.pid(), 0);
  EXPECT_TRUE(sleeper.Running());
  sleeper.SendSignal(SIGUSR1);  // its default action ends it
  ASSERT_TRUE(sleeper.Wait(10.0));
  EXPECT_EQ(sleeper.exit_code(), 128 + SIGUSR1);
  EXPECT_THROW(experiments::Run({FindProgram("sh"), "-c", "exit 1"}), std::runtime_error);
  EXPECT_THROW(experiments::Run({FindProgram("sleep"), "5"}, 0.2), std::runtime_error);
  EXPECT_EQ(experiments::Run({FindProgram("sh"), "-c", "echo hi"}), "hi\n");
}

TEST(Process, StopSignalInterruptsWaits) {
  SignalGuard guard;
  EXPECT_EQ(PendingStopSignal(), 0);
  raise(SIGTERM);  // only sets the flag while the guard lives
  EXPECT_EQ(PendingStopSignal(), SIGTERM);
  try {
    Sleep(5.0);
    ADD_FAILURE() << "Sleep did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("interrupted by signal"), std::string::npos);
  }
}

TEST(BottleneckHelpers, BadOptionsAreErrors) {
  BottleneckOptions o;
  o.capacity_mbps = {};
  EXPECT_THROW(EmulatedBottleneck{o}, std::invalid_argument);
  o.capacity_mbps = {10.0, -1.0};
  EXPECT_THROW(EmulatedBottleneck{o}, std::invalid_argument);
  o.capacity_mbps = {10.0};
  o.step_s = 0.0;
  EXPECT_THROW(EmulatedBottleneck{o}, std::invalid_argument);
  o.step_s = 0.1;
  o.buffer_packets = 0;
  EXPECT_THROW(EmulatedBottleneck{o}, std::invalid_argument);
}

class Bottleneck : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = BottleneckMissing();
    if (!missing.empty()) GTEST_SKIP() << "the emulated bottleneck cannot run here: " << missing;
  }
  void TearDown() override { EXPECT_TRUE(OurNamespaces().empty()) << "namespaces left behind"; }
};

// A constant 10 Mbit/s with a 1000-packet buffer: one Cubic flow fills the link, and the
// buffer it fills delays a ping far beyond the idle RTT (bufferbloat: 1000 packets are 1.2 s).
TEST_F(Bottleneck, ConstantRateFillsTheLinkAndItsBuffer) {
  std::string names;
  {
    BottleneckOptions o;
    o.capacity_mbps = {10.0};
    EmulatedBottleneck b(o);
    EXPECT_LE(b.near_dev().size(), 15u);
    names = b.near_ns();
    EXPECT_NE(IpNetnsList().find(b.near_ns()), std::string::npos);
    const PingResult idle = b.Ping(20, 0.1);
    ASSERT_GE(idle.rtt_ms.size(), 18u);
    LoadOptions load;
    load.ports = {5201};
    load.duration_s = 10.0;
    const LoadResult r = b.RunLoad(load);
    ASSERT_EQ(r.flows.size(), 1u);
    EXPECT_EQ(r.flows[0].tcp, "cubic");
    EXPECT_GE(r.flows[0].mbps, 8.5);
    EXPECT_LE(r.flows[0].mbps, 10.5);
    EXPECT_GT(r.ping.p95_ms, 50.0) << "idle p95 " << idle.p95_ms << " ms";
    EXPECT_GT(r.ping.p95_ms, 10.0 * idle.p95_ms);
    std::printf(
        "[ info ] 10 Mbit/s: flow %.2f Mbit/s, ping p50/p95 idle %.3f/%.3f ms, loaded "
        "%.1f/%.1f ms (%zu replies of %d)\n",
        r.flows[0].mbps, idle.p50_ms, idle.p95_ms, r.ping.p50_ms, r.ping.p95_ms,
        r.ping.rtt_ms.size(), r.ping.sent);
    EXPECT_DOUBLE_EQ(b.CurrentCapacityMbps(), 10.0);
    EXPECT_DOUBLE_EQ(b.MeanCapacityMbps(), 10.0);
    EXPECT_EQ(b.AppliedCapacity().size(), 1u);  // a constant series changes nothing
  }
  EXPECT_EQ(IpNetnsList().find(names), std::string::npos);
}

// 5 and 15 Mbit/s alternating every second: the thread applies both, and the flow's
// throughput lies between them (about their mean).
TEST_F(Bottleneck, AlternatingRateIsFollowed) {
  BottleneckOptions o;
  o.capacity_mbps = std::vector<double>(10, 5.0);
  o.capacity_mbps.resize(20, 15.0);
  o.step_s = 0.1;
  EmulatedBottleneck b(o);
  EXPECT_DOUBLE_EQ(b.MeanCapacityMbps(), 10.0);
  LoadOptions load;
  load.ports = {5201};
  load.duration_s = 10.0;
  const LoadResult r = b.RunLoad(load);
  ASSERT_EQ(r.flows.size(), 1u);
  EXPECT_GT(r.flows[0].mbps, 5.0);
  EXPECT_LT(r.flows[0].mbps, 15.0);
  const std::vector<CapacityChange> applied = b.AppliedCapacity();
  bool five = false, fifteen = false;
  for (const CapacityChange& c : applied) {
    five = five || c.mbps == 5.0;
    fifteen = fifteen || c.mbps == 15.0;
  }
  EXPECT_TRUE(five && fifteen);
  // About one change a second over the run (the load's ~11 s), each on time within 100 ms.
  EXPECT_GE(applied.size(), 10u);
  for (size_t i = 1; i < applied.size(); ++i) {
    EXPECT_NEAR(applied[i].t_s, std::round(applied[i].t_s), 0.1) << "change " << i;
  }
  std::printf(
      "[ info ] 5/15 Mbit/s: flow %.2f Mbit/s, %zu changes, mean applied %.2f Mbit/s, "
      "ping p95 %.1f ms\n",
      r.flows[0].mbps, applied.size(), b.MeanAppliedMbps(0.0, b.ElapsedS()), r.ping.p95_ms);
}

// SIGINT during a load: the wait throws, naming the signal, and everything goes (the flows'
// children with their owners, the namespaces with the bottleneck).
TEST_F(Bottleneck, AnInterruptedLoadRemovesWhatItMade) {
  std::string error;
  try {
    EmulatedBottleneck b(BottleneckOptions{});
    std::thread interrupt([] {
      std::this_thread::sleep_for(std::chrono::seconds(2));
      std::raise(SIGINT);
    });
    try {
      LoadOptions load;
      load.duration_s = 10.0;
      b.RunLoad(load);
    } catch (...) {
      interrupt.join();
      throw;
    }
    interrupt.join();
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  EXPECT_NE(error.find("interrupted by signal 2"), std::string::npos) << error;
}

// Two bottlenecks at once (other namespaces and device names), both removed.
TEST_F(Bottleneck, TwoAtOnceAndProgramsInNamespaces) {
  EmulatedBottleneck a(BottleneckOptions{});
  EmulatedBottleneck b(BottleneckOptions{});
  EXPECT_NE(a.near_ns(), b.near_ns());
  EXPECT_NE(a.near_dev(), b.near_dev());
  auto child = a.Spawn(a.near_ns(), {"ip", "-o", "addr", "show", "dev", a.near_dev()});
  ASSERT_TRUE(child->Wait(10.0));
  EXPECT_EQ(child->exit_code(), 0) << child->Failure();
  EXPECT_NE(child->Out().find(a.near_ip() + "/30"), std::string::npos) << child->Out();
  EXPECT_GT(child->pid(), 0);
}

// The series starts again from its first value; HTTP reaches a server on a namespace's
// loopback (how `linklab bench live` scrapes linklab-live's /metrics).
TEST_F(Bottleneck, RestartsTheSeriesAndReachesLoopbackServers) {
  BottleneckOptions o;
  o.capacity_mbps = {5.0, 15.0};
  o.step_s = 0.2;
  EmulatedBottleneck b(o);
  Sleep(0.7);
  EXPECT_GE(b.AppliedCapacity().size(), 3u);
  b.RestartSeries();
  EXPECT_EQ(b.AppliedCapacity().size(), 1u);
  EXPECT_DOUBLE_EQ(b.CurrentCapacityMbps(), 5.0);
  EXPECT_LT(b.ElapsedS(), 0.1);
  Sleep(0.3);
  EXPECT_DOUBLE_EQ(b.CurrentCapacityMbps(), 15.0);
  EXPECT_NEAR(b.MeanAppliedMbps(0.0, 0.4), 10.0, 1.0);

  EXPECT_THROW(HttpGetInNamespace(b.near_ns(), "127.0.0.1", 8123, "/", 1.0), std::runtime_error);
  const std::string python = FindProgram("python3");
  if (python.empty()) GTEST_SKIP() << "python3 not found: no HTTP server to reach";
  auto server = b.Spawn(b.near_ns(), {python, "-m", "http.server", "--bind", "127.0.0.1", "8123",
                                      "--directory", "/"});
  HttpResponse r;
  for (int i = 0; i < 100 && r.status == 0; ++i) {
    try {
      r = HttpGetInNamespace(b.near_ns(), "127.0.0.1", 8123, "/", 1.0);
    } catch (const std::runtime_error&) {
      Sleep(0.1);
    }
  }
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("etc/"), std::string::npos) << r.body.substr(0, 200);
}

}  // namespace
}  // namespace linklab::experiments
