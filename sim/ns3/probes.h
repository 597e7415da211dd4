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

#include "ns3/net-device.h"
#include "ns3/node-container.h"
#include "ns3/packet.h"
#include "ns3/queue-disc.h"
#include "ns3/queue.h"
#include "sim/link_recorder.h"

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
  // Feeds `recorder` (not owned; outlives the probe's simulation).
  explicit PathProbe(LinkRecorder* recorder) : recorder_(recorder) {}
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
  LinkRecorder& recorder() { return *recorder_; }

 private:
  // Packet events, classified and passed to the recorder.
  void Offered(ns3::Ptr<const ns3::Packet> p);
  void Backlog(ns3::Ptr<const ns3::Packet> p, int sign);
  void Dropped(ns3::Ptr<const ns3::Packet> p);
  void Delivered(ns3::Ptr<const ns3::Packet> p);

  LinkRecorder* recorder_;
  std::vector<uint32_t> receivers_;
};

}  // namespace linklab::sim
