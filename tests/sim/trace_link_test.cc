#include "sim/ns3/trace_link.h"

#include <gtest/gtest.h>

#include <cmath>

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/traffic-control-module.h"

namespace linklab::sim {
namespace {

// Two nodes joined by a trace link, with IPv4; records when packets reach b's stack.
struct Link {
  ns3::NodeContainer nodes;
  ns3::NetDeviceContainer devices;
  ns3::Ipv4InterfaceContainer ifs;
  std::vector<double> arrivals;  // at b, seconds
  uint64_t tx_drops = 0, wire_losses = 0;

  Link(std::shared_ptr<CapacityProcess> ab, uint32_t buffer, double loss = 0.0,
       bool keep_qdisc = false, uint16_t mtu = 1500) {
    nodes.Create(2);
    ns3::InternetStackHelper().Install(nodes);
    TraceLinkDirection d1{ab, 0.010, buffer, loss};
    TraceLinkDirection d2{std::shared_ptr<CapacityProcess>(ConstantCapacity(100e6)), 0.010, buffer,
                          0.0};
    devices = TraceLinkHelper::Install(nodes.Get(0), nodes.Get(1), d1, d2, 42);
    devices.Get(0)->SetMtu(mtu);
    devices.Get(1)->SetMtu(mtu);
    ns3::Ipv4AddressHelper addr;
    addr.SetBase("10.0.0.0", "255.255.255.0");
    ifs = addr.Assign(devices);
    if (keep_qdisc) {
      TraceLinkHelper::EnableFlowControl(devices.Get(0));
    } else {
      ns3::TrafficControlHelper().Uninstall(devices.Get(0));
    }
    devices.Get(1)->TraceConnectWithoutContext(
        "MacRx",
        ns3::Callback<void, ns3::Ptr<const ns3::Packet>>([this](ns3::Ptr<const ns3::Packet>) {
          arrivals.push_back(ns3::Simulator::Now().GetSeconds());
        }));
    devices.Get(0)->TraceConnectWithoutContext(
        "MacTxDrop", ns3::Callback<void, ns3::Ptr<const ns3::Packet>>(
                         [this](ns3::Ptr<const ns3::Packet>) { ++tx_drops; }));
    devices.Get(1)->TraceConnectWithoutContext(
        "PhyRxDrop", ns3::Callback<void, ns3::Ptr<const ns3::Packet>>(
                         [this](ns3::Ptr<const ns3::Packet>) { ++wire_losses; }));
    socket = ns3::Socket::CreateSocket(nodes.Get(0), ns3::UdpSocketFactory::GetTypeId());
    socket->Connect(ns3::InetSocketAddress(ifs.GetAddress(1), 9));
  }
  ~Link() { ns3::Simulator::Destroy(); }
  // Sends `count` UDP packets of `ip_bytes` (IP size) at time `at_s`.
  void SendAt(double at_s, int count, uint32_t ip_bytes) {
    ns3::Simulator::Schedule(ns3::Seconds(at_s), [this, count, ip_bytes] {
      for (int i = 0; i < count; ++i) socket->Send(ns3::Create<ns3::Packet>(ip_bytes - 28));
    });
  }
  ns3::Ptr<ns3::Socket> socket;
};

std::shared_ptr<CapacityProcess> OnePerMs(int n) {
  std::vector<int64_t> ms;
  for (int i = 1; i <= n; ++i) ms.push_back(i);
  return std::shared_ptr<CapacityProcess>(MahimahiCapacity(ms, "1/ms"));
}

TEST(TraceLink, OneOpportunityPerMillisecondDeliversOnePacketPerMillisecond) {
  Link link(OnePerMs(1000), 100000);
  // Keep the buffer non-empty: 3000 full-size packets at once.
  link.SendAt(0.0, 3000, 1500);
  ns3::Simulator::Stop(ns3::Seconds(2.5));
  ns3::Simulator::Run();
  // Delivered at ms 1, 2, ... (+10 ms propagation), one per opportunity.
  ASSERT_GE(link.arrivals.size(), 2400u);
  for (size_t i = 0; i < 2400; ++i) {
    EXPECT_NEAR(link.arrivals[i], 0.001 * (i + 1) + 0.010, 1e-9) << i;
  }
}

TEST(TraceLink, PacketsSpanAndShareOpportunities) {
  // Opportunities at 10, 20, 30 ms (period 30 ms).
  Link link(std::shared_ptr<CapacityProcess>(MahimahiCapacity({10, 20, 30}, "t")), 100, 0.0, false,
            9000);
  link.SendAt(0.005, 1, 3000);  // needs two opportunities: done at 20 ms
  link.SendAt(0.025, 3, 500);   // three small packets share the 30 ms opportunity
  ns3::Simulator::Stop(ns3::Seconds(1));
  ns3::Simulator::Run();
  ASSERT_EQ(link.arrivals.size(), 4u);
  EXPECT_NEAR(link.arrivals[0], 0.020 + 0.010, 1e-9);
  for (int i = 1; i < 4; ++i) EXPECT_NEAR(link.arrivals[i], 0.030 + 0.010, 1e-9);
}

TEST(TraceLink, IdleCapacityIsLostAndTheTraceLoops) {
  Link link(std::shared_ptr<CapacityProcess>(MahimahiCapacity({10, 20, 30}, "t")), 100);
  link.SendAt(0.021, 1, 1500);  // opportunities at 10 and 20 ms are gone: served at 30 ms
  link.SendAt(0.031, 1, 1500);  // next loop: 30 + 10 = 40 ms
  ns3::Simulator::Stop(ns3::Seconds(1));
  ns3::Simulator::Run();
  ASSERT_EQ(link.arrivals.size(), 2u);
  EXPECT_NEAR(link.arrivals[0], 0.040, 1e-9);
  EXPECT_NEAR(link.arrivals[1], 0.050, 1e-9);
}

TEST(TraceLink, FullBufferDropsWithoutQueueDisc) {
  Link link(OnePerMs(1000), 10);
  link.SendAt(0.0005, 50, 1500);
  ns3::Simulator::Stop(ns3::Seconds(1));
  ns3::Simulator::Run();
  // One packet in service, ten in the buffer.
  EXPECT_EQ(link.tx_drops, 39u);
  EXPECT_EQ(link.arrivals.size(), 11u);
}

TEST(TraceLink, QueueDiscAboveIsFlowControlled) {
  Link link(OnePerMs(1000), 10, 0.0, /*keep_qdisc=*/true);
  link.SendAt(0.0005, 50, 1500);
  ns3::Simulator::Stop(ns3::Seconds(1));
  ns3::Simulator::Run();
  // The default queue disc holds what the device cannot: nothing is dropped.
  EXPECT_EQ(link.tx_drops, 0u);
  EXPECT_EQ(link.arrivals.size(), 50u);
}

TEST(TraceLink, RandomLossRate) {
  Link link(std::shared_ptr<CapacityProcess>(ConstantCapacity(50e6)), 100000, 0.1);
  link.SendAt(0.0, 5000, 1000);
  ns3::Simulator::Stop(ns3::Seconds(2));
  ns3::Simulator::Run();
  EXPECT_EQ(link.arrivals.size() + link.wire_losses, 5000u);
  // Binomial(5000, 0.1): mean 500, sd ~21.
  EXPECT_NEAR(static_cast<double>(link.wire_losses), 500.0, 90.0);
}

TEST(TraceLink, RejectsBadDirections) {
  ns3::NodeContainer nodes;
  nodes.Create(2);
  TraceLinkDirection ok{std::shared_ptr<CapacityProcess>(ConstantCapacity(1e6)), 0.01, 10, 0.0};
  TraceLinkDirection bad = ok;
  bad.delay_s = -1;
  EXPECT_THROW(TraceLinkHelper::Install(nodes.Get(0), nodes.Get(1), bad, ok, 1),
               std::invalid_argument);
  bad = ok;
  bad.loss_rate = 2;
  EXPECT_THROW(TraceLinkHelper::Install(nodes.Get(0), nodes.Get(1), ok, bad, 1),
               std::invalid_argument);
  ns3::Simulator::Destroy();
}

}  // namespace
}  // namespace linklab::sim
