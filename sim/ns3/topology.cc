#include "sim/ns3/topology.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/rng.h"
#include "ns3/application.h"
#include "ns3/fq-codel-queue-disc.h"
#include "ns3/inet-socket-address.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/ipv4-address-helper.h"
#include "ns3/ipv4-global-routing-helper.h"
#include "ns3/node-list.h"
#include "ns3/pie-queue-disc.h"
#include "ns3/point-to-point-helper.h"
#include "ns3/point-to-point-net-device.h"
#include "ns3/red-queue-disc.h"
#include "ns3/simulator.h"
#include "ns3/socket.h"
#include "ns3/string.h"
#include "ns3/tbf-queue-disc.h"
#include "ns3/traffic-control-helper.h"
#include "ns3/traffic-control-layer.h"
#include "ns3/udp-socket-factory.h"
#include "ns3/uinteger.h"
#include "sim/ns3/htb_queue_disc.h"

namespace linklab::sim {

namespace {

const char* const kQdiscs[] = {"htb", "fifo", "codel", "fq_codel", "pie", "red", "none"};

// On/off UDP source with Pareto periods, marked as cross traffic.
class CrossSource : public ns3::Application {
 public:
  CrossSource(ns3::Address to, const CrossTrafficOptions& o, uint64_t seed)
      : to_(to), options_(o), rng_(seed) {}

 private:
  static constexpr uint32_t kPayload = 1200;
  void StartApplication() override {
    socket_ = ns3::Socket::CreateSocket(GetNode(), ns3::UdpSocketFactory::GetTypeId());
    socket_->Bind();
    socket_->Connect(to_);
    socket_->SetIpTos(DefaultDscp(AppClass::kCross) << 2);  // after Connect, which resets it
    SwitchOn();
  }
  void StopApplication() override {
    event_.Cancel();
    if (socket_) socket_->Close();
  }
  // Pareto with the given mean: scale = mean (shape - 1) / shape.
  double Pareto(double mean) {
    const double shape = options_.pareto_shape;
    const double scale = mean * (shape - 1.0) / shape;
    return scale / std::pow(1.0 - rng_.Uniform(), 1.0 / shape);
  }
  void SwitchOn() {
    on_until_ = ns3::Simulator::Now() + ns3::Seconds(Pareto(options_.mean_on_s));
    Send();
  }
  void Send() {
    if (ns3::Simulator::Now() >= on_until_) {
      event_ = ns3::Simulator::Schedule(ns3::Seconds(Pareto(options_.mean_off_s)),
                                        &CrossSource::SwitchOn, this);
      return;
    }
    socket_->Send(ns3::Create<ns3::Packet>(kPayload));
    const double gap = (kPayload + 28) * 8.0 / (options_.rate_mbps * 1e6);
    event_ = ns3::Simulator::Schedule(ns3::Seconds(gap), &CrossSource::Send, this);
  }

