// Workload applications on a two-node point-to-point path (10 Mbit/s, 20 ms one way unless
// a test says otherwise): throughput, direction, DSCP marks, video ABR and stalls, gaming
// echoes, web completion times and determinism.

#include "sim/ns3/apps.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ns3/application.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/ipv4-address-helper.h"
#include "ns3/ipv4-header.h"
#include "ns3/point-to-point-helper.h"
#include "ns3/ppp-header.h"
#include "ns3/simulator.h"
#include "ns3/string.h"

namespace linklab::sim {
namespace {

// Two nodes (client 0, server 1) joined by one point-to-point link.
struct TestPath {
  ns3::NodeContainer nodes;
  ns3::NetDeviceContainer devices;  // client's, server's
  AppEndpoints ends;
};

TestPath MakePath(const std::string& rate, const std::string& delay = "20ms") {
  TestPath path;
  path.nodes.Create(2);
  ns3::PointToPointHelper p2p;
  p2p.SetDeviceAttribute("DataRate", ns3::StringValue(rate));
  p2p.SetChannelAttribute("Delay", ns3::StringValue(delay));
  path.devices = p2p.Install(path.nodes);
  ns3::InternetStackHelper().Install(path.nodes);
  ns3::Ipv4AddressHelper addresses;
  addresses.SetBase("10.1.1.0", "255.255.255.0");
  ns3::Ipv4InterfaceContainer interfaces = addresses.Assign(path.devices);
  path.ends = {path.nodes.Get(0), path.nodes.Get(1), interfaces.GetAddress(0),
               interfaces.GetAddress(1)};
  return path;
}

WorkloadItem Item(AppClass app_class, const std::string& tcp = "cubic",
                  const std::string& direction = "down", int count = 1) {
  WorkloadItem item;
  item.app = item.app_class = app_class;
  item.tcp = tcp;
  item.direction = direction;
  item.count = count;
  return item;
}

void RunUntil(double time_s) {
  ns3::Simulator::Stop(ns3::Seconds(time_s) - ns3::Simulator::Now());
  ns3::Simulator::Run();
}

// Calls `poll` every `period_s` of simulated time.
void Every(double period_s, std::function<void()> poll) {
  ns3::Simulator::Schedule(ns3::Seconds(period_s), [period_s, poll] {
    poll();
    Every(period_s, poll);
  });
}

class AppsTest : public ::testing::Test {
 protected:
  void TearDown() override { ns3::Simulator::Destroy(); }
  WorkloadOptions options_;
  uint16_t port_ = 10000;
};

class BulkVariantTest : public AppsTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(BulkVariantTest, FillsTheLinkAndSamplesRtt) {
  TestPath path = MakePath("10Mbps");
  AppCounters counters;
  InstallWorkload(Item(AppClass::kBulk, GetParam()), options_, path.ends, &counters, &port_, 0.0,
                  1);
  RunUntil(2.0);
  const uint64_t at_2s = counters.rx_bytes;
  RunUntil(6.0);
  const double rate_bps = (counters.rx_bytes - at_2s) * 8.0 / 4.0;
  EXPECT_GT(rate_bps, 0.85 * 10e6) << GetParam();
  EXPECT_LT(rate_bps, 10e6) << GetParam();
  ASSERT_GT(counters.rtt_ms.size(), 100u);
  EXPECT_GE(*std::min_element(counters.rtt_ms.begin(), counters.rtt_ms.end()), 40.0);
  EXPECT_EQ(counters.game_sent, 0u);
  EXPECT_EQ(counters.flows_done, 0u);
}

INSTANTIATE_TEST_SUITE_P(Variants, BulkVariantTest, ::testing::Values("newreno", "cubic", "bbr"));

// Bytes sent by each device (client's, server's) at the IP layer.
struct DeviceBytes {
  uint64_t from_client = 0;
  uint64_t from_server = 0;
};

void CountDeviceBytes(const TestPath& path, DeviceBytes* bytes) {
  path.devices.Get(0)->TraceConnectWithoutContext(
      "MacTx", ns3::Callback<void, ns3::Ptr<const ns3::Packet>>(
                   [bytes](ns3::Ptr<const ns3::Packet> p) { bytes->from_client += p->GetSize(); }));
  path.devices.Get(1)->TraceConnectWithoutContext(
      "MacTx", ns3::Callback<void, ns3::Ptr<const ns3::Packet>>(
                   [bytes](ns3::Ptr<const ns3::Packet> p) { bytes->from_server += p->GetSize(); }));
}

TEST_F(AppsTest, BulkUpSendsFromClientAndCountsAtServer) {
  TestPath path = MakePath("10Mbps");
  DeviceBytes device;
  CountDeviceBytes(path, &device);
  AppCounters counters;
  InstallWorkload(Item(AppClass::kBulk, "cubic", "up"), options_, path.ends, &counters, &port_, 0.0,
                  1);
  RunUntil(4.0);
  EXPECT_GT(counters.rx_bytes, 2'000'000u);
  // The data crossed client -> server; the server only sent ACKs (and the request).
  EXPECT_GT(device.from_client, counters.rx_bytes);
  EXPECT_LT(device.from_server, device.from_client / 10);
  EXPECT_FALSE(counters.rtt_ms.empty());
}

TEST_F(AppsTest, FiniteBulkStopsAfterItsBytes) {
  TestPath path = MakePath("10Mbps");
  options_.bulk_bytes = 500'000;
  AppCounters counters;
  InstallWorkload(Item(AppClass::kBulk, "newreno", "down", 2), options_, path.ends, &counters,
                  &port_, 0.0, 1);
  RunUntil(5.0);
  EXPECT_EQ(counters.rx_bytes, 2 * options_.bulk_bytes);
}

struct MarkCase {
  AppClass app_class;
  const char* direction;
};

class DscpTest : public AppsTest, public ::testing::WithParamInterface<MarkCase> {};

// Every frame on the link, both ways (data, ACKs, handshakes, requests), carries the mark.
TEST_P(DscpTest, EveryPacketCarriesTheClassDscp) {
  const MarkCase mark = GetParam();
  const uint8_t tos = DefaultDscp(mark.app_class) << 2;
  TestPath path = MakePath("10Mbps");
  uint64_t packets[2] = {0, 0};
  uint64_t wrong = 0;
  for (int d = 0; d < 2; ++d) {
    path.devices.Get(d)->TraceConnectWithoutContext(
        "MacTx", ns3::Callback<void, ns3::Ptr<const ns3::Packet>>(
                     [&packets, &wrong, d, tos](ns3::Ptr<const ns3::Packet> p) {
                       ++packets[d];
                       // MacTx sees the frame: PPP header, then IPv4.
                       ns3::Ptr<ns3::Packet> frame = p->Copy();
                       ns3::PppHeader ppp;
                       ns3::Ipv4Header ip;
                       if (frame->RemoveHeader(ppp) == 0 || ppp.GetProtocol() != 0x0021 ||
                           frame->PeekHeader(ip) == 0 || ip.GetTos() != tos) {
                         ++wrong;
                       }
                     }));
  }
  AppCounters counters;
  InstallWorkload(Item(mark.app_class, "cubic", mark.direction, 2), options_, path.ends, &counters,
                  &port_, 0.0, 1);
  RunUntil(8.0);
  EXPECT_GT(counters.rx_bytes, 0u);
  EXPECT_GT(packets[0], 50u);
  EXPECT_GT(packets[1], 50u);
  EXPECT_EQ(wrong, 0u);
}

INSTANTIATE_TEST_SUITE_P(Classes, DscpTest,
                         ::testing::Values(MarkCase{AppClass::kVideo, "down"},
                                           MarkCase{AppClass::kBulk, "up"},
                                           MarkCase{AppClass::kGaming, "down"},
                                           MarkCase{AppClass::kWeb, "down"}));

// The bitrate of each segment as it completes, and the buffer as a probe would read it.
struct VideoLog {
  std::vector<double> segment_kbps;
  uint64_t segments = 0;
  double bitrate_sum = 0.0;
  double last_buffer_s = 0.0;
  double max_buffer_s = 0.0;
  int buffer_rises_without_segment = 0;
  int buffer_drains = 0;

