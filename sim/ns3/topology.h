#pragma once
// Topologies on ns-3. ns-3 internals: included only by sim/ sources.
//
// Access path (the tethered and internet families):
//
//   client ──access──► gateway ══bottleneck══► edge ──server──► server
//                         │  (trace-driven,        │
//                         │   up/down capacities)  └── cross_src   (cross traffic, internet)
//                         └── cross_dst
//
// The gateway is the phone (tethered) or the home router (internet). Shaping points are the
// gateway's egress toward the client ("down", shaping what arrives over the bottleneck) and
// toward the bottleneck ("up"). The bottleneck's downlink buffer is at the edge (a cellular
// base station's per-user buffer, an ISP router); the uplink buffer is the gateway's device.

#include <memory>
#include <string>

#include "ns3/internet-stack-helper.h"
#include "ns3/ipv4-address.h"
#include "ns3/net-device.h"
#include "ns3/node-container.h"
#include "ns3/queue-disc.h"
#include "sim/access_path.h"
#include "sim/ns3/trace_link.h"
#include "sim/shaping.h"

namespace linklab::sim {

// Queue discs by name: "htb" (linklab's, transparent until shaped), "fifo" (1000 packets),
// "codel", "fq_codel", "pie", "red", "none" (packets go straight to the device).
void CheckQdiscName(const std::string& name, const std::string& what);

// Gives every random variable of the simulation (IP stacks, global routing's ECMP choice,
// RED and PIE) a fixed stream number from `first` on, so that a simulation's randomness does
// not depend on how many ns-3 objects earlier simulations in the process created (ns-3 numbers
// automatic streams with a process-wide counter). Returns the number of streams used.
int64_t AssignRandomStreams(int64_t first);

// Removes the root queue disc of `device`, if it has one.
void RemoveRootQdisc(ns3::Ptr<ns3::NetDevice> device);

// Installs queue disc `name` (see CheckQdiscName) as the root of `device`, replacing the
// default one address assignment put there; an HTB starts transparent at `link_rate_bps`, its
// leaves CoDel with `codel_leaves`; any other under a token bucket at `shaper_bps` when that is
// > 0 (InstallNamedQdisc). Null for "none".
ns3::Ptr<ns3::QueueDisc> InstallQdisc(ns3::Ptr<ns3::NetDevice> device, const std::string& name,
                                      double link_rate_bps, double shaper_bps = 0.0,
                                      bool codel_leaves = false);

// Installs a named ns-3 queue disc ("fifo", "codel", "fq_codel", "pie", "red") as the root of
// `device` (after removing the default one) and returns it. With `shaper_bps` > 0 the root is
// a token bucket filter at that rate (burst: 1 ms at the rate, at least two MTUs) and the
// named queue disc its child, as SQM puts FQ-CoDel under a shaper.
ns3::Ptr<ns3::QueueDisc> InstallNamedQdisc(ns3::Ptr<ns3::NetDevice> device, const std::string& name,
                                           double shaper_bps = 0.0);

struct AccessPath {
  ns3::NodeContainer nodes;  // client, gateway, edge, server, then cross_src, cross_dst
  ns3::Ptr<ns3::Node> client, gateway, edge, server;
  ns3::Ipv4Address client_address, server_address;
  ns3::Ptr<ns3::NetDevice> client_access, gateway_access, gateway_bottleneck, edge_bottleneck;
  ns3::Ptr<ns3::NetDevice> cross_exit;  // cross_dst's device (null without cross traffic)
  ns3::Ptr<ns3::QueueDisc> shaper_down, shaper_up;  // null for qdisc "none"
  ns3::Ptr<ns3::QueueDisc> edge_qdisc;              // null for bottleneck_qdisc "none"
};

AccessPath BuildAccessPath(const AccessPathOptions& options);

// The device queue of a point-to-point or trace-link device.
ns3::Ptr<ns3::Queue<ns3::Packet>> DeviceQueue(ns3::Ptr<ns3::NetDevice> device);

}  // namespace linklab::sim