  ns3::Address to_;
  CrossTrafficOptions options_;
  core::Rng rng_;
  ns3::Ptr<ns3::Socket> socket_;
  ns3::Time on_until_;
  ns3::EventId event_;
};

// Marked UDP sink for cross traffic (receives and discards).
void InstallSink(ns3::Ptr<ns3::Node> node, uint16_t port) {
  ns3::Ptr<ns3::Socket> s = ns3::Socket::CreateSocket(node, ns3::UdpSocketFactory::GetTypeId());
  s->Bind(ns3::InetSocketAddress(ns3::Ipv4Address::GetAny(), port));
  s->SetRecvCallback(ns3::Callback<void, ns3::Ptr<ns3::Socket>>([](ns3::Ptr<ns3::Socket> sock) {
    while (sock->Recv()) {
    }
  }));
}

}  // namespace

void RemoveRootQdisc(ns3::Ptr<ns3::NetDevice> device) {
  // ns-3's DeleteRootQueueDiscOnDevice dereferences a missing disc in optimised builds (its
  // assert is compiled out), so ask first.
  auto tc = device->GetNode()->GetObject<ns3::TrafficControlLayer>();
  if (tc && tc->GetRootQueueDiscOnDevice(device)) tc->DeleteRootQueueDiscOnDevice(device);
}

ns3::Ptr<ns3::QueueDisc> InstallQdisc(ns3::Ptr<ns3::NetDevice> device, const std::string& name,
                                      double link_rate_bps, double shaper_bps, bool codel_leaves) {
  RemoveRootQdisc(device);
  if (name == "none") return nullptr;
  if (name != "htb") return InstallNamedQdisc(device, name, shaper_bps);
  ns3::Ptr<HtbQueueDisc> htb = ns3::CreateObject<HtbQueueDisc>();
  htb->SetCodelLeaves(codel_leaves);
  htb->Configure(TransparentHtb(link_rate_bps));
  device->GetNode()->GetObject<ns3::TrafficControlLayer>()->SetRootQueueDiscOnDevice(device, htb);
  return htb;
}

ns3::Ptr<ns3::QueueDisc> InstallNamedQdisc(ns3::Ptr<ns3::NetDevice> device, const std::string& name,
                                           double shaper_bps) {
  RemoveRootQdisc(device);
  const char* type = nullptr;
  if (name == "fifo") {
    type = "ns3::FifoQueueDisc";
  } else if (name == "codel") {
    type = "ns3::CoDelQueueDisc";
  } else if (name == "fq_codel") {
    type = "ns3::FqCoDelQueueDisc";
  } else if (name == "pie") {
    type = "ns3::PieQueueDisc";
  } else if (name == "red") {
    type = "ns3::RedQueueDisc";
  } else {
    throw std::invalid_argument("unknown queue disc '" + name + "'");
  }
  // (FifoQueueDisc's default size is 1000 packets, as Linux's pfifo_fast.)
  ns3::TrafficControlHelper tch;
  if (shaper_bps > 0) {
    const auto burst = static_cast<uint32_t>(std::max(2.0 * 1500, shaper_bps / 8 * 1e-3));
    const uint16_t root = tch.SetRootQueueDisc(
        "ns3::TbfQueueDisc", "Rate", ns3::DataRateValue(ns3::DataRate(shaper_bps)), "Burst",
        ns3::UintegerValue(burst), "Mtu", ns3::UintegerValue(1500));
    tch.AddQueueDiscClasses(root, 1, "ns3::QueueDiscClass");
    tch.AddChildQueueDisc(root, 0, type);
  } else {
    tch.SetRootQueueDisc(type);
  }
  ns3::Ptr<ns3::QueueDisc> root = tch.Install(device).Get(0);
  // A child knows no device: FQ-CoDel's quantum (the device MTU when 0) must be given, or its
  // round robin never earns credit. 1514: Linux's default (MTU plus Ethernet header).
  if (shaper_bps > 0 && name == "fq_codel") {
    ns3::DynamicCast<ns3::FqCoDelQueueDisc>(root->GetQueueDiscClass(0)->GetQueueDisc())
        ->SetQuantum(1514);
  }
  return root;
}

int64_t AssignRandomStreams(int64_t first) {
  ns3::NodeContainer all = ns3::NodeContainer::GetGlobal();
  int64_t stream = first + ns3::InternetStackHelper().AssignStreams(all, first);
  for (uint32_t n = 0; n < all.GetN(); ++n) {
    ns3::Ptr<ns3::Node> node = all.Get(n);
    auto tc = node->GetObject<ns3::TrafficControlLayer>();
    if (!tc) continue;
    for (uint32_t d = 0; d < node->GetNDevices(); ++d) {
      ns3::Ptr<ns3::QueueDisc> q = tc->GetRootQueueDiscOnDevice(node->GetDevice(d));
      // A token-bucket shaper's child (InstallNamedQdisc) draws as a root would.
      if (ns3::DynamicCast<ns3::TbfQueueDisc>(q)) q = q->GetQueueDiscClass(0)->GetQueueDisc();
      if (auto red = ns3::DynamicCast<ns3::RedQueueDisc>(q)) stream += red->AssignStreams(stream);
      if (auto pie = ns3::DynamicCast<ns3::PieQueueDisc>(q)) stream += pie->AssignStreams(stream);
    }
  }
  return stream - first;
}

void CheckQdiscName(const std::string& name, const std::string& what) {
  for (const char* q : kQdiscs) {
    if (name == q) return;
  }
  throw std::invalid_argument(what + " = '" + name +
                              "': unknown queue disc; choose htb, fifo, codel, fq_codel, pie, "
                              "red or none");
}

ns3::Ptr<ns3::Queue<ns3::Packet>> DeviceQueue(ns3::Ptr<ns3::NetDevice> device) {
  if (auto p2p = ns3::DynamicCast<ns3::PointToPointNetDevice>(device)) return p2p->GetQueue();
  return TraceLinkHelper::QueueOf(device);
}

AccessPath BuildAccessPath(const AccessPathOptions& o) {
  CheckQdiscName(o.shaping_qdisc, "qdisc");
  CheckQdiscName(o.bottleneck_qdisc, "bottleneck_qdisc");
  AccessPath path;
  const bool cross = o.cross.flows > 0;
  path.nodes.Create(cross ? 6 : 4);
  path.client = path.nodes.Get(0);
  path.gateway = path.nodes.Get(1);
  path.edge = path.nodes.Get(2);
  path.server = path.nodes.Get(3);
  ns3::InternetStackHelper stack;
  stack.Install(path.nodes);

  ns3::PointToPointHelper access;
  access.SetDeviceAttribute("DataRate", ns3::DataRateValue(ns3::DataRate(o.access_rate_bps)));
  access.SetChannelAttribute("Delay", ns3::TimeValue(ns3::Seconds(o.access_delay_s)));
  access.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", ns3::StringValue("100p"));
  ns3::NetDeviceContainer access_devs = access.Install(path.client, path.gateway);
  ns3::NetDeviceContainer bottleneck =
      TraceLinkHelper::Install(path.edge, path.gateway, o.down, o.up, o.seed);
  ns3::PointToPointHelper server_link;
  server_link.SetDeviceAttribute("DataRate", ns3::DataRateValue(ns3::DataRate(o.server_rate_bps)));
  server_link.SetChannelAttribute("Delay", ns3::TimeValue(ns3::Seconds(o.server_delay_s)));
  server_link.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize", ns3::StringValue("1000p"));
  ns3::NetDeviceContainer server_devs = server_link.Install(path.edge, path.server);

  ns3::Ipv4AddressHelper addresses;
  addresses.SetBase("10.1.1.0", "255.255.255.0");
  ns3::Ipv4InterfaceContainer access_ifs = addresses.Assign(access_devs);
  addresses.SetBase("10.1.2.0", "255.255.255.0");
  addresses.Assign(bottleneck);
  addresses.SetBase("10.1.3.0", "255.255.255.0");
  ns3::Ipv4InterfaceContainer server_ifs = addresses.Assign(server_devs);
  path.client_address = access_ifs.GetAddress(0);
  path.server_address = server_ifs.GetAddress(1);
  path.client_access = access_devs.Get(0);
  path.gateway_access = access_devs.Get(1);
  path.edge_bottleneck = bottleneck.Get(0);
  path.gateway_bottleneck = bottleneck.Get(1);

  if (cross) {
    ns3::Ptr<ns3::Node> src = path.nodes.Get(4), dst = path.nodes.Get(5);
    ns3::PointToPointHelper fast;
    fast.SetDeviceAttribute("DataRate", ns3::DataRateValue(ns3::DataRate(10e9)));
    fast.SetChannelAttribute("Delay", ns3::TimeValue(ns3::MicroSeconds(100)));
    ns3::NetDeviceContainer a = fast.Install(src, path.edge);
    ns3::NetDeviceContainer b = fast.Install(path.gateway, dst);
    addresses.SetBase("10.1.4.0", "255.255.255.0");
    addresses.Assign(a);
    addresses.SetBase("10.1.5.0", "255.255.255.0");
    ns3::Ipv4InterfaceContainer b_ifs = addresses.Assign(b);
    path.cross_exit = b.Get(1);
    const uint16_t port = 9;
    InstallSink(dst, port);
    for (int i = 0; i < o.cross.flows; ++i) {
      ns3::Ptr<CrossSource> app =
          ns3::CreateObject<CrossSource>(ns3::InetSocketAddress(b_ifs.GetAddress(1), port), o.cross,
                                         core::Rng::Derive(o.seed, 1000 + i));
      src->AddApplication(app);
      app->SetStartTime(ns3::Seconds(0.1 * i));
    }
  }

  // Queue discs: the shaping points at the gateway, the bottleneck buffer at the edge, plain
  // FIFOs elsewhere as on a Linux host.
  const double down_rate = o.access_rate_bps;
  const double up_rate = std::max(o.up.capacity->MeanRateBps(0, 60) * 4, 1e9);
  const bool codel = o.htb_leaf == "codel";
  path.shaper_down =
      InstallQdisc(path.gateway_access, o.shaping_qdisc, down_rate, o.shaper_down_bps, codel);
  path.shaper_up =
      InstallQdisc(path.gateway_bottleneck, o.shaping_qdisc, up_rate, o.shaper_up_bps, codel);
  path.edge_qdisc = InstallQdisc(path.edge_bottleneck, o.bottleneck_qdisc, 1e9);
  // A queue disc above a trace-link buffer waits for room in it; without one, the buffer is a
  // plain drop-tail queue.
  if (path.shaper_up) TraceLinkHelper::EnableFlowControl(path.gateway_bottleneck);
  if (path.edge_qdisc) TraceLinkHelper::EnableFlowControl(path.edge_bottleneck);
  ns3::Ipv4GlobalRoutingHelper::PopulateRoutingTables();
  return path;
}

}  // namespace linklab::sim