  void Watch(const AppCounters* c) {
    Every(0.02, [this, c] {
      const bool new_segment = c->video_segments > segments;
      if (new_segment) {
        segment_kbps.push_back((c->video_bitrate_kbps_sum - bitrate_sum) /
                               (c->video_segments - segments));
        segments = c->video_segments;
        bitrate_sum = c->video_bitrate_kbps_sum;
      } else if (c->video_buffer_s > last_buffer_s + 1e-9) {
        ++buffer_rises_without_segment;
      } else if (c->video_buffer_s < last_buffer_s - 1e-9) {
        ++buffer_drains;
      }
      last_buffer_s = c->video_buffer_s;
      max_buffer_s = std::max(max_buffer_s, c->video_buffer_s);
    });
  }
};

TEST_F(AppsTest, VideoReachesTopBitrateWithoutStallsOnAFastLink) {
  TestPath path = MakePath("10Mbps");
  AppCounters counters;
  VideoLog log;
  log.Watch(&counters);
  InstallWorkload(Item(AppClass::kVideo, "cubic"), options_, path.ends, &counters, &port_, 0.0, 1);
  RunUntil(40.0);
  ASSERT_GT(log.segment_kbps.size(), 8u);
  EXPECT_EQ(log.segment_kbps.front(), 300.0);  // lowest at start
  for (size_t i = 4; i < log.segment_kbps.size(); ++i) {
    EXPECT_EQ(log.segment_kbps[i], 4300.0) << "segment " << i;
  }
  EXPECT_EQ(counters.video_stall_s, 0.0);
  // The buffer fills up to, never past, the limit and drains between segments in real time.
  EXPECT_GT(counters.video_buffer_s, 20.0);
  EXPECT_LE(log.max_buffer_s, options_.video_max_buffer_s + 1e-6);
  EXPECT_EQ(log.buffer_rises_without_segment, 0);
  EXPECT_GT(log.buffer_drains, 100);
  EXPECT_GT(counters.rx_bytes, 8'000'000u);
  EXPECT_FALSE(counters.rtt_ms.empty());
}

TEST_F(AppsTest, VideoPicksTheLowestBitrateOnSlowLinksAndStallsBelowIt) {
  // 0.5 Mbit/s carries 300 kbit/s (and nothing higher after the 0.9 margin): no stalls.
  {
    TestPath path = MakePath("0.5Mbps");
    AppCounters counters;
    VideoLog log;
    log.Watch(&counters);
    InstallWorkload(Item(AppClass::kVideo, "cubic"), options_, path.ends, &counters, &port_, 0.0,
                    1);
    RunUntil(30.0);
    ASSERT_GE(log.segment_kbps.size(), 4u);
    for (double kbps : log.segment_kbps) EXPECT_EQ(kbps, 300.0);
    EXPECT_EQ(counters.video_stall_s, 0.0);
    ns3::Simulator::Destroy();
  }
  // 0.25 Mbit/s is below the lowest bitrate: segments arrive slower than they play out.
  TestPath path = MakePath("0.25Mbps");
  AppCounters counters;
  VideoLog log;
  log.Watch(&counters);
  InstallWorkload(Item(AppClass::kVideo, "cubic"), options_, path.ends, &counters, &port_, 0.0, 1);
  RunUntil(30.0);
  ASSERT_GE(log.segment_kbps.size(), 3u);
  for (double kbps : log.segment_kbps) EXPECT_EQ(kbps, 300.0);
  EXPECT_GT(counters.video_stall_s, 1.0);
  EXPECT_LT(counters.video_stall_s, 30.0);
}

TEST_F(AppsTest, GamingEchoesGiveRttAndNoLossOnAnIdleLink) {
  TestPath path = MakePath("10Mbps");
  AppCounters down, up;
  InstallWorkload(Item(AppClass::kGaming, "", "down"), options_, path.ends, &down, &port_, 0.0, 1);
  InstallWorkload(Item(AppClass::kGaming, "", "up"), options_, path.ends, &up, &port_, 0.0, 2);
  RunUntil(5.0);
  for (const AppCounters* c : {&down, &up}) {
    EXPECT_GT(c->game_sent, 200u);  // 60 Hz for 4-5 s
    EXPECT_LE(c->game_received, c->game_sent);
    EXPECT_GE(c->game_received + 3, c->game_sent);  // at most a few in flight at the end
    ASSERT_GT(c->rtt_ms.size(), 100u);
    for (double rtt : c->rtt_ms) {
      EXPECT_GE(rtt, 40.0);
      EXPECT_LE(rtt, 60.0);
    }
  }
  EXPECT_EQ(down.rx_bytes, down.game_received * options_.game_down_bytes);
  EXPECT_EQ(up.rx_bytes, up.game_received * options_.game_up_bytes);
}

TEST_F(AppsTest, WebFlowsFinishAndSlowDownUnderCompetingBulk) {
  auto run = [this](bool with_bulk) {
    TestPath path = MakePath("10Mbps");
    AppCounters web, bulk;
    if (with_bulk) {  // four flows keep the link and its queue full
      InstallWorkload(Item(AppClass::kBulk, "cubic", "down", 4), options_, path.ends, &bulk, &port_,
                      0.0, 9);
    }
    InstallWorkload(Item(AppClass::kWeb, "cubic", "down", 3), options_, path.ends, &web, &port_,
                    1.0, 5);
    RunUntil(25.0);
    ns3::Simulator::Destroy();
    return web;
  };
  const AppCounters alone = run(false);
  const AppCounters shared = run(true);
  ASSERT_GE(alone.flows_done, 5u);
  ASSERT_GE(shared.flows_done, 3u);
  const double alone_fct_ms = alone.fct_ms_sum / alone.flows_done;
  const double shared_fct_ms = shared.fct_ms_sum / shared.flows_done;
  EXPECT_GT(alone_fct_ms, 40.0);  // at least the connection's round trip
  EXPECT_GT(shared_fct_ms, 1.5 * alone_fct_ms);
  EXPECT_GT(alone.rx_bytes, 0u);
  EXPECT_FALSE(alone.rtt_ms.empty());
}

void ExpectSameCounters(const AppCounters& a, const AppCounters& b) {
  EXPECT_EQ(a.rx_bytes, b.rx_bytes);
  EXPECT_EQ(a.rtt_ms, b.rtt_ms);
  EXPECT_EQ(a.video_bitrate_kbps_sum, b.video_bitrate_kbps_sum);
  EXPECT_EQ(a.video_segments, b.video_segments);
  EXPECT_EQ(a.video_stall_s, b.video_stall_s);
  EXPECT_EQ(a.video_buffer_s, b.video_buffer_s);
  EXPECT_EQ(a.fct_ms_sum, b.fct_ms_sum);
  EXPECT_EQ(a.flows_done, b.flows_done);
  EXPECT_EQ(a.game_sent, b.game_sent);
  EXPECT_EQ(a.game_received, b.game_received);
}

TEST_F(AppsTest, SameSeedGivesIdenticalCounters) {
  // A shared 5 Mbit/s link where every class competes.
  auto run = [this](uint64_t seed) {
    TestPath path = MakePath("5Mbps");
    std::vector<AppCounters> counters(4);
    const AppClass classes[] = {AppClass::kBulk, AppClass::kVideo, AppClass::kGaming,
                                AppClass::kWeb};
    const char* tcps[] = {"bbr", "cubic", "", "newreno"};
    uint16_t port = 20000;
    for (int i = 0; i < 4; ++i) {
      InstallWorkload(Item(classes[i], tcps[i], "down", i == 3 ? 2 : 1), options_, path.ends,
                      &counters[i], &port, 0.0, seed + i);
    }
    RunUntil(10.0);
    ns3::Simulator::Destroy();
    return counters;
  };
  const std::vector<AppCounters> first = run(7);
  const std::vector<AppCounters> second = run(7);
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_GT(first[i].rx_bytes, 0u);
    ExpectSameCounters(first[i], second[i]);
  }
  const std::vector<AppCounters> other = run(8);
  EXPECT_NE(other[3].fct_ms_sum, first[3].fct_ms_sum);
}

TEST_F(AppsTest, InstancesStartInTheirSecondAndUseFreshPorts) {
  TestPath path = MakePath("10Mbps");
  AppCounters counters;
  InstallWorkload(Item(AppClass::kBulk, "cubic", "down", 3), options_, path.ends, &counters, &port_,
                  2.0, 3);
  EXPECT_EQ(port_, 10003);
  InstallWorkload(Item(AppClass::kGaming, "", "up", 2), options_, path.ends, &counters, &port_, 2.0,
                  3);
  EXPECT_EQ(port_, 10005);
  RunUntil(2.0);
  EXPECT_EQ(counters.rx_bytes, 0u);
  EXPECT_TRUE(counters.rtt_ms.empty());
  RunUntil(4.0);
  EXPECT_GT(counters.rx_bytes, 1'000'000u);
  EXPECT_GT(counters.game_received, 0u);
}

TEST_F(AppsTest, StoppedApplicationsStopCounting) {
  TestPath path = MakePath("10Mbps");
  std::vector<AppCounters> counters(4);
  const AppClass classes[] = {AppClass::kBulk, AppClass::kVideo, AppClass::kGaming, AppClass::kWeb};
  for (int i = 0; i < 4; ++i) {
    InstallWorkload(Item(classes[i], "cubic"), options_, path.ends, &counters[i], &port_, 0.0, 1);
  }
  for (uint32_t n = 0; n < 2; ++n) {
    for (uint32_t a = 0; a < path.nodes.Get(n)->GetNApplications(); ++a) {
      path.nodes.Get(n)->GetApplication(a)->SetStopTime(ns3::Seconds(3.0));
    }
  }
  RunUntil(3.0);
  const std::vector<AppCounters> at_stop = counters;
  RunUntil(5.0);
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_GT(at_stop[i].rx_bytes, 0u);
    ExpectSameCounters(at_stop[i], counters[i]);
  }
}

