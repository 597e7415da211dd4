#include <gtest/gtest.h>

#include <map>

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/ppp-header.h"
#include "ns3/traffic-control-module.h"
#include "sim/ns3/htb_queue_disc.h"

namespace linklab::sim {
namespace {

// A sends saturating UDP per class to B over 100 Mbit/s; HTB shapes A's egress.
class HtbNet {
 public:
  explicit HtbNet(const HtbConfig& config) {
    nodes_.Create(2);
    ns3::PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", ns3::StringValue("100Mbps"));
    p2p.SetChannelAttribute("Delay", ns3::StringValue("2ms"));
    devices_ = p2p.Install(nodes_);
    ns3::InternetStackHelper().Install(nodes_);
    htb_ = ns3::CreateObject<HtbQueueDisc>();
    htb_->Configure(config);
    nodes_.Get(0)->GetObject<ns3::TrafficControlLayer>()->SetRootQueueDiscOnDevice(devices_.Get(0),
                                                                                   htb_);
    ns3::Ipv4AddressHelper addr;
    addr.SetBase("10.0.0.0", "255.255.255.0");
    ifs_ = addr.Assign(devices_);
    devices_.Get(1)->TraceConnectWithoutContext(
        "MacRx",
        ns3::Callback<void, ns3::Ptr<const ns3::Packet>>([this](ns3::Ptr<const ns3::Packet> p) {
          // MacRx shows the frame with its PPP header.
          ns3::Ptr<ns3::Packet> copy = p->Copy();
          ns3::PppHeader ppp;
          copy->RemoveHeader(ppp);
          ns3::Ipv4Header h;
          copy->PeekHeader(h);

          if (ns3::Simulator::Now() >= window_start_ && ns3::Simulator::Now() < window_end_) {
            rx_bytes_[h.GetTos() >> 2] += p->GetSize();
          }
        }));
  }
  ~HtbNet() { ns3::Simulator::Destroy(); }

  // Saturating sender of `dscp` marks (20 Mbit/s offered, more than any class may get), from
  // `start` to `stop` seconds.
  void Sender(uint8_t dscp, double start = 0.0, double stop = 100.0) {
    ns3::Ptr<ns3::Socket> s =
        ns3::Socket::CreateSocket(nodes_.Get(0), ns3::UdpSocketFactory::GetTypeId());
    s->Connect(ns3::InetSocketAddress(ifs_.GetAddress(1), 9));
    s->SetIpTos(dscp << 2);  // after Connect, which resets it
    sockets_.push_back(s);
    for (double t = start; t < stop; t += 0.0005) {  // 1250 B every 0.5 ms = 20 Mbit/s
      ns3::Simulator::Schedule(ns3::Seconds(t), [s] { s->Send(ns3::Create<ns3::Packet>(1222)); });
    }
  }
  // Mbit/s received per DSCP over [from, to).
  std::map<uint8_t, double> Measure(double from, double to) {
    window_start_ = ns3::Seconds(from);
    window_end_ = ns3::Seconds(to);
    ns3::Simulator::Stop(ns3::Seconds(to) - ns3::Simulator::Now());  // Stop takes a delay
    ns3::Simulator::Run();
    std::map<uint8_t, double> out;
    for (auto& [dscp, bytes] : rx_bytes_) out[dscp] = bytes * 8.0 / (to - from) / 1e6;
    rx_bytes_.clear();
    return out;
  }
  HtbQueueDisc& htb() { return *htb_; }

