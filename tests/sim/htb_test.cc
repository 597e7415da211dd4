#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <vector>

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/ppp-header.h"
#include "ns3/traffic-control-module.h"
#include "sim/ns3/htb_queue_disc.h"

namespace linklab::sim {
namespace {

// Node A sends saturating UDP flows, one per DSCP mark, to node B over 100 Mbit/s (2 ms); an
// HtbQueueDisc shapes A's egress. B counts the IP bytes it receives per mark.
class HtbNet {
 public:
  // `via_helper`: install with TrafficControlHelper by TypeId name after address assignment
  // (replacing the default queue disc), instead of directly before it.
  explicit HtbNet(const HtbConfig& config, bool via_helper = false) {
    nodes_.Create(2);
    ns3::PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", ns3::StringValue("100Mbps"));
    p2p.SetChannelAttribute("Delay", ns3::StringValue("2ms"));
    devices_ = p2p.Install(nodes_);
    ns3::InternetStackHelper().Install(nodes_);
    ns3::Ptr<ns3::NetDevice> sender = devices_.Get(0);
    if (!via_helper) {
      htb_ = ns3::CreateObject<HtbQueueDisc>();
      htb_->Configure(config);
      nodes_.Get(0)->GetObject<ns3::TrafficControlLayer>()->SetRootQueueDiscOnDevice(sender, htb_);
    }
    ns3::Ipv4AddressHelper addresses;
    addresses.SetBase("10.0.0.0", "255.255.255.0");
    interfaces_ = addresses.Assign(devices_);
    if (via_helper) {
      ns3::TrafficControlHelper::Default().Uninstall(sender);
      ns3::TrafficControlHelper tch;
      tch.SetRootQueueDisc("linklab::sim::HtbQueueDisc");
      htb_ = ns3::DynamicCast<HtbQueueDisc>(tch.Install(sender).Get(0));
      htb_->Configure(config);
    }
    devices_.Get(1)->TraceConnectWithoutContext("MacRx",
                                                ns3::MakeCallback(&HtbNet::OnReceive, this));
  }
  ~HtbNet() { ns3::Simulator::Destroy(); }

  // A sender of `dscp`-marked packets at 20 Mbit/s (more than any class may get) from
  // `start_s` to `stop_s`.
  void Sender(uint8_t dscp, double start_s = 0.0, double stop_s = 100.0) {
    ns3::Ptr<ns3::Socket> socket =
        ns3::Socket::CreateSocket(nodes_.Get(0), ns3::UdpSocketFactory::GetTypeId());
    socket->Connect(ns3::InetSocketAddress(interfaces_.GetAddress(1), 9));
    socket->SetIpTos(dscp << 2);
    constexpr double kIntervalS = 0.0005;  // 1250-byte IP packets: 20 Mbit/s
    for (double t = start_s; t < stop_s; t += kIntervalS) {
      ns3::Simulator::Schedule(ns3::Seconds(t),
                               [socket] { socket->Send(ns3::Create<ns3::Packet>(1222)); });
    }
  }

  // Runs the simulation until `to_s`; returns Mbit/s received per DSCP over [from_s, to_s).
  std::map<uint8_t, double> Measure(double from_s, double to_s) {
    window_start_ = ns3::Seconds(from_s);
    window_end_ = ns3::Seconds(to_s);
    ns3::Simulator::Stop(window_end_ - ns3::Simulator::Now());
    ns3::Simulator::Run();
    std::map<uint8_t, double> mbps;
    for (const auto& [dscp, bytes] : rx_bytes_) mbps[dscp] = bytes * 8.0 / (to_s - from_s) / 1e6;
    rx_bytes_.clear();
    return mbps;
  }

  HtbQueueDisc& htb() { return *htb_; }

 private:
  void OnReceive(ns3::Ptr<const ns3::Packet> frame) {
    const ns3::Time now = ns3::Simulator::Now();
    if (now < window_start_ || now >= window_end_) return;
    ns3::Ptr<ns3::Packet> ip = frame->Copy();
    ns3::PppHeader ppp;
    ip->RemoveHeader(ppp);
    ns3::Ipv4Header header;
    ip->PeekHeader(header);
    rx_bytes_[header.GetTos() >> 2] += ip->GetSize();
  }