TEST_F(AppsTest, BadInputIsRejectedNamingTheKey) {
  TestPath path = MakePath("10Mbps");
  AppCounters counters;
  auto expect_error = [&](const WorkloadItem& item, const WorkloadOptions& options,
                          const std::string& key) {
    try {
      InstallWorkload(item, options, path.ends, &counters, &port_, 0.0, 1);
      ADD_FAILURE() << "no error for " << key;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  WorkloadOptions o = options_;
  o.game_hz = 0;
  expect_error(Item(AppClass::kGaming), o, "game_hz = 0");
  o = options_;
  o.video_ladder_kbps = {300, 200};
  expect_error(Item(AppClass::kVideo), o, "video_ladder_kbps[1] = 200");
  o = options_;
  o.game_up_bytes = 8;
  expect_error(Item(AppClass::kGaming), o, "game_up_bytes = 8");
  expect_error(Item(AppClass::kBulk, "vegas"), options_, "'vegas'");
  expect_error(Item(AppClass::kBulk, "cubic", "sideways"), options_, "'sideways'");
  expect_error(Item(AppClass::kCross), options_, "'cross'");
  expect_error(Item(AppClass::kBulk, "cubic", "down", 0), options_, "count = 0");
  EXPECT_EQ(port_, 10000);  // nothing installed
}

}  // namespace
}  // namespace linklab::sim
