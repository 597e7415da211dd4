#include "sim/ns3/trace_link.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/simple-net-device.h"
#include "ns3/traffic-control-module.h"

namespace linklab::sim {
namespace {

using PacketCallback = ns3::Callback<void, ns3::Ptr<const ns3::Packet>>;

std::shared_ptr<CapacityProcess> Trace(std::vector<int64_t> ms) {
  return std::shared_ptr<CapacityProcess>(MahimahiCapacity(std::move(ms), "test"));
}

// One opportunity per millisecond: 12 Mbit/s.
std::shared_ptr<CapacityProcess> OnePerMs() { return Trace({1}); }

struct NetOptions {
  uint32_t buffer_packets = 1000;
  double ab_delay_s = 0.010, ba_delay_s = 0.010;
  double ab_loss = 0.0, ba_loss = 0.0;
  bool keep_queue_disc = false;  // keep the pfifo_fast root that Ipv4AddressHelper installs
  bool flow_control = false;
  uint16_t mtu = 1500;
  uint64_t seed = 42;
};

// Two nodes joined by a trace link, with IPv4 and UDP sockets both ways; records what each
// end's device and socket see. Node 0 is a, node 1 is b. Destroys the simulator at the end.
struct Net {
  Net(std::shared_ptr<CapacityProcess> ab, std::shared_ptr<CapacityProcess> ba,
      const NetOptions& o = {}) {
    nodes.Create(2);
    ns3::InternetStackHelper().Install(nodes);
    const LinkDirection ab_dir{ab, o.ab_delay_s, o.buffer_packets, o.ab_loss};
    const LinkDirection ba_dir{ba, o.ba_delay_s, o.buffer_packets, o.ba_loss};
    devices = TraceLinkHelper::Install(nodes.Get(0), nodes.Get(1), ab_dir, ba_dir, o.seed);
    for (int i = 0; i < 2; ++i) devices.Get(i)->SetMtu(o.mtu);
    ns3::Ipv4AddressHelper addresses("10.0.0.0", "255.255.255.0");
    const ns3::Ipv4InterfaceContainer interfaces = addresses.Assign(devices);
    for (int i = 0; i < 2; ++i) {
      ns3::Ptr<ns3::NetDevice> device = devices.Get(i);
      if (!o.keep_queue_disc) ns3::TrafficControlHelper().Uninstall(device);
      if (o.flow_control) TraceLinkHelper::EnableFlowControl(device);
      Count(device, "MacTx", &mac_tx[i]);
      Count(device, "MacTxDrop", &tx_drops[i]);
      Count(device, "PhyTxBegin", &tx_begin[i]);
      Count(device, "PhyTxEnd", &tx_end[i]);
      Count(device, "PhyRxDrop", &wire_losses[i]);
      Count(device, "MacRx", &arrivals[i]);
      TraceLinkHelper::QueueOf(device)->TraceConnectWithoutContext(
          "PacketsInQueue",
          ns3::Callback<void, uint32_t, uint32_t>(
              [this, i](uint32_t, uint32_t n) { max_buffer[i] = std::max(max_buffer[i], n); }));
      receivers[i] = ns3::Socket::CreateSocket(nodes.Get(i), ns3::UdpSocketFactory::GetTypeId());
      receivers[i]->Bind(ns3::InetSocketAddress(ns3::Ipv4Address::GetAny(), 9));
      receivers[i]->SetRecvCallback(
          ns3::Callback<void, ns3::Ptr<ns3::Socket>>([this, i](ns3::Ptr<ns3::Socket> socket) {
            while (socket->Recv()) udp_received[i]++;
          }));
      senders[i] = ns3::Socket::CreateSocket(nodes.Get(i), ns3::UdpSocketFactory::GetTypeId());
      senders[i]->Connect(ns3::InetSocketAddress(interfaces.GetAddress(1 - i), 9));
    }
  }
  ~Net() { ns3::Simulator::Destroy(); }

