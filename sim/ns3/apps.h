#pragma once
// Workload applications on ns-3 (sim/workload.h says what they are): bulk TCP transfers,
// video streaming (segments over a bitrate ladder, rate-based ABR, playback buffer and
// stalls), interactive gaming (UDP both ways with RTT echoes and loss by sequence number) and
// web browsing (short TCP flows, completion time). Every socket is marked with the class's
// DSCP on both ends (so queue discs and probes classify data and ACKs alike) and uses the
// item's TCP variant. ns-3 internals: included only by sim/ sources.

#include <string>
#include <vector>

#include "ns3/ipv4-address.h"
#include "ns3/node.h"
#include "sim/workload.h"

namespace linklab::sim {

struct AppEndpoints {
  ns3::Ptr<ns3::Node> client;  // e.g. the tethered laptop
  ns3::Ptr<ns3::Node> server;  // e.g. a content server
  ns3::Ipv4Address client_address;
  ns3::Ipv4Address server_address;
};

// Installs one workload item (all its `count` instances) between the endpoints, starting at
// `start_s` (instances staggered by up to 1 s, drawn from `seed`). Data flows server -> client
// for "down" and client -> server for "up". `counters` (owned by the caller, outliving the
// simulation) receive the item's metrics: rx_bytes at the data receiver, RTT samples from the
// data sender's TCP socket (and gaming echoes), and the class's app metrics. `next_port` is
// advanced past the ports the item uses.
void InstallWorkload(const WorkloadItem& item, const WorkloadOptions& options,
                     const AppEndpoints& ends, AppCounters* counters, uint16_t* next_port,
                     double start_s, uint64_t seed);

// Fan-in transfers (datacenter incast and shuffle): every `period_s` from `start_s`, `client`
// asks each server for `bytes` over a new TCP connection, all at once. Each finished transfer
// is a flow completion (time from the round's start) in `counters`; a transfer still running
// when the next round starts is abandoned. Servers answer on `port` (install one listener per
// server with InstallFanInServer first).
void InstallFanInServer(ns3::Ptr<ns3::Node> server, uint16_t port, const std::string& tcp,
                        AppClass app_class, uint32_t buffer_bytes, AppCounters* counters);
void InstallFanInClient(ns3::Ptr<ns3::Node> client, const std::vector<ns3::Ipv4Address>& servers,
                        uint16_t port, uint64_t bytes, double period_s, double start_s,
                        const std::string& tcp, AppClass app_class, uint32_t buffer_bytes,
                        AppCounters* counters);

}  // namespace linklab::sim