  ns3::NodeContainer nodes_;
  ns3::NetDeviceContainer devices_;
  ns3::Ipv4InterfaceContainer interfaces_;
  ns3::Ptr<HtbQueueDisc> htb_;
  std::map<uint8_t, uint64_t> rx_bytes_;
  ns3::Time window_start_, window_end_;
};

const uint8_t kBulk = DefaultDscp(AppClass::kBulk);
const uint8_t kVideo = DefaultDscp(AppClass::kVideo);
const uint8_t kUnusedDscp = 63;  // no application class's mark

// A 10 Mbit/s root with `classes`; short class queues, so a class that stops drains fast.
HtbConfig Config(std::vector<HtbClassConfig> classes) {
  HtbConfig c;
  c.link_rate_bps = 10e6;
  c.classes = std::move(classes);
  c.default_class = AppClass::kOther;
  c.class_queue_packets = 50;
  return c;
}

const HtbClassConfig kOtherClass{AppClass::kOther, 1e6, 1e6, 0};

TEST(Htb, ClassIsHeldToItsRate) {
  for (bool via_helper : {false, true}) {
    SCOPED_TRACE(via_helper ? "installed by TrafficControlHelper" : "installed directly");
    HtbNet net(Config({{AppClass::kBulk, 4e6, 4e6, 0}, kOtherClass}), via_helper);
    net.Sender(kBulk);
    const auto rx = net.Measure(1.0, 4.0);
    EXPECT_NEAR(rx.at(kBulk), 4.0, 4.0 * 0.03);
    EXPECT_EQ(net.htb().GetClassStats(AppClass::kBulk).borrowed_bytes, 0u);
  }
}

TEST(Htb, ExcessIsSharedAndIdleCapacityBorrowed) {
  HtbNet net(
      Config({{AppClass::kBulk, 3e6, 10e6, 0}, {AppClass::kVideo, 3e6, 10e6, 0}, kOtherClass}));
  net.Sender(kBulk);
  net.Sender(kVideo, 0.0, 3.0);  // video stops at 3 s
  const auto both = net.Measure(1.0, 3.0);
  EXPECT_NEAR(both.at(kBulk), 5.0, 0.3);
  EXPECT_NEAR(both.at(kVideo), 5.0, 0.3);
  const auto alone = net.Measure(3.5, 6.0);
  EXPECT_NEAR(alone.at(kBulk), 10.0, 0.3);  // up to its ceil and the link rate
  EXPECT_GT(net.htb().GetClassStats(AppClass::kBulk).borrowed_bytes, 0u);
}

TEST(Htb, ExcessIsSharedInProportionToRate) {
  // Equal prio: the 4 Mbit/s left over is shared by quantum (rate / 10), 1:2.
  HtbNet net(
      Config({{AppClass::kBulk, 2e6, 10e6, 0}, {AppClass::kVideo, 4e6, 10e6, 0}, kOtherClass}));
  net.Sender(kBulk);
  net.Sender(kVideo);
  const auto rx = net.Measure(1.0, 4.0);
  EXPECT_NEAR(rx.at(kBulk), 2.0 + 4.0 / 3, 0.3);
  EXPECT_NEAR(rx.at(kVideo), 4.0 + 8.0 / 3, 0.3);
}

TEST(Htb, ExplicitQuantaSetTheSharesOfWhatIsLent) {
  // The same rates as above, but quanta 3000 and 1000 bytes: the 4 Mbit/s left over is lent
  // 3:1, against the rates' 1:2.
  HtbClassConfig bulk{AppClass::kBulk, 2e6, 10e6, 0, 3000};
  HtbClassConfig video{AppClass::kVideo, 4e6, 10e6, 0, 1000};
  HtbNet net(Config({bulk, video, kOtherClass}));
  net.Sender(kBulk);
  net.Sender(kVideo);
  const auto rx = net.Measure(1.0, 4.0);
  EXPECT_NEAR(rx.at(kBulk), 2.0 + 3.0, 0.3);
  EXPECT_NEAR(rx.at(kVideo), 4.0 + 1.0, 0.3);
}

TEST(Htb, LowerPrioNumberBorrowsFirst) {
  HtbNet net(
      Config({{AppClass::kBulk, 2e6, 10e6, 1}, {AppClass::kVideo, 2e6, 10e6, 0}, kOtherClass}));
  net.Sender(kBulk);
  net.Sender(kVideo);
  const auto rx = net.Measure(1.0, 4.0);
  // Both get their rate; the excess (6 Mbit/s) goes to prio 0.
  EXPECT_NEAR(rx.at(kVideo), 8.0, 0.4);
  EXPECT_NEAR(rx.at(kBulk), 2.0, 0.2);
}

TEST(Htb, ReconfigurationTakesEffect) {
  HtbNet net(Config({{AppClass::kBulk, 2e6, 2e6, 0}, kOtherClass}));
  net.Sender(kBulk);
  EXPECT_NEAR(net.Measure(0.5, 2.0).at(kBulk), 2.0, 0.1);
  ns3::Simulator::Schedule(ns3::Seconds(0.0), [&net] {
    net.htb().Configure(Config({{AppClass::kBulk, 6e6, 6e6, 0}, kOtherClass}));
  });
  EXPECT_NEAR(net.Measure(2.5, 4.0).at(kBulk), 6.0, 0.2);
  EXPECT_EQ(net.htb().config().classes[0].rate_bps, 6e6);
}

TEST(Htb, RemovedClassDropsItsBacklogAndFallsBackToDefault) {
  HtbNet net(Config({{AppClass::kBulk, 1e6, 1e6, 0}, kOtherClass}));
  net.Sender(kBulk);
  net.Measure(0.0, 1.0);
  const HtbQueueDisc::ClassStats before = net.htb().GetClassStats(AppClass::kBulk);
  ASSERT_GT(before.backlog_packets, 0u);
  ns3::Simulator::Schedule(ns3::Seconds(0.0),
                           [&net] { net.htb().Configure(Config({kOtherClass})); });
  const auto rx = net.Measure(1.5, 3.0);
  const HtbQueueDisc::ClassStats after = net.htb().GetClassStats(AppClass::kBulk);
  EXPECT_EQ(after.backlog_packets, 0u);
  EXPECT_EQ(after.dropped_packets, before.dropped_packets + before.backlog_packets);
  EXPECT_EQ(net.htb().GetStats().nTotalDroppedPacketsAfterDequeue, before.backlog_packets);
  EXPECT_NEAR(rx.at(kBulk), 1.0, 0.05);  // now in the default class, at its rate
  EXPECT_GT(net.htb().GetClassStats(AppClass::kOther).sent_packets, 0u);
}

TEST(Htb, UnknownMarksGoToTheDefaultClass) {
  for (uint8_t dscp : {kVideo, kUnusedDscp}) {  // video has no class here
    HtbNet net(Config({{AppClass::kBulk, 5e6, 5e6, 0}, kOtherClass}));
    net.Sender(dscp);
    const auto rx = net.Measure(1.0, 3.0);
    EXPECT_NEAR(rx.at(dscp), 1.0, 0.05);
    EXPECT_GT(net.htb().GetClassStats(AppClass::kOther).sent_packets, 0u);
    EXPECT_EQ(net.htb().GetClassStats(AppClass::kBulk).enqueued_packets, 0u);
    EXPECT_EQ(net.htb().GetClassStats(AppClass::kVideo).enqueued_packets, 0u);
  }
}

TEST(Htb, FullClassQueueDrops) {
  HtbConfig config = Config({{AppClass::kBulk, 1e6, 1e6, 0}, kOtherClass});
  config.class_queue_packets = 20;
  HtbNet net(config);
  uint64_t traced_drops = 0;
  net.htb().TraceConnectWithoutContext(
      "Drop", ns3::MakeBoundCallback(
                  +[](uint64_t* n, ns3::Ptr<const ns3::QueueDiscItem>) { ++*n; }, &traced_drops));
  net.Sender(kBulk);
  net.Measure(0.0, 2.0);
  const HtbQueueDisc::ClassStats stats = net.htb().GetClassStats(AppClass::kBulk);
  EXPECT_GT(stats.dropped_packets, 3000u);  // 4000 offered at 20 Mbit/s, ~200 sent at 1 Mbit/s
  EXPECT_EQ(stats.backlog_packets, 20u);
  EXPECT_EQ(stats.enqueued_packets, stats.sent_packets + stats.backlog_packets);
  EXPECT_EQ(net.htb().GetStats().nTotalDroppedPackets, stats.dropped_packets);
  EXPECT_EQ(traced_drops, stats.dropped_packets);
}

TEST(Htb, BadConfigsAreRefused) {
  ns3::Ptr<HtbQueueDisc> htb = ns3::CreateObject<HtbQueueDisc>();
  EXPECT_THROW(htb->Configure(Config({{AppClass::kOther, 2e6, 1e6, 0}})), std::invalid_argument);
  EXPECT_THROW(htb->Configure(Config({{AppClass::kOther, 1e6, 1e6, 9}})), std::invalid_argument);
  EXPECT_THROW(htb->Configure(Config({{AppClass::kBulk, 1e6, 1e6, 0}})), std::invalid_argument);
  // A refused config leaves the queue disc as it was.
  EXPECT_TRUE(htb->config().classes.empty());
}

}  // namespace
}  // namespace linklab::sim
