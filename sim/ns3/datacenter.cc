// The datacenter link family on ns-3: a leaf-spine fabric with ECMP, and incast / shuffle
// workloads (sim/scenario.h; registered by RegisterNs3Scenarios).
//
//   spine0   spine1   ...          every leaf connects to every spine
//     │ ╲   ╱ │
//   leaf0   leaf1   ...            `racks` leaves, `hosts_per_rack` hosts each
//   │ │ │   │ │ │
//   hosts   hosts
//
// All links run at `link_gbps` with a per-link delay of rtt/8 (a cross-rack round trip
// crosses 8 links). Routing is ns-3's global routing with per-packet random ECMP across the
// spines. Packet-level cost grows with rate x RTT (TCP's per-ACK work grows with the packets in
// flight), so jumbo frames (mtu, default 9000) and `scale` keep multi-gigabit fabrics
// practical: see the README's "scale knob".

#include <cmath>
#include <memory>
#include <stdexcept>

#include "core/text.h"
#include "ns3/core-module.h"
#include "ns3/internet-module.h"
#include "ns3/point-to-point-module.h"
#include "ns3/traffic-control-module.h"
#include "sim/ns3/apps.h"
#include "sim/ns3/htb_queue_disc.h"
#include "sim/ns3/ns3_scenario.h"
#include "sim/ns3/probes.h"
#include "sim/ns3/topology.h"

namespace linklab::sim {

std::vector<core::ParamSpec> DatacenterSpecs() {
  std::vector<core::ParamSpec> specs = {
      core::IntParam("racks", 2, "leaf switches (racks)", 2, 64),
      core::IntParam("hosts_per_rack", 4, "hosts under each leaf", 1, 256),
      core::IntParam("spines", 2, "spine switches", 1, 64),
      core::DoubleParam("link_gbps", 10.0, "rate of every link", 0.001, 400.0),
      core::DoubleParam("rtt_ms", 1.0, "base cross-rack round-trip time (8 link delays)", 1e-4,
                        1000.0),
      core::IntParam("mtu", 9000, "link MTU in bytes (TCP segments are mtu - 52)", 576, 9000),
      core::IntParam("buffer_packets", 200, "switch port buffer (drop-tail)", 1, 1000000),
      core::StringParam("ecmp", "packet", "spread traffic over the spines per packet, or not",
                        {"packet", "off"}),
      core::IntParam("incast_senders", 6,
                     "hosts (in other racks first) answering each incast round; 0: no incast", 0,
                     16384),
      core::IntParam("incast_kb", 256, "bytes each sender returns per round, in KB", 1, 10000000),
      core::DoubleParam("incast_period_s", 0.05, "time between incast rounds", 0.0001, 3600.0),
      core::IntParam("shuffle_kb", 0,
                     "all-to-all shuffle: KB each host sends every other host per round; 0: off", 0,
                     10000000),
      core::DoubleParam("shuffle_period_s", 0.5, "time between shuffle rounds", 0.0001, 3600.0),
  };
  // The shared keys, less those of the access-path families.
  for (const auto& c : CommonScenarioSpecs("", "cubic")) {
    if (c.name != "workload" && c.name != "bottleneck_qdisc") specs.push_back(c);
  }
  return specs;
}

namespace {

// Incast answers are latency-sensitive request/response traffic (class web); shuffle
// transfers are throughput traffic (class bulk).
constexpr AppClass kIncastClass = AppClass::kWeb;
constexpr AppClass kShuffleClass = AppClass::kBulk;
constexpr uint16_t kIncastPort = 7000, kShufflePort = 7001;

class DatacenterScenario : public Ns3Scenario {
 public:
  explicit DatacenterScenario(const core::Params& p) : Ns3Scenario(p, {}) {
    racks_ = static_cast<int>(p.Int("racks"));
    hosts_per_rack_ = static_cast<int>(p.Int("hosts_per_rack"));
    spines_ = static_cast<int>(p.Int("spines"));
    link_bps_ = p.Double("link_gbps") * 1e9;
    rtt_s_ = p.Double("rtt_ms") / 1e3;
    mtu_ = static_cast<int>(p.Int("mtu"));
    buffer_ = static_cast<uint32_t>(p.Int("buffer_packets"));
    ecmp_ = p.String("ecmp") == "packet";
    incast_senders_ = static_cast<int>(p.Int("incast_senders"));
    incast_bytes_ = static_cast<uint64_t>(p.Int("incast_kb")) * 1000;
    incast_period_s_ = p.Double("incast_period_s");
    shuffle_bytes_ = static_cast<uint64_t>(p.Int("shuffle_kb")) * 1000;
    shuffle_period_s_ = p.Double("shuffle_period_s");
    tcp_ = p.String("tcp");
    const int hosts = racks_ * hosts_per_rack_;
    if (incast_senders_ > hosts - 1) {
      throw std::invalid_argument("incast_senders = " + std::to_string(incast_senders_) +
                                  ": only " + std::to_string(hosts - 1) +
                                  " hosts besides the receiver");
    }
    info_.links = {"rx", "fabric"};
    info_.shaping_points = {"hosts"};
    if (incast_senders_ > 0) info_.classes.push_back(kIncastClass);
    if (shuffle_bytes_ > 0) info_.classes.push_back(kShuffleClass);
  }

