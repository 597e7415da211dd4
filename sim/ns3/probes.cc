#include "sim/ns3/probes.h"

#include <algorithm>
#include <cmath>

#include "ns3/ipv4-header.h"
#include "ns3/ipv4-l3-protocol.h"
#include "ns3/ipv4-queue-disc-item.h"
#include "ns3/ppp-header.h"
#include "ns3/simulator.h"
#include "ns3/tag.h"

namespace linklab::sim {

namespace {

constexpr size_t kReservoir = 4096;  // delay samples kept per class and interval

// Send time of a packet, added where it originates.
class SendTimeTag : public ns3::Tag {
 public:
  static ns3::TypeId GetTypeId() {
    static ns3::TypeId tid = ns3::TypeId("linklab::sim::SendTimeTag")
                                 .SetParent<ns3::Tag>()
                                 .AddConstructor<SendTimeTag>();
    return tid;
  }
  ns3::TypeId GetInstanceTypeId() const override { return GetTypeId(); }
  uint32_t GetSerializedSize() const override { return 8; }
  void Serialize(ns3::TagBuffer i) const override { i.WriteU64(time_ns_); }
  void Deserialize(ns3::TagBuffer i) override { time_ns_ = i.ReadU64(); }
  void Print(std::ostream& os) const override { os << "sent=" << time_ns_ << "ns"; }
  uint64_t time_ns_ = 0;
};

AppClass ClassOfTos(uint8_t tos) { return ClassOfDscp(tos >> 2); }

}  // namespace

bool ClassifyPacket(ns3::Ptr<const ns3::Packet> packet, AppClass* app_class, uint32_t* ip_bytes) {
  uint8_t first[2];
  if (packet->GetSize() < 20 || packet->CopyData(first, 2) != 2) return false;
  ns3::Ipv4Header ip;
  if ((first[0] >> 4) == 4) {
    packet->PeekHeader(ip);
    *ip_bytes = packet->GetSize();
  } else if (first[0] == 0x00 && first[1] == 0x21) {  // PPP, protocol IPv4
    ns3::Ptr<ns3::Packet> copy = packet->Copy();
    ns3::PppHeader ppp;
    copy->RemoveHeader(ppp);
    copy->PeekHeader(ip);
    *ip_bytes = copy->GetSize();
  } else {
    return false;
  }
  *app_class = ClassOfTos(ip.GetTos());
  return true;
}

void InstallDelayProbes(const ns3::NodeContainer& nodes, const DeliverFn& on_deliver) {
  for (uint32_t i = 0; i < nodes.GetN(); ++i) {
    ns3::Ptr<ns3::Ipv4L3Protocol> ip = nodes.Get(i)->GetObject<ns3::Ipv4L3Protocol>();
    if (!ip) continue;
    ip->TraceConnectWithoutContext(
        "SendOutgoing",
        ns3::MakeCallback(+[](const ns3::Ipv4Header&, ns3::Ptr<const ns3::Packet> p, uint32_t) {
          SendTimeTag tag;
          tag.time_ns_ = ns3::Simulator::Now().GetNanoSeconds();
          p->AddPacketTag(tag);
        }));
    const uint32_t node_id = nodes.Get(i)->GetId();
    ip->TraceConnectWithoutContext(
        "LocalDeliver",
        ns3::Callback<void, const ns3::Ipv4Header&, ns3::Ptr<const ns3::Packet>, uint32_t>(
            [on_deliver, node_id](const ns3::Ipv4Header& h, ns3::Ptr<const ns3::Packet> p,
                                  uint32_t) {
              SendTimeTag tag;
              if (!p->PeekPacketTag(tag)) return;
              const double delay =
                  (ns3::Simulator::Now().GetNanoSeconds() - static_cast<int64_t>(tag.time_ns_)) *
                  1e-9;
              on_deliver(node_id, ClassOfTos(h.GetTos()), delay);
            }));
  }
}

void PathProbe::AddQueueDisc(ns3::Ptr<ns3::QueueDisc> q, bool entry) {
  auto item_packet = [](ns3::Ptr<const ns3::QueueDiscItem> item) {
    // Queue disc items hold the IPv4 header apart from the packet: put it back for the
    // classifier.
    ns3::Ptr<ns3::Packet> p = item->GetPacket()->Copy();
    if (auto ip = ns3::DynamicCast<const ns3::Ipv4QueueDiscItem>(item))
      p->AddHeader(ip->GetHeader());
    return ns3::Ptr<const ns3::Packet>(p);
  };
  using Item = ns3::Ptr<const ns3::QueueDiscItem>;
  q->TraceConnectWithoutContext("Enqueue",
                                ns3::Callback<void, Item>([this, entry, item_packet](Item item) {
                                  auto p = item_packet(item);
                                  if (entry) Offered(p);
                                  Backlog(p, +1);
                                }));
  q->TraceConnectWithoutContext(
      "Dequeue", ns3::Callback<void, Item>(
                     [this, item_packet](Item item) { Backlog(item_packet(item), -1); }));
  q->TraceConnectWithoutContext(
      "DropBeforeEnqueue",
      ns3::Callback<void, Item, const char*>([this, entry, item_packet](Item item, const char*) {
        auto p = item_packet(item);
        if (entry) Offered(p);
        Dropped(p);
      }));
  q->TraceConnectWithoutContext(
      "DropAfterDequeue",
      ns3::Callback<void, Item, const char*>([this, item_packet](Item item, const char*) {
        auto p = item_packet(item);
        Backlog(p, -1);
        Dropped(p);
      }));
}

void PathProbe::AddDeviceQueue(ns3::Ptr<ns3::Queue<ns3::Packet>> q, bool entry) {
  using P = ns3::Ptr<const ns3::Packet>;
  q->TraceConnectWithoutContext("Enqueue", ns3::Callback<void, P>([this, entry](P p) {
                                  if (entry) Offered(p);
                                  Backlog(p, +1);
                                }));
  q->TraceConnectWithoutContext("Dequeue", ns3::Callback<void, P>([this](P p) { Backlog(p, -1); }));
  q->TraceConnectWithoutContext("DropBeforeEnqueue", ns3::Callback<void, P>([this, entry](P p) {
                                  if (entry) Offered(p);
                                  Dropped(p);
                                }));
  q->TraceConnectWithoutContext("DropAfterDequeue", ns3::Callback<void, P>([this](P p) {
                                  Backlog(p, -1);
                                  Dropped(p);
                                }));
}

void PathProbe::AddWire(ns3::Ptr<ns3::NetDevice> rx_device) {
  using P = ns3::Ptr<const ns3::Packet>;
  rx_device->TraceConnectWithoutContext("PhyRxDrop",
                                        ns3::Callback<void, P>([this](P p) { Dropped(p); }));
}

void PathProbe::AddExit(ns3::Ptr<ns3::NetDevice> rx_device) {
  using P = ns3::Ptr<const ns3::Packet>;
  rx_device->TraceConnectWithoutContext("MacRx",
                                        ns3::Callback<void, P>([this](P p) { Delivered(p); }));
}

bool PathProbe::HasReceiver(uint32_t node_id) const {
  return std::find(receivers_.begin(), receivers_.end(), node_id) != receivers_.end();
}

void PathProbe::Offered(ns3::Ptr<const ns3::Packet> p) {
  AppClass c;
  uint32_t bytes;
  if (ClassifyPacket(p, &c, &bytes)) recorder_->Offered(c, bytes, 1);
}

void PathProbe::Backlog(ns3::Ptr<const ns3::Packet> p, int sign) {
  AppClass c;
  uint32_t bytes;
  if (ClassifyPacket(p, &c, &bytes)) recorder_->AddBacklog(c, sign * double(bytes), sign);
}

void PathProbe::Dropped(ns3::Ptr<const ns3::Packet> p) {
  AppClass c;
  uint32_t bytes;
  if (ClassifyPacket(p, &c, &bytes)) recorder_->Dropped(c, 1);
}

void PathProbe::Delivered(ns3::Ptr<const ns3::Packet> p) {
  AppClass c;
  uint32_t bytes;
  if (ClassifyPacket(p, &c, &bytes)) recorder_->Delivered(c, bytes, 1);
}

}  // namespace linklab::sim
