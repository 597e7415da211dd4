// The ns-3 backend of the scenario registry: the scenario frame (Ns3Scenario), the tethered
// and internet link families on the access-path topology (sim/ns3/topology.h), and the
// registration of those and the datacenter family (datacenter.cc).

#include "sim/ns3/ns3_scenario.h"

#include <cmath>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "core/text.h"
#include "ns3/core-module.h"
#include "sim/ns3/apps.h"
#include "sim/ns3/htb_queue_disc.h"
#include "sim/ns3/topology.h"
#include "sim/workload.h"

namespace linklab::sim {

Ns3Scenario::Ns3Scenario(const core::Params& p, ScenarioInfo info) : info_(std::move(info)) {
  scale_ = p.Double("scale");
  start_hour_ = p.Double("start_hour");
  start_day_ = static_cast<int>(p.Int("start_day"));
  info_.qdisc = p.String("qdisc");
}

Ns3Scenario::~Ns3Scenario() { Stop(); }

namespace {
// ns-3 runs one simulation per process: the scenario that holds it.
Ns3Scenario* g_running = nullptr;
}  // namespace

void Ns3Scenario::Teardown() {
  ns3::Simulator::Destroy();
  probes_.clear();
  recorders_.clear();
  capacities_.clear();
  shapers_.clear();
}

void Ns3Scenario::Stop() {
  if (!started_) return;
  Teardown();
  started_ = false;
  if (g_running == this) g_running = nullptr;
}

void Ns3Scenario::Start(uint64_t seed) {
  Stop();
  if (g_running) {
    throw std::runtime_error(
        "another ns-3 scenario is running in this process: ns-3 runs one simulation per "
        "process, so destroy the other scenario first, or give each its own process "
        "(vectorization = process)");
  }
  ns3::RngSeedManager::SetSeed(1);
  ns3::RngSeedManager::SetRun(seed + 1);
  try {
    Build(seed);
  } catch (...) {
    Teardown();  // a half-built network must not leak into the next simulation
    throw;
  }
  AssignRandomStreams(0);
  events_at_start_ = ns3::Simulator::GetEventCount();
  started_ = true;
  g_running = this;
  now_s_ = 0.0;
}

PathProbe& Ns3Scenario::AddProbe(const std::string& name, CapacityProcess* capacity,
                                 uint64_t seed) {
  capacities_[name] = capacity;
  recorders_.push_back(
      std::make_unique<LinkRecorder>(name, capacity, start_hour_, start_day_, seed));
  probes_.push_back(std::make_unique<PathProbe>(recorders_.back().get()));
  return *probes_.back();
}

CapacityProcess* Ns3Scenario::Capacity(const std::string& link) {
  const auto it = capacities_.find(link);
  return it == capacities_.end() ? nullptr : it->second;
}

void Ns3Scenario::AddShaper(const std::string& point, ns3::Ptr<ns3::QueueDisc> q) {
  if (q) shapers_[point].push_back(q);
}

void Ns3Scenario::ProbeDelays(const ns3::NodeContainer& nodes) {
  InstallDelayProbes(nodes, [this](uint32_t node, AppClass c, double delay) {
    for (auto& p : probes_) {
      if (p->HasReceiver(node)) {
        p->recorder().OnDelay(c, delay);
        return;
      }
    }
  });
}

std::vector<LinkSample> Ns3Scenario::Advance(double dt_s) {
  if (!started_) throw std::logic_error("scenario Advance() before Start()");
  if (!(dt_s > 0)) throw std::invalid_argument("scenario step must be > 0 s");
  ns3::Simulator::Stop(ns3::Seconds(dt_s));
  ns3::Simulator::Run();
  now_s_ += dt_s;
  std::vector<LinkSample> out;
  for (auto& r : recorders_) {
    std::vector<LinkSample> samples = r->Collect(now_s_, dt_s, info_.classes);
    out.insert(out.end(), samples.begin(), samples.end());
  }
  return out;
}

void Ns3Scenario::ApplyShaping(const std::string& point, const HtbConfig& config) {
  if (!started_) throw std::logic_error("scenario ApplyShaping() before Start()");
  if (std::find(info_.shaping_points.begin(), info_.shaping_points.end(), point) ==
      info_.shaping_points.end()) {
    throw std::invalid_argument("unknown shaping point '" + point +
                                "'; points: " + core::Join(info_.shaping_points, ", "));
  }
  if (info_.qdisc != "htb") {
    throw std::invalid_argument("shaping needs qdisc = htb; this scenario runs qdisc = " +
                                info_.qdisc);
  }
  const HtbConfig scaled = ScaledHtb(config, scale_);
  scaled.Validate();
  for (auto& q : shapers_[point]) ns3::DynamicCast<HtbQueueDisc>(q)->Configure(scaled);
}

SimCounters Ns3Scenario::counters() const {
  SimCounters c;
  if (!started_) return c;
  c.events = ns3::Simulator::GetEventCount() - events_at_start_;
  for (const auto& r : recorders_) {
    c.packets_delivered += static_cast<uint64_t>(r->delivered_packets());
    c.bytes_delivered += static_cast<uint64_t>(r->delivered_bytes());
  }
  return c;
}

namespace {

// A scenario on the access-path topology: probes "down" and "up", shaping points "down" and
// "up".
class AccessScenario : public Ns3Scenario {
 public:
  AccessScenario(const core::Params& p, AccessScenarioSpec spec)
      : Ns3Scenario(p, {}),
        options_(std::move(spec.path)),
        capacity_fn_(std::move(spec.capacity)),
        workload_(std::move(spec.workload)) {
    info_.links = {"down", "up"};
    info_.shaping_points = {"down", "up"};
    info_.classes = AccessClasses(workload_, options_.cross);
  }

