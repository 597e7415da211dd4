#pragma once
// Scenarios: a network with its workloads, advanced in steps, observed through LinkSamples
// and shaped through HTB commands. Created by name from the scenario registry
// ("tethered(trace=ATT-LTE-driving.down,rtt_ms=80)"); the same config runs on either backend
// (`backend = ns3 | fluid`). ns-3 allows one simulation per process: a process holds at most
// one started ns-3 scenario at a time (vector envs put each in its own worker process).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/registry.h"
#include "sim/capacity.h"
#include "sim/link_sample.h"
#include "sim/shaping.h"

namespace linklab::sim {

struct ScenarioInfo {
  std::vector<std::string> links;           // probed link directions, e.g. {"down", "up"}
  std::vector<std::string> shaping_points;  // where ApplyShaping acts, e.g. {"down", "up"}
  std::vector<AppClass> classes;            // application classes with traffic
  std::string qdisc;                        // queue disc at the shaping points
};

// Work a backend did, for benchmarks.
struct SimCounters {
  uint64_t events = 0;             // simulator events executed
  uint64_t packets_delivered = 0;  // packets that left the probed links at their far end
  uint64_t bytes_delivered = 0;
};

class Scenario {
 public:
  virtual ~Scenario() = default;
  // Builds a fresh network and workloads for `seed`; time restarts at 0. Throws
  // std::invalid_argument for bad parameters (missing trace, malformed workload, ...).
  virtual void Start(uint64_t seed) = 0;
  // Runs `dt_s` more simulated seconds; returns, for every probed link, one sample per class
  // in info().classes and one for "all".
  virtual std::vector<LinkSample> Advance(double dt_s) = 0;
  // Applies HTB shaping at a shaping point from now on (the scenario's qdisc must be htb).
  virtual void ApplyShaping(const std::string& point, const HtbConfig& config) = 0;
  virtual double now_s() const = 0;
  // The capacity process of probed link `link` in this run (after Start; owned by the
  // scenario, valid until the next Start), or null where the link has none of its own (the
  // datacenter's fabric).
  virtual CapacityProcess* Capacity(const std::string& link) {
    (void)link;
    return nullptr;
  }
  virtual const ScenarioInfo& info() const = 0;
  virtual SimCounters counters() const = 0;
};

using ScenarioMaker = std::function<std::unique_ptr<Scenario>(const core::Params&)>;
using ScenarioRegistryType = core::Registry<ScenarioMaker>;

// Every registered scenario (tethered, internet, datacenter), registered on first use.
ScenarioRegistryType& ScenarioRegistry();
// A scenario from a spec: "tethered", "internet(rtt_ms=200,backend=ns3)".
std::unique_ptr<Scenario> MakeScenario(const std::string& spec);
std::unique_ptr<Scenario> MakeScenario(const std::string& name, const core::Params& params);

// Registers the tethered, internet and datacenter families (sim/families.cc).
void RegisterScenarioFamilies(ScenarioRegistryType& registry);

}  // namespace linklab::sim
