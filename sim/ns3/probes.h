#pragma once
// Probes: LinkSamples from an ns-3 simulation (sim/link_sample.h says what each field means).
// A probed link is a path direction through one or more queues: arrivals are counted at its
// first queue, drops at every queue and on the wire, deliveries where packets leave it, and
// backlog over all its queues, per application class (read from each packet's DSCP). One-way
// delays come from a send-time tag added where packets originate and read where they are
// delivered. ns-3 internals: included only by sim/ sources.

#include <array>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "ns3/net-device.h"
#include "ns3/node-container.h"
#include "ns3/packet.h"
#include "ns3/queue-disc.h"
#include "ns3/queue.h"
#include "sim/capacity.h"
#include "sim/link_sample.h"
#include "sim/workload.h"

namespace linklab::sim {

// The class and IPv4 size of a packet carrying an IPv4 header, possibly behind a PPP header
// (as in PointToPointNetDevice queues). False for anything else.
bool ClassifyPacket(ns3::Ptr<const ns3::Packet> packet, AppClass* app_class, uint32_t* ip_bytes);

using DeliverFn = std::function<void(uint32_t node_id, AppClass app_class, double delay_s)>;

// Tags every IPv4 packet the nodes originate with its send time, and reports every packet
// delivered locally with its one-way delay.
void InstallDelayProbes(const ns3::NodeContainer& nodes, const DeliverFn& on_deliver);

class PathProbe {
 public:
  // `capacity` (not owned; may be null) gives capacity_mbps. Time features count from
  // `start_hour` on `start_day` (0 = Monday).
  PathProbe(std::string name, CapacityProcess* capacity, double start_hour, int start_day,
            uint64_t seed);
  PathProbe(const PathProbe&) = delete;
  PathProbe& operator=(const PathProbe&) = delete;

  // Queues on the path; the `entry` one counts arrivals.
  void AddQueueDisc(ns3::Ptr<ns3::QueueDisc> queue_disc, bool entry);
  void AddDeviceQueue(ns3::Ptr<ns3::Queue<ns3::Packet>> queue, bool entry);
  // Losses on the wire, seen at the receiving device ("PhyRxDrop").
  void AddWire(ns3::Ptr<ns3::NetDevice> rx_device);
  // Where packets leave the path ("MacRx" of a receiving device); several may be added.
  void AddExit(ns3::Ptr<ns3::NetDevice> rx_device);
  // Nodes whose delivered packets' delays belong to this path.
  void AddReceiver(uint32_t node_id) { receivers_.push_back(node_id); }
  bool HasReceiver(uint32_t node_id) const;
  void OnDelay(AppClass app_class, double delay_s);

  // The counters the path's applications write (see sim/workload.h).
  AppCounters* counters(AppClass app_class) { return &apps_[static_cast<int>(app_class)]; }
  const std::string& name() const { return name_; }

  // Samples of the interval that ends now, for `classes` and "all"; starts the next interval.
  std::vector<LinkSample> Collect(double now_s, double interval_s,
                                  const std::vector<AppClass>& classes);
  uint64_t delivered_packets() const { return total_delivered_packets_; }
  uint64_t delivered_bytes() const { return total_delivered_bytes_; }

 private:
  struct Counts {
    uint64_t offered_bytes = 0, offered_packets = 0;
    uint64_t delivered_bytes = 0, delivered_packets = 0;
    uint64_t drops = 0;
    int64_t backlog_bytes = 0, backlog_packets = 0;
  };
  struct Delays {
    std::vector<double> samples;  // reservoir of one-way delays (s)
    uint64_t seen = 0;
    double jitter_sum = 0.0, last = -1.0;
    uint64_t jitter_n = 0;
  };
  void Offered(ns3::Ptr<const ns3::Packet> p);
  void Backlog(ns3::Ptr<const ns3::Packet> p, int sign);
  void Dropped(ns3::Ptr<const ns3::Packet> p);
  void Delivered(ns3::Ptr<const ns3::Packet> p);
  LinkSample Sample(int c, double now_s, double interval_s);

  std::string name_;
  CapacityProcess* capacity_;
  double start_hour_;
  int start_day_;
  core::Rng rng_;
  std::vector<uint32_t> receivers_;
  std::array<Counts, kNumAppClasses> now_{}, prev_{};
  std::array<Delays, kNumAppClasses> delays_{};
  std::array<AppCounters, kNumAppClasses> apps_{}, apps_prev_{};
  uint64_t total_delivered_packets_ = 0, total_delivered_bytes_ = 0;
};

}  // namespace linklab::sim
