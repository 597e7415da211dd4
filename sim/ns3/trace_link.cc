#include "sim/ns3/trace_link.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/rng.h"
#include "core/text.h"
#include "ns3/channel.h"
#include "ns3/drop-tail-queue.h"
#include "ns3/mac48-address.h"
#include "ns3/net-device-queue-interface.h"
#include "ns3/simulator.h"
#include "ns3/tag.h"
#include "ns3/trace-source-accessor.h"
#include "ns3/traced-callback.h"

namespace linklab::sim {

namespace {

// The link adds no header, so a packet uses exactly its IP size of the capacity; the L3
// protocol number travels with it as a packet tag instead.
class ProtocolTag : public ns3::Tag {
 public:
  static ns3::TypeId GetTypeId() {
    static ns3::TypeId tid = ns3::TypeId("linklab::sim::TraceLinkProtocolTag")
                                 .SetParent<ns3::Tag>()
                                 .AddConstructor<ProtocolTag>();
    return tid;
  }
  ns3::TypeId GetInstanceTypeId() const override { return GetTypeId(); }
  uint32_t GetSerializedSize() const override { return 2; }
  void Serialize(ns3::TagBuffer buffer) const override { buffer.WriteU16(protocol); }
  void Deserialize(ns3::TagBuffer buffer) override { protocol = buffer.ReadU16(); }
  void Print(std::ostream& os) const override { os << "protocol=" << protocol; }

