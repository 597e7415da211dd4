#pragma once
// A point-to-point link whose service in each direction follows a CapacityProcess (mahimahi
// traces, throughput logs, Markov or diurnal capacity), with a propagation delay, a drop-tail
// device buffer (the per-user buffer of a cellular base station or modem) and random loss on
// the wire. ns-3 internals: included only by sim/ sources.
//
// Service follows sim/capacity.h exactly: the device keeps a byte position c in the capacity
// process; a packet of s bytes starting service finishes at TimeOf(c + s) and arrives at the
// peer `delay` later; an idle link's unused capacity is lost (c = max(c, B(now))).
// Trace sources (same names and signatures as PointToPointNetDevice, so probes treat both
// alike): "MacTx" (packet offered for sending), "MacTxDrop" (device buffer full),
// "PhyTxBegin" / "PhyTxEnd" (service starts / ends), "PhyRxDrop" (lost on the wire, at the
// receiver), "MacRx" (delivered to the receiver's stack). Packets carry their IPv4 header at these
// points. With EnableFlowControl, a queue disc above the device is stopped while the buffer is full
// and woken when there is room, like PointToPointNetDevice.

#include <memory>

#include "ns3/net-device-container.h"
#include "ns3/node.h"
#include "ns3/queue.h"
#include "sim/access_path.h"

namespace linklab::sim {

class TraceLinkHelper {
 public:
  // Connects a and b; a->b follows `ab`, b->a follows `ba`. Random loss draws from linklab's
  // own generator seeded with `seed` (deterministic). Device 0 is on a, device 1 on b.
  static ns3::NetDeviceContainer Install(ns3::Ptr<ns3::Node> a, ns3::Ptr<ns3::Node> b,
                                         const LinkDirection& ab, const LinkDirection& ba,
                                         uint64_t seed);
  // Makes a queue disc above `device` wait while the device buffer is full (call when one is
  // installed). Without it, packets go straight to the buffer and overflow is dropped there.
  static void EnableFlowControl(ns3::Ptr<ns3::NetDevice> device);
  // The capacity process a device sends with (for the probes' capacity_mbps).
  static CapacityProcess* CapacityOf(ns3::Ptr<ns3::NetDevice> device);
  // The device buffer (a drop-tail queue: its Enqueue/Dequeue/Drop traces show the backlog;
  // the packet being sent has left it).
  static ns3::Ptr<ns3::Queue<ns3::Packet>> QueueOf(ns3::Ptr<ns3::NetDevice> device);
};

}  // namespace linklab::sim
