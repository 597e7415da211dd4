#pragma once
// The common frame of the ns-3 scenarios: a fresh simulation per Start(seed), advanced in
// steps, probed by PathProbes, shaped at named points. Families build their network in
// Build(). ns-3 internals: included only by sim/ sources.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ns3/queue-disc.h"
#include "sim/backends.h"
#include "sim/ns3/probes.h"

namespace linklab::sim {

class Ns3Scenario : public Scenario {
 public:
  Ns3Scenario(const core::Params& params, ScenarioInfo info);
  ~Ns3Scenario() override;

  void Start(uint64_t seed) final;
  std::vector<LinkSample> Advance(double dt_s) final;
  void ApplyShaping(const std::string& point, const HtbConfig& config) final;
  double now_s() const final { return now_s_; }
  CapacityProcess* Capacity(const std::string& link) final;
  const ScenarioInfo& info() const final { return info_; }
  SimCounters counters() const final;

 protected:
  // Builds the network, probes (AddProbe) and shaping points (AddShaper) for `seed`.
  virtual void Build(uint64_t seed) = 0;
  PathProbe& AddProbe(const std::string& name, CapacityProcess* capacity, uint64_t seed);
  void AddShaper(const std::string& point, ns3::Ptr<ns3::QueueDisc> queue_disc);
  // Routes each locally delivered packet's delay to the probe that lists its node.
  void ProbeDelays(const ns3::NodeContainer& nodes);

  double scale_ = 1.0;
  double start_hour_ = 0.0;
  int start_day_ = 0;
  ScenarioInfo info_;

 private:
  void Stop();
  void Teardown();  // destroys the simulation and what observes it

  std::vector<std::unique_ptr<LinkRecorder>> recorders_;
  std::vector<std::unique_ptr<PathProbe>> probes_;
  std::map<std::string, CapacityProcess*> capacities_;  // per probe
  std::map<std::string, std::vector<ns3::Ptr<ns3::QueueDisc>>> shapers_;
  bool started_ = false;
  double now_s_ = 0.0;
  uint64_t events_at_start_ = 0;
};

}  // namespace linklab::sim