  // Records the time of every `source` event into `times`.
  void Count(ns3::Ptr<ns3::NetDevice> device, const std::string& source,
             std::vector<double>* times) {
    device->TraceConnectWithoutContext(source, PacketCallback([times](ns3::Ptr<const ns3::Packet>) {
                                         times->push_back(ns3::Simulator::Now().GetSeconds());
                                       }));
  }
  // At `at_s`, node `from` sends `count` UDP packets of `ip_bytes` bytes (IP size).
  void SendAt(int from, double at_s, int count, uint32_t ip_bytes) {
    ns3::Simulator::Schedule(ns3::Seconds(at_s), [this, from, count, ip_bytes] {
      for (int i = 0; i < count; ++i) senders[from]->Send(ns3::Create<ns3::Packet>(ip_bytes - 28));
    });
  }
  // Node `from` sends one `ip_bytes` packet every `interval_s` in [0, until_s).
  void SendEvery(int from, double interval_s, double until_s, uint32_t ip_bytes) {
    for (int k = 0; k * interval_s < until_s; ++k) SendAt(from, k * interval_s, 1, ip_bytes);
  }
  void Run(double stop_s) {
    ns3::Simulator::Stop(ns3::Seconds(stop_s));
    ns3::Simulator::Run();
  }

  ns3::NodeContainer nodes;
  ns3::NetDeviceContainer devices;
  ns3::Ptr<ns3::Socket> senders[2], receivers[2];
  // Event times at device i (for MacRx and PhyRxDrop: packets arriving at i).
  std::vector<double> mac_tx[2], tx_drops[2], tx_begin[2], tx_end[2], wire_losses[2], arrivals[2];
  uint32_t max_buffer[2] = {0, 0};
  int udp_received[2] = {0, 0};
};

int CountIn(const std::vector<double>& times, double from_s, double to_s) {
  return static_cast<int>(
      std::count_if(times.begin(), times.end(), [&](double t) { return t >= from_s && t < to_s; }));
}

TEST(TraceLink, OneOpportunityPerMillisecondIsTwelveMegabits) {
  NetOptions o;
  o.buffer_packets = 100;
  Net net(OnePerMs(), OnePerMs(), o);
  net.SendEvery(0, 0.0005, 2.2, 1500);  // 24 Mbit/s offered: the link is the bottleneck
  net.Run(2.3);
  // Exactly one 1500-byte packet per ms over 2 s: 12 Mbit/s.
  EXPECT_NEAR(CountIn(net.arrivals[1], 0.1, 2.1), 2000, 1);
  // Each at a whole millisecond plus the 10 ms delay, starting with the opportunity at 1 ms.
  ASSERT_GT(net.arrivals[1].size(), 2000u);
  for (size_t i = 0; i < 2000; ++i) EXPECT_NEAR(net.arrivals[1][i], 0.011 + 0.001 * i, 1e-9);
  // The rest of the offered load overflowed the device buffer; all delivered ones reached UDP.
  const size_t buffered = TraceLinkHelper::QueueOf(net.devices.Get(0))->GetNPackets();
  EXPECT_EQ(net.mac_tx[0].size(), net.tx_drops[0].size() + net.tx_begin[0].size() + buffered);
  EXPECT_GT(net.tx_drops[0].size(), 2000u);
  EXPECT_EQ(net.udp_received[1], static_cast<int>(net.arrivals[1].size()));
  EXPECT_EQ(net.max_buffer[0], 100u);
}

TEST(TraceLink, PacketsFinishWhenTheTraceHasOfferedTheirLastByte) {
  // Opportunities at 10, 20 and 30 ms (period 30 ms); jumbo MTU so 3000 bytes stay one packet.
  auto trace = Trace({10, 20, 30});
  NetOptions o;
  o.mtu = 9000;
  Net net(trace, OnePerMs(), o);
  std::vector<uint32_t> sizes;
  net.devices.Get(0)->TraceConnectWithoutContext(
      "MacTx",
      PacketCallback([&](ns3::Ptr<const ns3::Packet> p) { sizes.push_back(p->GetSize()); }));
  net.SendAt(0, 0.005, 1, 3000);  // needs the opportunities at 10 and 20 ms
  net.SendAt(0, 0.040, 1, 1500);  // at the next loop's 10 ms opportunity: that one is past
  net.Run(1);
  ASSERT_EQ(net.arrivals[1].size(), 2u);
  // Service starts on sending, ends at TimeOf(B(t) + size); arrival is one delay later.
  EXPECT_NEAR(net.tx_begin[0][0], 0.005, 1e-9);
  EXPECT_NEAR(net.tx_end[0][0], 0.020, 1e-9);
  EXPECT_NEAR(net.arrivals[1][0], 0.030, 1e-9);
  EXPECT_NEAR(net.arrivals[1][0], trace->TimeOf(trace->Cumulative(0.005) + 3000) + 0.010, 1e-9);
  EXPECT_NEAR(net.arrivals[1][1], 0.060, 1e-9);
  EXPECT_NEAR(net.arrivals[1][1], trace->TimeOf(trace->Cumulative(0.040) + 1500) + 0.010, 1e-9);
  // No link-layer header: the device sees IP packets of exactly the size sent.
  EXPECT_EQ(sizes, (std::vector<uint32_t>{3000, 1500}));
  EXPECT_EQ(net.udp_received[1], 2);
}

TEST(TraceLink, SmallPacketsShareAnOpportunity) {
  Net net(Trace({10, 20, 30}), OnePerMs());
  net.SendAt(0, 0.025, 4, 500);  // three fit in the 30 ms opportunity, the fourth waits
  net.Run(1);
  ASSERT_EQ(net.arrivals[1].size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(net.arrivals[1][i], 0.040, 1e-9) << i;
  EXPECT_NEAR(net.arrivals[1][3], 0.050, 1e-9);  // the next loop's 10 ms opportunity
}

TEST(TraceLink, TheTraceLoops) {
  // Opportunities at 2, 3, 3, 9 and 10 ms, repeating every 10 ms.
  const std::vector<double> pattern_ms = {2, 3, 3, 9, 10};
  Net net(Trace({2, 3, 3, 9, 10}), OnePerMs());
  net.SendAt(0, 0.0, 25, 1500);      // five loops' worth at once
  net.SendAt(0, 300.0005, 1, 1500);  // 30,000 loops later: the same pattern
  net.Run(301);
  ASSERT_EQ(net.arrivals[1].size(), 26u);
  for (int i = 0; i < 25; ++i) {
    EXPECT_NEAR(net.arrivals[1][i], (10.0 * (i / 5) + pattern_ms[i % 5]) / 1000 + 0.010, 1e-9) << i;
  }
  EXPECT_NEAR(net.arrivals[1][25], 300.002 + 0.010, 1e-9);
}

TEST(TraceLink, IdleLinksCostNoEvents) {
  Net net(OnePerMs(), OnePerMs());
  net.SendAt(0, 0.0, 1, 1500);
  net.SendAt(0, 100.0, 1, 1500);  // the 100,000 opportunities in between were unused and lost
  net.Run(101);
  ASSERT_EQ(net.arrivals[1].size(), 2u);
  EXPECT_NEAR(net.arrivals[1][1], 100.001 + 0.010, 1e-9);
  EXPECT_LT(ns3::Simulator::GetEventCount(), 100u);
}

TEST(TraceLink, FullBufferDropsWithoutQueueDisc) {
  NetOptions o;
  o.buffer_packets = 10;
  Net net(OnePerMs(), OnePerMs(), o);
  uint32_t buffered = 0;
  net.SendAt(0, 0.0005, 50, 1500);
  ns3::Simulator::Schedule(ns3::Seconds(0.0006), [&] {
    buffered = TraceLinkHelper::QueueOf(net.devices.Get(0))->GetNPackets();
  });
  net.Run(1);
  // One packet in service (it has left the buffer) and ten buffered; the other 39 dropped.
  EXPECT_EQ(buffered, 10u);
  EXPECT_EQ(net.tx_drops[0].size(), 39u);
  EXPECT_EQ(net.arrivals[1].size(), 11u);
  EXPECT_EQ(net.max_buffer[0], 10u);
}

TEST(TraceLink, KeptQueueDiscWithoutFlowControlPassesStraightThrough) {
  NetOptions o;
  o.buffer_packets = 10;
  o.keep_queue_disc = true;
  Net net(OnePerMs(), OnePerMs(), o);
  net.SendAt(0, 0.0005, 50, 1500);
  net.Run(1);
  EXPECT_EQ(net.tx_drops[0].size(), 39u);
  EXPECT_EQ(net.arrivals[1].size(), 11u);
}

TEST(TraceLink, FlowControlHoldsTheExcessInTheQueueDisc) {
  NetOptions o;
  o.buffer_packets = 10;
  o.keep_queue_disc = true;
  o.flow_control = true;
  Net net(OnePerMs(), OnePerMs(), o);
  TraceLinkHelper::EnableFlowControl(net.devices.Get(0));  // a second call changes nothing
  ns3::Ptr<ns3::QueueDisc> qdisc =
      net.nodes.Get(0)->GetObject<ns3::TrafficControlLayer>()->GetRootQueueDiscOnDevice(
          net.devices.Get(0));
  ASSERT_TRUE(qdisc);
  uint32_t qdisc_backlog = 0, device_backlog = 0;
  net.SendAt(0, 0.0005, 50, 1500);
  ns3::Simulator::Schedule(ns3::Seconds(0.0006), [&] {
    qdisc_backlog = qdisc->GetNPackets();
    device_backlog = TraceLinkHelper::QueueOf(net.devices.Get(0))->GetNPackets();
  });
  net.Run(1);
  // The device buffer filled (ten, plus one in service) and stopped the queue disc, which held
  // the rest and was woken as the buffer drained: nothing lost, one packet per opportunity.
  EXPECT_EQ(device_backlog, 10u);
  EXPECT_EQ(qdisc_backlog, 39u);
  EXPECT_EQ(net.max_buffer[0], 10u);
  EXPECT_EQ(net.tx_drops[0].size(), 0u);
  EXPECT_EQ(qdisc->GetNPackets(), 0u);
  ASSERT_EQ(net.arrivals[1].size(), 50u);
  for (int i = 0; i < 50; ++i) EXPECT_NEAR(net.arrivals[1][i], 0.011 + 0.001 * i, 1e-9) << i;
}

// Times of the packets lost a->b when 5000 packets cross with loss_rate 0.1.
std::vector<double> LossTimes(uint64_t seed, size_t* delivered) {
  NetOptions o;
  o.buffer_packets = 10000;
  o.ab_loss = 0.1;
  o.seed = seed;
  Net net(std::shared_ptr<CapacityProcess>(ConstantCapacity(50e6)), OnePerMs(), o);
  net.SendAt(0, 0.0, 5000, 1000);
  net.Run(2);
  *delivered = net.arrivals[1].size();
  EXPECT_EQ(net.tx_end[0].size(), 5000u);
  EXPECT_EQ(net.wire_losses[0].size(), 0u);  // losses show at the receiving end
  EXPECT_EQ(net.udp_received[1], static_cast<int>(net.arrivals[1].size()));
  return net.wire_losses[1];
}

TEST(TraceLink, RandomLossIsBinomialAndDeterministic) {
  size_t delivered = 0, delivered_again = 0, delivered_other = 0;
  const std::vector<double> lost = LossTimes(42, &delivered);
  EXPECT_EQ(lost.size() + delivered, 5000u);
  // Binomial(5000, 0.1): mean 500, sd 21.2; +- 5 sd.
  EXPECT_NEAR(static_cast<double>(lost.size()), 500.0, 106.0);
  EXPECT_EQ(LossTimes(42, &delivered_again), lost);
  EXPECT_NE(LossTimes(43, &delivered_other), lost);
}

TEST(TraceLink, DirectionsAreIndependent) {
  // a->b: 12 Mbit/s, 10 ms, no loss. b->a: one opportunity every 4 ms (3 Mbit/s), 30 ms, and
  // half the packets lost.
  auto down = OnePerMs();
  auto up = Trace({4});
  NetOptions o;
  o.buffer_packets = 100;
  o.ab_delay_s = 0.010;
  o.ba_delay_s = 0.030;
  o.ba_loss = 0.5;
  Net net(down, up, o);
  EXPECT_EQ(TraceLinkHelper::CapacityOf(net.devices.Get(0)), down.get());
  EXPECT_EQ(TraceLinkHelper::CapacityOf(net.devices.Get(1)), up.get());
  net.SendEvery(0, 0.0005, 1.2, 1500);
  net.SendEvery(1, 0.0005, 1.2, 1500);
  net.Run(1.3);
  ASSERT_FALSE(net.arrivals[1].empty());
  ASSERT_FALSE(net.arrivals[0].empty());
  ASSERT_FALSE(net.wire_losses[0].empty());
  EXPECT_NEAR(net.arrivals[1].front(), 0.001 + 0.010, 1e-9);
  EXPECT_NEAR(std::min(net.arrivals[0].front(), net.wire_losses[0].front()), 0.004 + 0.030, 1e-9);
  // Over [0.1 s, 1.1 s): 1000 packets reach b; 250 cross to a, about half of them lost.
  EXPECT_NEAR(CountIn(net.arrivals[1], 0.1, 1.1), 1000, 1);
  const int up_crossed = CountIn(net.arrivals[0], 0.1, 1.1) + CountIn(net.wire_losses[0], 0.1, 1.1);
  EXPECT_NEAR(up_crossed, 250, 1);
  EXPECT_NEAR(CountIn(net.wire_losses[0], 0.1, 1.1), 125, 40);  // Binomial(250, 0.5): sd 7.9
  EXPECT_TRUE(net.wire_losses[1].empty());
}

TEST(TraceLink, RejectsBadDirectionsAndForeignDevices) {
  ns3::NodeContainer nodes;
  nodes.Create(2);
  const LinkDirection ok{OnePerMs(), 0.01, 10, 0.0};
  const auto error_of = [&](const LinkDirection& ab, const LinkDirection& ba) {
    try {
      TraceLinkHelper::Install(nodes.Get(0), nodes.Get(1), ab, ba, 1);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  LinkDirection bad = ok;
  bad.capacity = nullptr;
  EXPECT_EQ(error_of(bad, ok), "trace link a->b: no capacity process");
  bad = ok;
  bad.delay_s = -1;
  EXPECT_EQ(error_of(ok, bad), "trace link b->a: delay_s = -1 must be finite and >= 0");
  bad = ok;
  bad.loss_rate = 2;
  EXPECT_EQ(error_of(bad, ok), "trace link a->b: loss_rate = 2 must be in [0, 1]");
  bad = ok;
  bad.buffer_packets = 0;
  EXPECT_EQ(error_of(ok, bad), "trace link b->a: buffer_packets = 0 must be >= 1");
  auto simple = ns3::CreateObject<ns3::SimpleNetDevice>();
  EXPECT_THROW(TraceLinkHelper::CapacityOf(simple), std::invalid_argument);
  EXPECT_THROW(TraceLinkHelper::EnableFlowControl(simple), std::invalid_argument);
  ns3::Simulator::Destroy();
}

}  // namespace
}  // namespace linklab::sim
