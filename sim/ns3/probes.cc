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

double Quantile(std::vector<double>& v, double q) {
  if (v.empty()) return std::nan("");
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

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

PathProbe::PathProbe(std::string name, CapacityProcess* capacity, double start_hour, int start_day,
                     uint64_t seed)
    : name_(std::move(name)),
      capacity_(capacity),
      start_hour_(start_hour),
      start_day_(start_day),
      rng_(seed) {}

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
  if (!ClassifyPacket(p, &c, &bytes)) return;
  Counts& k = now_[static_cast<int>(c)];
  k.offered_bytes += bytes;
  ++k.offered_packets;
}

void PathProbe::Backlog(ns3::Ptr<const ns3::Packet> p, int sign) {
  AppClass c;
  uint32_t bytes;
  if (!ClassifyPacket(p, &c, &bytes)) return;
  Counts& k = now_[static_cast<int>(c)];
  k.backlog_bytes += sign * static_cast<int64_t>(bytes);
  k.backlog_packets += sign;
}

void PathProbe::Dropped(ns3::Ptr<const ns3::Packet> p) {
  AppClass c;
  uint32_t bytes;
  if (!ClassifyPacket(p, &c, &bytes)) return;
  ++now_[static_cast<int>(c)].drops;
}

void PathProbe::Delivered(ns3::Ptr<const ns3::Packet> p) {
  AppClass c;
  uint32_t bytes;
  if (!ClassifyPacket(p, &c, &bytes)) return;
  Counts& k = now_[static_cast<int>(c)];
  k.delivered_bytes += bytes;
  ++k.delivered_packets;
  ++total_delivered_packets_;
  total_delivered_bytes_ += bytes;
}

void PathProbe::OnDelay(AppClass c, double delay_s) {
  Delays& d = delays_[static_cast<int>(c)];
  ++d.seen;
  if (d.samples.size() < kReservoir) {
    d.samples.push_back(delay_s);
  } else {
    const uint64_t j = rng_.UniformInt(d.seen);
    if (j < kReservoir) d.samples[j] = delay_s;
  }
  if (d.last >= 0) {
    d.jitter_sum += std::fabs(delay_s - d.last);
    ++d.jitter_n;
  }
  d.last = delay_s;
}

LinkSample PathProbe::Sample(int c, double now_s, double interval_s) {
  LinkSample s;
  s.time_s = now_s;
  s.interval_s = interval_s;
  s.link = name_;
  const Counts& a = now_[c];
  const Counts& b = prev_[c];
  s.bytes_offered = a.offered_bytes - b.offered_bytes;
  s.packets_offered = a.offered_packets - b.offered_packets;
  s.bytes_delivered = a.delivered_bytes - b.delivered_bytes;
  s.packets_delivered = a.delivered_packets - b.delivered_packets;
  s.drops = a.drops - b.drops;
  s.backlog_bytes = static_cast<double>(a.backlog_bytes);
  s.backlog_packets = static_cast<double>(a.backlog_packets);
  s.loss_rate = s.packets_offered > 0 ? static_cast<double>(s.drops) / s.packets_offered : 0.0;
  Delays& d = delays_[c];
  s.delay_p50_ms = Quantile(d.samples, 0.5) * 1e3;
  s.delay_p95_ms = Quantile(d.samples, 0.95) * 1e3;
  s.jitter_ms = d.jitter_n > 0 ? d.jitter_sum / d.jitter_n * 1e3 : std::nan("");
  AppCounters& app = apps_[c];
  const AppCounters& prev = apps_prev_[c];
  s.rtt_p50_ms = Quantile(app.rtt_ms, 0.5);
  s.rtt_p95_ms = Quantile(app.rtt_ms, 0.95);
  s.goodput_mbps = (app.rx_bytes - prev.rx_bytes) * 8.0 / interval_s / 1e6;
  const uint64_t segments = app.video_segments - prev.video_segments;
  const bool video = static_cast<AppClass>(c) == AppClass::kVideo;
  const bool game = static_cast<AppClass>(c) == AppClass::kGaming;
  const double nan = std::nan("");
  s.video_bitrate_kbps = !video ? nan
                         : segments > 0
                             ? (app.video_bitrate_kbps_sum - prev.video_bitrate_kbps_sum) / segments
                             : nan;
  s.video_stall_s = video ? app.video_stall_s - prev.video_stall_s : nan;
  s.video_buffer_s = video ? app.video_buffer_s : nan;
  const uint64_t flows = app.flows_done - prev.flows_done;
  s.flows_done = static_cast<double>(flows);
  s.fct_ms = flows > 0 ? (app.fct_ms_sum - prev.fct_ms_sum) / flows : nan;
  const uint64_t sent = app.game_sent - prev.game_sent;
  const uint64_t received = app.game_received - prev.game_received;
  s.game_loss_rate = !game ? nan : sent > 0 ? std::max(0.0, 1.0 - double(received) / sent) : nan;
  return s;
}

