#include "sim/ns3/trace_link.h"

#include <algorithm>
#include <stdexcept>

#include "core/rng.h"
#include "ns3/channel.h"
#include "ns3/drop-tail-queue.h"
#include "ns3/mac48-address.h"
#include "ns3/net-device-queue-interface.h"
#include "ns3/simulator.h"
#include "ns3/tag.h"
#include "ns3/trace-source-accessor.h"
#include "ns3/traced-callback.h"
#include "ns3/uinteger.h"

namespace linklab::sim {

namespace {

// The L3 protocol number rides along as a tag: the link adds no header, so packet sizes (and
// the capacity they use) are the IP packets' own.
class ProtocolTag : public ns3::Tag {
 public:
  static ns3::TypeId GetTypeId() {
    static ns3::TypeId tid = ns3::TypeId("linklab::sim::ProtocolTag")
                                 .SetParent<ns3::Tag>()
                                 .AddConstructor<ProtocolTag>();
    return tid;
  }
  ns3::TypeId GetInstanceTypeId() const override { return GetTypeId(); }
  uint32_t GetSerializedSize() const override { return 2; }
  void Serialize(ns3::TagBuffer i) const override { i.WriteU16(protocol); }
  void Deserialize(ns3::TagBuffer i) override { protocol = i.ReadU16(); }
  void Print(std::ostream& os) const override { os << "protocol=" << protocol; }
  uint16_t protocol = 0;
};

class TraceLinkChannel;

class TraceLinkNetDevice : public ns3::NetDevice {
 public:
  static ns3::TypeId GetTypeId() {
    static ns3::TypeId tid =
        ns3::TypeId("linklab::sim::TraceLinkNetDevice")
            .SetParent<ns3::NetDevice>()
            .AddConstructor<TraceLinkNetDevice>()
            .AddTraceSource("MacTx", "A packet offered for sending",
                            ns3::MakeTraceSourceAccessor(&TraceLinkNetDevice::mac_tx_),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("MacTxDrop", "A packet dropped: the device buffer is full",
                            ns3::MakeTraceSourceAccessor(&TraceLinkNetDevice::mac_tx_drop_),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("PhyTxBegin", "Service of a packet starts",
                            ns3::MakeTraceSourceAccessor(&TraceLinkNetDevice::phy_tx_begin_),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("PhyTxEnd", "Service of a packet ends",
                            ns3::MakeTraceSourceAccessor(&TraceLinkNetDevice::phy_tx_end_),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("PhyRxDrop", "A packet lost on the wire",
                            ns3::MakeTraceSourceAccessor(&TraceLinkNetDevice::phy_rx_drop_),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("MacRx", "A packet delivered to the stack",
                            ns3::MakeTraceSourceAccessor(&TraceLinkNetDevice::mac_rx_),
                            "ns3::Packet::TracedCallback");
    return tid;
  }

  void Configure(const TraceLinkDirection& tx, uint64_t seed) {
    if (!tx.capacity) throw std::invalid_argument("trace link: no capacity process");
    if (tx.delay_s < 0) {
      throw std::invalid_argument("trace link: negative delay " + std::to_string(tx.delay_s) +
                                  " s");
    }
    if (tx.loss_rate < 0 || tx.loss_rate > 1) {
      throw std::invalid_argument("trace link: loss rate " + std::to_string(tx.loss_rate) +
                                  " is outside [0, 1]");
    }
    if (tx.buffer_packets < 1) throw std::invalid_argument("trace link: buffer must be >= 1");
    tx_ = tx;
    queue_ = ns3::CreateObject<ns3::DropTailQueue<ns3::Packet>>();
    queue_->SetMaxSize(ns3::QueueSize(ns3::QueueSizeUnit::PACKETS, tx.buffer_packets));
    loss_rng_.Seed(seed);
  }
  void Attach(ns3::Ptr<TraceLinkChannel> channel);
  ns3::Ptr<ns3::Queue<ns3::Packet>> queue() const { return queue_; }
  CapacityProcess* capacity() const { return tx_.capacity.get(); }
  double delay_s() const { return tx_.delay_s; }

  // Arrival from the peer after the propagation delay; random loss applies here.
  void Receive(ns3::Ptr<ns3::Packet> packet, double loss_rate) {
    if (loss_rate > 0 && loss_rng_.Uniform() < loss_rate) {
      phy_rx_drop_(packet);
      return;
    }
    ProtocolTag tag;
    packet->RemovePacketTag(tag);
    mac_rx_(packet);
    if (!rx_callback_.IsNull()) rx_callback_(this, packet, tag.protocol, peer_address_);
  }
  void set_peer_address(ns3::Address a) { peer_address_ = a; }
  double loss_rate() const { return tx_.loss_rate; }

  // NetDevice
  void SetIfIndex(const uint32_t index) override { if_index_ = index; }
  uint32_t GetIfIndex() const override { return if_index_; }
  ns3::Ptr<ns3::Channel> GetChannel() const override;
  void SetAddress(ns3::Address address) override {
    address_ = ns3::Mac48Address::ConvertFrom(address);
  }
  ns3::Address GetAddress() const override { return address_; }
  bool SetMtu(const uint16_t mtu) override {
    mtu_ = mtu;
    return true;
  }
  uint16_t GetMtu() const override { return mtu_; }
  bool IsLinkUp() const override { return true; }
  void AddLinkChangeCallback(ns3::Callback<void>) override {}
  bool IsBroadcast() const override { return true; }
  ns3::Address GetBroadcast() const override { return ns3::Mac48Address::GetBroadcast(); }
  bool IsMulticast() const override { return true; }
  ns3::Address GetMulticast(ns3::Ipv4Address) const override {
    return ns3::Mac48Address("01:00:5e:00:00:00");
  }
  ns3::Address GetMulticast(ns3::Ipv6Address) const override {
    return ns3::Mac48Address("33:33:00:00:00:00");
  }
  bool IsPointToPoint() const override { return true; }
  bool IsBridge() const override { return false; }
  bool Send(ns3::Ptr<ns3::Packet> packet, const ns3::Address&, uint16_t protocol) override {
    ProtocolTag tag;
    tag.protocol = protocol;
    packet->AddPacketTag(tag);
    mac_tx_(packet);
    if (!queue_->Enqueue(packet)) {
      mac_tx_drop_(packet);
      return false;
    }
    if (!busy_) StartService(/*continuing=*/false);
    return true;
  }
  bool SendFrom(ns3::Ptr<ns3::Packet>, const ns3::Address&, const ns3::Address&,
                uint16_t) override {
    return false;
  }
  ns3::Ptr<ns3::Node> GetNode() const override { return node_; }
  void SetNode(ns3::Ptr<ns3::Node> node) override { node_ = node; }
  bool NeedsArp() const override { return false; }
  void SetReceiveCallback(ReceiveCallback cb) override { rx_callback_ = cb; }
  void SetPromiscReceiveCallback(PromiscReceiveCallback) override {}
  bool SupportsSendFrom() const override { return false; }

 protected:
  void DoDispose() override {
    node_ = nullptr;
    channel_ = nullptr;
    queue_ = nullptr;
    rx_callback_ = ReceiveCallback();
    ns3::NetDevice::DoDispose();
  }

 private:
  // Serves the head of the buffer: its last byte leaves when the capacity process has offered
  // it. A link that was idle cannot use capacity from before now; a busy one continues from
  // its byte position (several packets share one mahimahi opportunity).
  void StartService(bool continuing) {
    ns3::Ptr<ns3::Packet> packet = queue_->Dequeue();
    if (!packet) return;
    busy_ = true;
    const double now = ns3::Simulator::Now().GetSeconds();
    if (!continuing) position_ = std::max(position_, tx_.capacity->Cumulative(now));
    position_ += packet->GetSize();
    const double finish = tx_.capacity->TimeOf(position_);
    phy_tx_begin_(packet);
    ns3::Simulator::Schedule(ns3::Seconds(std::max(0.0, finish - now)),
                             &TraceLinkNetDevice::EndService, this, packet);
  }
  void EndService(ns3::Ptr<ns3::Packet> packet);

  ns3::Ptr<ns3::Node> node_;
  ns3::Ptr<TraceLinkChannel> channel_;
  ns3::Mac48Address address_;
  ns3::Address peer_address_;
  uint32_t if_index_ = 0;
  uint16_t mtu_ = 1500;
  TraceLinkDirection tx_;
  ns3::Ptr<ns3::DropTailQueue<ns3::Packet>> queue_;
  core::Rng loss_rng_;
  bool busy_ = false;
  double position_ = 0.0;  // bytes of the capacity process used or lost so far
  ReceiveCallback rx_callback_;
  ns3::TracedCallback<ns3::Ptr<const ns3::Packet>> mac_tx_, mac_tx_drop_, phy_tx_begin_,
      phy_tx_end_, phy_rx_drop_, mac_rx_;
};

class TraceLinkChannel : public ns3::Channel {
 public:
  static ns3::TypeId GetTypeId() {
    static ns3::TypeId tid = ns3::TypeId("linklab::sim::TraceLinkChannel")
                                 .SetParent<ns3::Channel>()
                                 .AddConstructor<TraceLinkChannel>();
    return tid;
  }
  void Attach(ns3::Ptr<TraceLinkNetDevice> device) { devices_.push_back(device); }
  std::size_t GetNDevices() const override { return devices_.size(); }
  ns3::Ptr<ns3::NetDevice> GetDevice(std::size_t i) const override { return devices_.at(i); }
  // Carries a packet from `from` to the other end after `from`'s propagation delay.
  void Transmit(ns3::Ptr<ns3::Packet> packet, TraceLinkNetDevice* from) {
    ns3::Ptr<TraceLinkNetDevice> to = devices_[0] == from ? devices_[1] : devices_[0];
    ns3::Simulator::ScheduleWithContext(to->GetNode()->GetId(), ns3::Seconds(from->delay_s()),
                                        &TraceLinkNetDevice::Receive, to, packet,
                                        from->loss_rate());
  }

 protected:
  void DoDispose() override {
    devices_.clear();
    ns3::Channel::DoDispose();
  }

 private:
  std::vector<ns3::Ptr<TraceLinkNetDevice>> devices_;
};

void TraceLinkNetDevice::Attach(ns3::Ptr<TraceLinkChannel> channel) {
  channel_ = channel;
  channel->Attach(this);
}

ns3::Ptr<ns3::Channel> TraceLinkNetDevice::GetChannel() const { return channel_; }

void TraceLinkNetDevice::EndService(ns3::Ptr<ns3::Packet> packet) {
  busy_ = false;
  phy_tx_end_(packet);
  channel_->Transmit(packet, this);
  if (queue_ && !queue_->IsEmpty()) StartService(/*continuing=*/true);
}

TraceLinkNetDevice* AsTraceLink(ns3::Ptr<ns3::NetDevice> device) {
  auto* d = dynamic_cast<TraceLinkNetDevice*>(ns3::PeekPointer(device));
  if (!d) throw std::logic_error("not a trace-link device");
  return d;
}

}  // namespace

ns3::NetDeviceContainer TraceLinkHelper::Install(ns3::Ptr<ns3::Node> a, ns3::Ptr<ns3::Node> b,
                                                 const TraceLinkDirection& ab,
                                                 const TraceLinkDirection& ba, uint64_t seed) {
  ns3::Ptr<TraceLinkChannel> channel = ns3::CreateObject<TraceLinkChannel>();
  ns3::NetDeviceContainer out;
  const TraceLinkDirection* dirs[2] = {&ab, &ba};
  ns3::Ptr<ns3::Node> nodes[2] = {a, b};
  ns3::Ptr<TraceLinkNetDevice> devs[2];
  for (int i = 0; i < 2; ++i) {
    devs[i] = ns3::CreateObject<TraceLinkNetDevice>();
    devs[i]->SetAddress(ns3::Mac48Address::Allocate());
    devs[i]->Configure(*dirs[i], core::Rng::Derive(seed, 77 + i));
    nodes[i]->AddDevice(devs[i]);
    devs[i]->Attach(channel);
    devs[i]->AggregateObject(ns3::CreateObject<ns3::NetDeviceQueueInterface>());
    out.Add(devs[i]);
  }
  devs[0]->set_peer_address(devs[1]->GetAddress());
  devs[1]->set_peer_address(devs[0]->GetAddress());
  return out;
}

void TraceLinkHelper::EnableFlowControl(ns3::Ptr<ns3::NetDevice> device) {
  ns3::Ptr<ns3::NetDeviceQueueInterface> ndqi = device->GetObject<ns3::NetDeviceQueueInterface>();
  ndqi->GetTxQueue(0)->ConnectQueueTraces(AsTraceLink(device)->queue());
}

CapacityProcess* TraceLinkHelper::CapacityOf(ns3::Ptr<ns3::NetDevice> device) {
  return AsTraceLink(device)->capacity();
}

ns3::Ptr<ns3::Queue<ns3::Packet>> TraceLinkHelper::QueueOf(ns3::Ptr<ns3::NetDevice> device) {
  return AsTraceLink(device)->queue();
}

}  // namespace linklab::sim