  uint16_t protocol = 0;
};

class TraceLinkChannel;

// One end of a trace link. It sends in its own direction (buffer, capacity process, delay) and
// applies the peer direction's random loss to what arrives.
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
            .AddTraceSource("MacTxDrop", "A packet dropped because the device buffer is full",
                            ns3::MakeTraceSourceAccessor(&TraceLinkNetDevice::mac_tx_drop_),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("PhyTxBegin", "Service of a packet starts",
                            ns3::MakeTraceSourceAccessor(&TraceLinkNetDevice::phy_tx_begin_),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("PhyTxEnd", "Service of a packet ends (its last byte has left)",
                            ns3::MakeTraceSourceAccessor(&TraceLinkNetDevice::phy_tx_end_),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("PhyRxDrop", "A packet lost on the wire (seen at the receiver)",
                            ns3::MakeTraceSourceAccessor(&TraceLinkNetDevice::phy_rx_drop_),
                            "ns3::Packet::TracedCallback")
            .AddTraceSource("MacRx", "A packet passed up to the receiver's stack",
                            ns3::MakeTraceSourceAccessor(&TraceLinkNetDevice::mac_rx_),
                            "ns3::Packet::TracedCallback");
    return tid;
  }

  // Sends per `tx`; packets from the peer are lost with `rx_loss_rate`, drawn from `rx_seed`.
  void Configure(const LinkDirection& tx, double rx_loss_rate, uint64_t rx_seed) {
    tx_ = tx;
    rx_loss_rate_ = rx_loss_rate;
    rx_rng_.Seed(rx_seed);
    queue_ = ns3::CreateObject<ns3::DropTailQueue<ns3::Packet>>();
    queue_->SetMaxSize(ns3::QueueSize(ns3::QueueSizeUnit::PACKETS, tx.buffer_packets));
  }
  void Attach(ns3::Ptr<TraceLinkChannel> channel, ns3::Address peer_address) {
    channel_ = channel;
    peer_address_ = peer_address;
  }
  // Lets the device queue stop and wake the queue disc above (once; later calls do nothing).
  void EnableFlowControl() {
    if (flow_control_) return;
    auto interface = GetObject<ns3::NetDeviceQueueInterface>();
    interface->GetTxQueue(0)->ConnectQueueTraces(queue_);
    flow_control_ = true;
  }
  ns3::Ptr<ns3::Queue<ns3::Packet>> queue() const { return queue_; }
  CapacityProcess* capacity() const { return tx_.capacity.get(); }
  double delay_s() const { return tx_.delay_s; }

  // A packet from the peer reaches this end (the channel calls this after the delay).
  void Receive(ns3::Ptr<ns3::Packet> packet) {
    if (rx_loss_rate_ > 0 && rx_rng_.Uniform() < rx_loss_rate_) {
      phy_rx_drop_(packet);
      return;
    }
    ProtocolTag tag;
    packet->RemovePacketTag(tag);
    mac_rx_(packet);
    if (!promisc_callback_.IsNull()) {
      promisc_callback_(this, packet, tag.protocol, peer_address_, address_, PACKET_HOST);
    }
    if (!rx_callback_.IsNull()) rx_callback_(this, packet, tag.protocol, peer_address_);
  }

  // ns3::NetDevice
  void SetIfIndex(const uint32_t index) override { if_index_ = index; }
  uint32_t GetIfIndex() const override { return if_index_; }
  ns3::Ptr<ns3::Channel> GetChannel() const override;
  void SetAddress(ns3::Address address) override {
    address_ = ns3::Mac48Address::ConvertFrom(address);
  }
  ns3::Address GetAddress() const override { return address_; }
  bool SetMtu(const uint16_t mtu) override {
    if (mtu == 0) return false;
    mtu_ = mtu;
    return true;
  }
  uint16_t GetMtu() const override { return mtu_; }
  bool IsLinkUp() const override { return true; }
  void AddLinkChangeCallback(ns3::Callback<void>) override {}  // the link never goes down
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
  bool SupportsSendFrom() const override { return false; }
  ns3::Ptr<ns3::Node> GetNode() const override { return node_; }
  void SetNode(ns3::Ptr<ns3::Node> node) override { node_ = node; }
  bool NeedsArp() const override { return false; }
  void SetReceiveCallback(ReceiveCallback callback) override { rx_callback_ = callback; }
  void SetPromiscReceiveCallback(PromiscReceiveCallback callback) override {
    promisc_callback_ = callback;
  }

 protected:
  void DoDispose() override {
    node_ = nullptr;
    channel_ = nullptr;
    queue_ = nullptr;
    rx_callback_ = ReceiveCallback();
    promisc_callback_ = PromiscReceiveCallback();
    ns3::NetDevice::DoDispose();
  }

 private:
  // Takes the head of the buffer into service. Its last byte leaves when the capacity process
  // reaches the device's byte position plus its size. A busy link goes on from its position
  // (small packets share an opportunity); an idle one cannot use capacity from before now.
  void StartService(bool continuing) {
    busy_ = true;  // before Dequeue, in case a queue disc it wakes sends again at once
    ns3::Ptr<ns3::Packet> packet = queue_->Dequeue();
    if (!packet) {
      busy_ = false;
      return;
    }
    CapacityProcess& capacity = *tx_.capacity;
    const ns3::Time now = ns3::Simulator::Now();
    if (!continuing) {
      position_bytes_ = std::max(position_bytes_, capacity.Cumulative(now.GetSeconds()));
    }
    position_bytes_ += packet->GetSize();
    const ns3::Time finish = ns3::Seconds(capacity.TimeOf(position_bytes_));  // nearest ns
    phy_tx_begin_(packet);
    ns3::Simulator::Schedule(std::max(finish - now, ns3::Time(0)), &TraceLinkNetDevice::EndService,
                             this, packet);
  }
  void EndService(ns3::Ptr<ns3::Packet> packet);

  LinkDirection tx_;
  ns3::Ptr<ns3::DropTailQueue<ns3::Packet>> queue_;
  bool busy_ = false;            // a packet is in service
  double position_bytes_ = 0.0;  // the capacity process's bytes used or lost so far
  bool flow_control_ = false;
  double rx_loss_rate_ = 0.0;
  core::Rng rx_rng_;

  ns3::Ptr<ns3::Node> node_;
  ns3::Ptr<TraceLinkChannel> channel_;
  ns3::Mac48Address address_;
  ns3::Address peer_address_;
  uint32_t if_index_ = 0;
  uint16_t mtu_ = 1500;
  ReceiveCallback rx_callback_;
  PromiscReceiveCallback promisc_callback_;
  ns3::TracedCallback<ns3::Ptr<const ns3::Packet>> mac_tx_, mac_tx_drop_, phy_tx_begin_,
      phy_tx_end_, phy_rx_drop_, mac_rx_;
};

// The wire between two devices: carries each packet to the other end after the sender's delay.
class TraceLinkChannel : public ns3::Channel {
 public:
  static ns3::TypeId GetTypeId() {
    static ns3::TypeId tid = ns3::TypeId("linklab::sim::TraceLinkChannel")
                                 .SetParent<ns3::Channel>()
                                 .AddConstructor<TraceLinkChannel>();
    return tid;
  }
  void Connect(ns3::Ptr<TraceLinkNetDevice> a, ns3::Ptr<TraceLinkNetDevice> b) {
    ends_[0] = a;
    ends_[1] = b;
  }
  std::size_t GetNDevices() const override { return 2; }
  ns3::Ptr<ns3::NetDevice> GetDevice(std::size_t i) const override { return ends_.at(i); }
  void Transmit(ns3::Ptr<ns3::Packet> packet, const TraceLinkNetDevice* from) {
    ns3::Ptr<TraceLinkNetDevice> to = ends_[0] == from ? ends_[1] : ends_[0];
    ns3::Simulator::ScheduleWithContext(to->GetNode()->GetId(), ns3::Seconds(from->delay_s()),
                                        &TraceLinkNetDevice::Receive, to, packet->Copy());
  }

 protected:
  void DoDispose() override {
    ends_ = {};
    ns3::Channel::DoDispose();
  }

 private:
  std::array<ns3::Ptr<TraceLinkNetDevice>, 2> ends_;
};

ns3::Ptr<ns3::Channel> TraceLinkNetDevice::GetChannel() const { return channel_; }

void TraceLinkNetDevice::EndService(ns3::Ptr<ns3::Packet> packet) {
  phy_tx_end_(packet);
  channel_->Transmit(packet, this);
  StartService(/*continuing=*/true);  // the next packet, if the buffer has one
}

void CheckDirection(const LinkDirection& d, const std::string& name) {
  const std::string what = "trace link " + name + ": ";
  if (!d.capacity) throw std::invalid_argument(what + "no capacity process");
  if (!(d.delay_s >= 0) || !std::isfinite(d.delay_s)) {
    throw std::invalid_argument(what + "delay_s = " + core::FormatDouble(d.delay_s) +
                                " must be finite and >= 0");
  }
  if (d.buffer_packets < 1) throw std::invalid_argument(what + "buffer_packets = 0 must be >= 1");
  if (!(d.loss_rate >= 0 && d.loss_rate <= 1)) {
    throw std::invalid_argument(what + "loss_rate = " + core::FormatDouble(d.loss_rate) +
                                " must be in [0, 1]");
  }
}

TraceLinkNetDevice* AsTraceLink(ns3::Ptr<ns3::NetDevice> device) {
  auto* link = dynamic_cast<TraceLinkNetDevice*>(ns3::PeekPointer(device));
  if (!link) {
    throw std::invalid_argument(
        "trace link: " + (device ? device->GetInstanceTypeId().GetName() : std::string("null")) +
        " is not a trace-link device");
  }
  return link;
}

}  // namespace

ns3::NetDeviceContainer TraceLinkHelper::Install(ns3::Ptr<ns3::Node> a, ns3::Ptr<ns3::Node> b,
                                                 const LinkDirection& ab, const LinkDirection& ba,
                                                 uint64_t seed) {
  CheckDirection(ab, "a->b");
  CheckDirection(ba, "b->a");
  // Device 0 sends a->b and loses b->a packets; device 1 the other way round. Each direction's
  // loss has its own stream.
  ns3::Ptr<TraceLinkNetDevice> da = ns3::CreateObject<TraceLinkNetDevice>();
  ns3::Ptr<TraceLinkNetDevice> db = ns3::CreateObject<TraceLinkNetDevice>();
  da->Configure(ab, ba.loss_rate, core::Rng::Derive(seed, 1));
  db->Configure(ba, ab.loss_rate, core::Rng::Derive(seed, 0));
  ns3::Ptr<TraceLinkChannel> channel = ns3::CreateObject<TraceLinkChannel>();
  channel->Connect(da, db);
  ns3::NetDeviceContainer devices;
  for (auto [device, node] : {std::pair{da, a}, std::pair{db, b}}) {
    device->SetAddress(ns3::Mac48Address::Allocate());
    node->AddDevice(device);
    device->AggregateObject(ns3::CreateObject<ns3::NetDeviceQueueInterface>());
    devices.Add(device);
  }
  da->Attach(channel, db->GetAddress());
  db->Attach(channel, da->GetAddress());
  return devices;
}

void TraceLinkHelper::EnableFlowControl(ns3::Ptr<ns3::NetDevice> device) {
  AsTraceLink(device)->EnableFlowControl();
}

CapacityProcess* TraceLinkHelper::CapacityOf(ns3::Ptr<ns3::NetDevice> device) {
  return AsTraceLink(device)->capacity();
}

ns3::Ptr<ns3::Queue<ns3::Packet>> TraceLinkHelper::QueueOf(ns3::Ptr<ns3::NetDevice> device) {
  return AsTraceLink(device)->queue();
}

}  // namespace linklab::sim