 private:
  ns3::NodeContainer nodes_;
  ns3::NetDeviceContainer devices_;
  ns3::Ipv4InterfaceContainer ifs_;
  ns3::Ptr<HtbQueueDisc> htb_;
  std::vector<ns3::Ptr<ns3::Socket>> sockets_;
  std::map<uint8_t, uint64_t> rx_bytes_;
  ns3::Time window_start_, window_end_;
};

const uint8_t kBulk = DefaultDscp(AppClass::kBulk);
const uint8_t kVideo = DefaultDscp(AppClass::kVideo);
const uint8_t kOther = DefaultDscp(AppClass::kOther);

HtbConfig Config(std::vector<HtbClassConfig> classes, AppClass default_class = AppClass::kOther) {
  HtbConfig c;
  c.link_rate_bps = 10e6;
  c.classes = std::move(classes);
  c.default_class = default_class;
  c.class_queue_packets = 50;  // short backlogs: a class that stops sending drains fast
  return c;
}

TEST(Htb, ClassIsHeldToItsRate) {
  HtbNet net(Config({{AppClass::kBulk, 4e6, 4e6, 0}, {AppClass::kOther, 1e6, 1e6, 0}}));
  net.Sender(kBulk);
  const auto rx = net.Measure(1.0, 4.0);
  EXPECT_NEAR(rx.at(kBulk), 4.0, 4.0 * 0.03);
}

TEST(Htb, ExcessIsSharedAndIdleCapacityBorrowed) {
  HtbNet net(Config({{AppClass::kBulk, 3e6, 10e6, 0},
                     {AppClass::kVideo, 3e6, 10e6, 0},
                     {AppClass::kOther, 1e6, 1e6, 0}}));
  net.Sender(kBulk);
  net.Sender(kVideo, 0.0, 3.0);  // video stops at 3 s
  const auto both = net.Measure(1.0, 3.0);
  EXPECT_NEAR(both.at(kBulk), 5.0, 0.3);
  EXPECT_NEAR(both.at(kVideo), 5.0, 0.3);
  const auto alone = net.Measure(3.5, 6.0);
  EXPECT_NEAR(alone.at(kBulk), 10.0, 0.3);  // borrows up to its ceil and the link rate
  EXPECT_GT(net.htb().GetClassStats(AppClass::kBulk).borrowed_bytes, 0u);
}

TEST(Htb, LowerPrioNumberBorrowsFirst) {
  HtbNet net(Config({{AppClass::kBulk, 2e6, 10e6, 1},
                     {AppClass::kVideo, 2e6, 10e6, 0},
                     {AppClass::kOther, 1e6, 1e6, 0}}));
  net.Sender(kBulk);
  net.Sender(kVideo);
  const auto rx = net.Measure(1.0, 4.0);
  // Both get their rate; the excess (6 Mbit/s) goes to prio 0.
  EXPECT_NEAR(rx.at(kVideo), 8.0, 0.4);
  EXPECT_NEAR(rx.at(kBulk), 2.0, 0.2);
}

TEST(Htb, ReconfigurationTakesEffect) {
  HtbNet net(Config({{AppClass::kBulk, 2e6, 2e6, 0}, {AppClass::kOther, 1e6, 1e6, 0}}));
  net.Sender(kBulk);
  EXPECT_NEAR(net.Measure(0.5, 2.0).at(kBulk), 2.0, 0.1);
  ns3::Simulator::Schedule(ns3::Seconds(0.0), [&net] {
    net.htb().Configure(Config({{AppClass::kBulk, 6e6, 6e6, 0}, {AppClass::kOther, 1e6, 1e6, 0}}));
  });
  EXPECT_NEAR(net.Measure(2.5, 4.0).at(kBulk), 6.0, 0.2);
}

TEST(Htb, UnknownMarksGoToTheDefaultClass) {
  HtbNet net(Config({{AppClass::kBulk, 5e6, 5e6, 0}, {AppClass::kOther, 1e6, 1e6, 0}}));
  net.Sender(kVideo);  // video has no class here
  const auto rx = net.Measure(1.0, 3.0);
  EXPECT_NEAR(rx.at(kVideo), 1.0, 0.05);
  EXPECT_GT(net.htb().GetClassStats(AppClass::kOther).sent_packets, 0u);
  EXPECT_EQ(net.htb().GetClassStats(AppClass::kBulk).sent_packets, 0u);
}

TEST(Htb, FullClassQueueDrops) {
  HtbConfig c = Config({{AppClass::kBulk, 1e6, 1e6, 0}, {AppClass::kOther, 1e6, 1e6, 0}});
  c.class_queue_packets = 20;
  HtbNet net(c);
  net.Sender(kBulk);
  net.Measure(0.0, 2.0);
  const auto st = net.htb().GetClassStats(AppClass::kBulk);
  EXPECT_GT(st.dropped_packets, 1000u);  // 20 Mbit/s offered, 1 Mbit/s out
  EXPECT_LE(st.backlog_packets, 20u);
  EXPECT_EQ(net.htb().GetStats().nTotalDroppedPackets, st.dropped_packets);
}

TEST(Htb, BadConfigsAreRefused) {
  HtbQueueDisc htb;
  EXPECT_THROW(htb.Configure(Config({{AppClass::kOther, 2e6, 1e6, 0}})), std::invalid_argument);
  EXPECT_THROW(htb.Configure(Config({{AppClass::kOther, 1e6, 1e6, 9}})), std::invalid_argument);
  EXPECT_THROW(htb.Configure(Config({{AppClass::kBulk, 1e6, 1e6, 0}})), std::invalid_argument);
}

}  // namespace
}  // namespace linklab::sim