 private:
  void Build(uint64_t seed) override {
    AccessPathOptions o = options_;
    o.seed = seed;
    down_capacity_ = std::shared_ptr<CapacityProcess>(
        ScaledCapacity(capacity_fn_(core::Rng::Derive(seed, 1), true), scale_).release());
    up_capacity_ = std::shared_ptr<CapacityProcess>(
        ScaledCapacity(capacity_fn_(core::Rng::Derive(seed, 2), false), scale_).release());
    o.down.capacity = down_capacity_;
    o.up.capacity = up_capacity_;
    o.access_rate_bps *= scale_;
    o.server_rate_bps *= scale_;
    o.cross.rate_mbps *= scale_;
    const AccessPath path = BuildAccessPath(o);

    PathProbe& down = AddProbe("down", down_capacity_.get(), core::Rng::Derive(seed, 3));
    PathProbe& up = AddProbe("up", up_capacity_.get(), core::Rng::Derive(seed, 4));
    // down: edge buffer (and its qdisc) -> wire -> gateway's shaper and access queue -> client
    if (path.edge_qdisc) down.AddQueueDisc(path.edge_qdisc, true);
    down.AddDeviceQueue(DeviceQueue(path.edge_bottleneck), !path.edge_qdisc);
    down.AddWire(path.gateway_bottleneck);
    if (path.shaper_down) down.AddQueueDisc(path.shaper_down, false);
    down.AddDeviceQueue(DeviceQueue(path.gateway_access), false);
    down.AddExit(path.client_access);
    down.AddReceiver(path.client->GetId());
    if (path.cross_exit) {  // cross traffic leaves the path at the gateway's other side
      down.AddExit(path.cross_exit);
      down.AddReceiver(path.cross_exit->GetNode()->GetId());
    }
    // up: gateway's shaper -> gateway's buffer -> wire -> edge
    if (path.shaper_up) up.AddQueueDisc(path.shaper_up, true);
    up.AddDeviceQueue(DeviceQueue(path.gateway_bottleneck), !path.shaper_up);
    up.AddWire(path.edge_bottleneck);
    up.AddExit(path.edge_bottleneck);
    up.AddReceiver(path.server->GetId());
    ProbeDelays(path.nodes);
    AddShaper("down", path.shaper_down);
    AddShaper("up", path.shaper_up);

    WorkloadOptions wo;
    for (double& b : wo.video_ladder_kbps) b *= scale_;
    // Sized for the bottleneck (twice its mean rate over the first minute, as traces vary)
    // over the base RTT plus its full buffer.
    const double rate = 2 * down_capacity_->MeanRateBps(0, 60);
    wo.socket_buffer_bytes =
        SocketBufferFor(rate, 2 * (o.access_delay_s + o.down.delay_s + o.server_delay_s) +
                                  o.down.buffer_packets * 1500 * 8 / rate);
    const AppEndpoints ends{path.client, path.server, path.client_address, path.server_address};
    uint16_t port = 10000;
    for (size_t i = 0; i < workload_.size(); ++i) {
      const WorkloadItem& w = workload_[i];
      PathProbe& probe = w.direction == "down" ? down : up;
      InstallWorkload(w, wo, ends, probe.recorder().counters(w.app_class), &port, 0.0,
                      core::Rng::Derive(seed, 100 + i));
    }
  }

  AccessPathOptions options_;
  std::function<std::unique_ptr<CapacityProcess>(uint64_t, bool)> capacity_fn_;
  std::vector<WorkloadItem> workload_;
  std::shared_ptr<CapacityProcess> down_capacity_, up_capacity_;
};

}  // namespace

std::unique_ptr<Scenario> MakeNs3AccessScenario(const core::Params& params,
                                                AccessScenarioSpec spec) {
  return std::make_unique<AccessScenario>(params, std::move(spec));
}

}  // namespace linklab::sim