std::vector<LinkSample> PathProbe::Collect(double now_s, double interval_s,
                                           const std::vector<AppClass>& classes) {
  std::vector<LinkSample> out;
  LinkSample all;
  all.time_s = now_s;
  all.interval_s = interval_s;
  all.link = name_;
  all.app_class = "all";
  std::vector<double> all_delays, all_rtts;
  double jitter_sum = 0.0, fct_sum = 0.0;
  uint64_t jitter_n = 0;
  all.flows_done = 0.0;
  for (int c = 0; c < kNumAppClasses; ++c) {
    // Every class counts in "all", listed or not.
    all_delays.insert(all_delays.end(), delays_[c].samples.begin(), delays_[c].samples.end());
    all_rtts.insert(all_rtts.end(), apps_[c].rtt_ms.begin(), apps_[c].rtt_ms.end());
    jitter_sum += delays_[c].jitter_sum;
    jitter_n += delays_[c].jitter_n;
    LinkSample s = Sample(c, now_s, interval_s);
    s.app_class = AppClassName(static_cast<AppClass>(c));
    all.bytes_offered += s.bytes_offered;
    all.packets_offered += s.packets_offered;
    all.bytes_delivered += s.bytes_delivered;
    all.packets_delivered += s.packets_delivered;
    all.drops += s.drops;
    all.backlog_bytes += s.backlog_bytes;
    all.backlog_packets += s.backlog_packets;
    all.goodput_mbps += s.goodput_mbps;
    all.flows_done += s.flows_done;
    if (s.flows_done > 0) fct_sum += s.fct_ms * s.flows_done;
    if (std::find(classes.begin(), classes.end(), static_cast<AppClass>(c)) != classes.end()) {
      out.push_back(std::move(s));
    }
  }
  all.fct_ms = all.flows_done > 0 ? fct_sum / all.flows_done : std::nan("");
  all.loss_rate = all.packets_offered > 0 ? double(all.drops) / all.packets_offered : 0.0;
  all.delay_p50_ms = Quantile(all_delays, 0.5) * 1e3;
  all.delay_p95_ms = Quantile(all_delays, 0.95) * 1e3;
  all.jitter_ms = jitter_n > 0 ? jitter_sum / jitter_n * 1e3 : std::nan("");
  all.rtt_p50_ms = Quantile(all_rtts, 0.5);
  all.rtt_p95_ms = Quantile(all_rtts, 0.95);
  const double nan = std::nan("");
  all.video_bitrate_kbps = all.video_stall_s = all.video_buffer_s = nan;
  all.game_loss_rate = nan;
  out.push_back(all);

  const double capacity =
      capacity_ ? capacity_->MeanRateBps(now_s - interval_s, now_s) / 1e6 : std::nan("");
  const double hours = start_hour_ + now_s / 3600.0;
  for (LinkSample& s : out) {
    s.capacity_mbps = capacity;
    s.hour_of_day = std::fmod(hours, 24.0);
    s.day_of_week = std::fmod(start_day_ + std::floor(hours / 24.0), 7.0);
  }
  // Start the next interval.
  prev_ = now_;
  for (int c = 0; c < kNumAppClasses; ++c) {
    delays_[c].samples.clear();
    delays_[c].seen = 0;
    delays_[c].jitter_sum = 0.0;
    delays_[c].jitter_n = 0;
    apps_[c].rtt_ms.clear();
  }
  apps_prev_ = apps_;
  return out;
}

}  // namespace linklab::sim
