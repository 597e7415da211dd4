#pragma once
// The access-path link families (tethered, internet) as plain data, shared by the ns-3 and
// fluid backends (ns-3-free):
//
//   client ──access──► gateway ══bottleneck══► edge ──server──► server
//
// The gateway is the phone (tethered) or the home router (internet); the bottleneck is the
// cellular or wide-area link, each direction with its own capacity process, delay, buffer and
// random loss. Shaping points sit at the gateway: "down" (toward the client) and "up" (toward
// the bottleneck).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/capacity.h"
#include "sim/workload.h"

namespace linklab::sim {

// One direction of a link.
struct LinkDirection {
  std::shared_ptr<CapacityProcess> capacity;
  double delay_s = 0.01;          // one-way propagation delay
  uint32_t buffer_packets = 100;  // device queue limit (drop-tail)
  double loss_rate = 0.0;         // probability that a packet is lost on the wire
};

struct CrossTrafficOptions {
  int flows = 0;            // on/off UDP sources (0: none)
  double rate_mbps = 50.0;  // each source's rate while on
  double mean_on_s = 1.0;   // Pareto on and off periods
  double mean_off_s = 1.0;
  double pareto_shape = 1.5;
};

struct AccessPathOptions {
  double access_rate_bps = 300e6;
  double access_delay_s = 0.002;
  LinkDirection down;  // edge -> gateway
  LinkDirection up;    // gateway -> edge
  double server_rate_bps = 1e9;
  double server_delay_s = 0.001;
  std::string shaping_qdisc = "htb";
  std::string bottleneck_qdisc = "none";  // above the edge's buffer (none: the device buffer)
  // A token-bucket rate limit (bit/s) above the shaping points' queue disc, as SQM sets up a
  // shaper with FQ-CoDel under it; 0: none. Only for a qdisc other than htb and none.
  double shaper_down_bps = 0.0, shaper_up_bps = 0.0;
  std::string htb_leaf = "pfifo";  // the HTB classes' leaves: pfifo or codel
  CrossTrafficOptions cross;
  uint64_t seed = 0;
};

// Everything that defines an access-path scenario, whatever the backend.
struct AccessScenarioSpec {
  AccessPathOptions path;  // capacities are filled in per run from `capacity`
  // Builds a direction's capacity process for a run's seed (called once per Start).
  std::function<std::unique_ptr<CapacityProcess>(uint64_t seed, bool down)> capacity;
  std::vector<WorkloadItem> workload;
};

}  // namespace linklab::sim