 private:
  void Build(uint64_t seed) override {
    ns3::Config::SetDefault("ns3::Ipv4GlobalRouting::RandomEcmpRouting", ns3::BooleanValue(ecmp_));
    const double rate = link_bps_ * scale_;
    const int n_hosts = racks_ * hosts_per_rack_;
    ns3::NodeContainer hosts, leaves, spines;
    hosts.Create(n_hosts);
    leaves.Create(racks_);
    spines.Create(spines_);
    ns3::NodeContainer all(hosts, leaves, spines);
    ns3::InternetStackHelper().Install(all);

    ns3::PointToPointHelper link;
    link.SetDeviceAttribute("DataRate",
                            ns3::DataRateValue(ns3::DataRate(static_cast<uint64_t>(rate))));
    link.SetDeviceAttribute("Mtu", ns3::UintegerValue(mtu_));
    link.SetChannelAttribute("Delay", ns3::TimeValue(ns3::Seconds(rtt_s_ / 8.0)));
    link.SetQueue("ns3::DropTailQueue<Packet>", "MaxSize",
                  ns3::StringValue(std::to_string(buffer_) + "p"));
    ns3::Ipv4AddressHelper addresses;
    addresses.SetBase("10.0.0.0", "255.255.255.252");
    std::vector<ns3::Ipv4Address> host_address(n_hosts);
    std::vector<ns3::Ptr<ns3::NetDevice>> host_nic(n_hosts), leaf_port(n_hosts);
    std::vector<ns3::Ptr<ns3::NetDevice>> switch_ports;
    for (int h = 0; h < n_hosts; ++h) {
      ns3::NetDeviceContainer d = link.Install(hosts.Get(h), leaves.Get(h / hosts_per_rack_));
      host_address[h] = addresses.Assign(d).GetAddress(0);
      addresses.NewNetwork();
      host_nic[h] = d.Get(0);
      leaf_port[h] = d.Get(1);
      switch_ports.push_back(d.Get(1));
    }
    std::vector<ns3::Ptr<ns3::NetDevice>> uplinks, uplink_ends;  // leaf -> spine
    for (int l = 0; l < racks_; ++l) {
      for (int s = 0; s < spines_; ++s) {
        ns3::NetDeviceContainer d = link.Install(leaves.Get(l), spines.Get(s));
        addresses.Assign(d);
        addresses.NewNetwork();
        uplinks.push_back(d.Get(0));
        uplink_ends.push_back(d.Get(1));
        switch_ports.push_back(d.Get(0));
        switch_ports.push_back(d.Get(1));
      }
    }
    // Switch ports are plain drop-tail buffers; hosts' NICs carry the shaping queue disc.
    for (auto& port : switch_ports) RemoveRootQdisc(port);
    for (int h = 0; h < n_hosts; ++h) {
      AddShaper("hosts", InstallQdisc(host_nic[h], info_.qdisc, rate));
    }
    ns3::Ipv4GlobalRoutingHelper::PopulateRoutingTables();

    capacity_ = ConstantCapacity(rate);
    CapacityProcess* capacity = capacity_.get();
    PathProbe& rx = AddProbe("rx", capacity, core::Rng::Derive(seed, 3));
    rx.AddDeviceQueue(DeviceQueue(leaf_port[0]), true);
    rx.AddExit(host_nic[0]);
    rx.AddReceiver(hosts.Get(0)->GetId());
    PathProbe& fabric = AddProbe("fabric", capacity, core::Rng::Derive(seed, 4));
    for (size_t i = 0; i < uplinks.size(); ++i) {
      fabric.AddDeviceQueue(DeviceQueue(uplinks[i]), true);
      fabric.AddExit(uplink_ends[i]);
    }
    for (int h = 1; h < n_hosts; ++h) fabric.AddReceiver(hosts.Get(h)->GetId());
    ProbeDelays(hosts);

    // Socket buffers: twice the fabric's bandwidth-delay product plus its buffers.
    const uint32_t buffer = SocketBufferFor(rate, rtt_s_ + 2.0 * buffer_ * mtu_ * 8 / rate);
    // Incast: host 0 asks the senders (other racks first) for incast_kb each, every period.
    if (incast_senders_ > 0) {
      std::vector<int> order;
      for (int h = hosts_per_rack_; h < n_hosts; ++h) order.push_back(h);
      for (int h = 1; h < hosts_per_rack_; ++h) order.push_back(h);
      std::vector<ns3::Ipv4Address> senders;
      for (int i = 0; i < incast_senders_; ++i) {
        InstallFanInServer(hosts.Get(order[i]), kIncastPort, tcp_, kIncastClass, buffer,
                           rx.recorder().counters(kIncastClass));
        senders.push_back(host_address[order[i]]);
      }
      InstallFanInClient(hosts.Get(0), senders, kIncastPort,
                         std::max<uint64_t>(1, incast_bytes_ * scale_), incast_period_s_, 0.01,
                         tcp_, kIncastClass, buffer, rx.recorder().counters(kIncastClass));
    }
    // Shuffle: every host fetches shuffle_kb from every other host, every period.
    if (shuffle_bytes_ > 0) {
      core::Rng rng(core::Rng::Derive(seed, 5));
      for (int h = 0; h < n_hosts; ++h) {
        InstallFanInServer(hosts.Get(h), kShufflePort, tcp_, kShuffleClass, buffer,
                           fabric.recorder().counters(kShuffleClass));
      }
      for (int h = 0; h < n_hosts; ++h) {
        std::vector<ns3::Ipv4Address> others;
        for (int o = 0; o < n_hosts; ++o) {
          if (o != h) others.push_back(host_address[o]);
        }
        InstallFanInClient(hosts.Get(h), others, kShufflePort,
                           std::max<uint64_t>(1, shuffle_bytes_ * scale_), shuffle_period_s_,
                           0.01 + rng.Uniform(0, 0.001), tcp_, kShuffleClass, buffer,
                           (h == 0 ? rx : fabric).recorder().counters(kShuffleClass));
      }
    }
  }

  int racks_, hosts_per_rack_, spines_, mtu_, incast_senders_;
  double link_bps_, rtt_s_, incast_period_s_, shuffle_period_s_;
  uint32_t buffer_;
  bool ecmp_;
  uint64_t incast_bytes_, shuffle_bytes_;
  std::string tcp_;
  std::unique_ptr<CapacityProcess> capacity_;
};

}  // namespace

std::unique_ptr<Scenario> MakeNs3Datacenter(const core::Params& params) {
  return std::make_unique<DatacenterScenario>(params);
}

}  // namespace linklab::sim
