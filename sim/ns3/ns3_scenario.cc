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

void Ns3Scenario::Stop() {
  if (!started_) return;
  ns3::Simulator::Destroy();
  probes_.clear();
  shapers_.clear();
  started_ = false;
  if (g_running == this) g_running = nullptr;
}

void Ns3Scenario::Start(uint64_t seed) {
  Stop();
  // Starting a scenario ends the one that held the simulator (its samples stay valid).
  if (g_running) g_running->Stop();
  ns3::RngSeedManager::SetSeed(1);
  ns3::RngSeedManager::SetRun(seed + 1);
  Build(seed);
  events_at_start_ = ns3::Simulator::GetEventCount();
  started_ = true;
  g_running = this;
  now_s_ = 0.0;
}

PathProbe& Ns3Scenario::AddProbe(const std::string& name, CapacityProcess* capacity,
                                 uint64_t seed) {
  probes_.push_back(std::make_unique<PathProbe>(name, capacity, start_hour_, start_day_, seed));
  return *probes_.back();
}

void Ns3Scenario::AddShaper(const std::string& point, ns3::Ptr<ns3::QueueDisc> q) {
  if (q) shapers_[point].push_back(q);
}

void Ns3Scenario::ProbeDelays(const ns3::NodeContainer& nodes) {
  InstallDelayProbes(nodes, [this](uint32_t node, AppClass c, double delay) {
    for (auto& p : probes_) {
      if (p->HasReceiver(node)) {
        p->OnDelay(c, delay);
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
  for (auto& p : probes_) {
    std::vector<LinkSample> samples = p->Collect(now_s_, dt_s, info_.classes);
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
  HtbConfig scaled = config;
  scaled.link_rate_bps *= scale_;
  for (auto& c : scaled.classes) {
    c.rate_bps *= scale_;
    c.ceil_bps *= scale_;
  }
  scaled.Validate();
  for (auto& q : shapers_[point]) ns3::DynamicCast<HtbQueueDisc>(q)->Configure(scaled);
}

SimCounters Ns3Scenario::counters() const {
  SimCounters c;
  if (!started_) return c;
  c.events = ns3::Simulator::GetEventCount() - events_at_start_;
  for (const auto& p : probes_) {
    c.packets_delivered += p->delivered_packets();
    c.bytes_delivered += p->delivered_bytes();
  }
  return c;
}

std::vector<core::ParamSpec> CommonScenarioSpecs(const std::string& workload,
                                                 const std::string& tcp) {
  return {
      core::StringParam("backend", "ns3", "simulation backend", {"ns3"}),
      core::StringParam("workload", workload,
                        "applications: class[*count][@tcp][/down|up], comma-separated"),
      core::StringParam("tcp", tcp, "default TCP variant", {"newreno", "cubic", "bbr"}),
      core::StringParam("qdisc", "htb", "queue disc at the shaping points",
                        {"htb", "fifo", "codel", "fq_codel", "pie", "red", "none"}),
      core::StringParam("bottleneck_qdisc", "none",
                        "queue disc above the bottleneck's buffer (none: drop-tail buffer)",
                        {"none", "fifo", "codel", "fq_codel", "pie", "red"}),
      core::DoubleParam("start_hour", 12.0, "hour of day at time 0 (time features)", 0.0, 24.0),
      core::IntParam("start_day", 0, "day of week at time 0, 0 = Monday", 0, 6),
      core::DoubleParam("scale", 1.0,
                        "multiply every link and application rate (buffers keep their time "
                        "length): the scale knob for fast scaled-down runs",
                        1e-4, 1.0),
  };
}

namespace {

std::vector<core::ParamSpec> Concat(std::vector<core::ParamSpec> a,
                                    const std::vector<core::ParamSpec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A scenario on the access-path topology: probes "down" and "up", shaping points "down" and
// "up".
class AccessScenario : public Ns3Scenario {
 public:
  // `capacity_fn(seed, down)` builds the bottleneck's capacity process for a direction.
  using CapacityFn = std::function<std::unique_ptr<CapacityProcess>(uint64_t seed, bool down)>;

  AccessScenario(const core::Params& p, AccessPathOptions options, CapacityFn capacity_fn)
      : Ns3Scenario(p, {}), options_(std::move(options)), capacity_fn_(std::move(capacity_fn)) {
    options_.shaping_qdisc = p.String("qdisc");
    options_.bottleneck_qdisc = p.String("bottleneck_qdisc");
    workload_ = ParseWorkload(p.String("workload"), p.String("tcp"), "workload");
    info_.links = {"down", "up"};
    info_.shaping_points = {"down", "up"};
    for (const WorkloadItem& w : workload_) {
      if (std::find(info_.classes.begin(), info_.classes.end(), w.app_class) ==
          info_.classes.end()) {
        info_.classes.push_back(w.app_class);
      }
    }
    if (options_.cross.flows > 0) info_.classes.push_back(AppClass::kCross);
    // Build the capacity processes once now, so that bad traces fail before any run.
    capacity_fn_(0, true);
    capacity_fn_(0, false);
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
      InstallWorkload(w, wo, ends, probe.counters(w.app_class), &port, 0.0,
                      core::Rng::Derive(seed, 100 + i));
    }
  }

  AccessPathOptions options_;
  CapacityFn capacity_fn_;
  std::vector<WorkloadItem> workload_;
  std::shared_ptr<CapacityProcess> down_capacity_, up_capacity_;
};

// ---------------------------------------------------------------------------------------------
// tethered

std::vector<core::ParamSpec> TetheredSpecs() {
  return Concat(
      {
          core::StringParam("capacity", "markov",
                            "cellular capacity: trace (mahimahi or pensieve file), markov "
                            "(synthetic, with outages) or constant",
                            {"trace", "markov", "constant"}),
          core::StringParam("trace", "ATT-LTE-driving.down",
                            "downlink trace: a path or a file name under $LINKLAB_TRACE_PATH "
                            "or ../shared/data/traces"),
          core::StringParam("uplink_trace", "auto",
                            "uplink trace; auto: the .up twin of a .down trace, else the "
                            "downlink trace"),
          core::DoubleParam("constant_mbps", 10.0, "downlink rate for capacity = constant", 0.001,
                            100000.0),
          core::DoubleParam("markov_min_mbps", 0.5, "lowest Markov rate", 0.001, 100000.0),
          core::DoubleParam("markov_max_mbps", 50.0, "highest Markov rate", 0.001, 100000.0),
          core::IntParam("markov_states", 8, "Markov rate levels", 2, 64),
          core::DoubleParam("markov_hold_s", 2.0, "mean time in a Markov state", 0.01, 3600.0),
          core::DoubleParam("outage_prob", 0.02, "chance of an outage at each transition", 0.0,
                            1.0),
          core::DoubleParam("outage_s", 1.0, "mean outage length", 0.01, 3600.0),
          core::DoubleParam("uplink_factor", 0.5,
                            "synthetic and constant uplink rates relative to the downlink", 0.001,
                            10.0),
          core::StringParam("tether", "usb", "tether hop kind (sets its defaults)",
                            {"usb", "wifi"}),
          core::DoubleParam("tether_mbps", 0.0, "tether hop rate; 0: 400 (usb) or 150 (wifi)", 0.0,
                            100000.0),
          core::DoubleParam("tether_delay_ms", 0.0,
                            "tether hop one-way delay; 0: 1 (usb) or 4 (wifi)", 0.0, 1000.0),
          core::DoubleParam("rtt_ms", 80.0, "base round-trip time (no queueing)", 1.0, 10000.0),
          core::IntParam("buffer_packets", 250,
                         "per-user cellular buffer, each direction (Pantheon: 130-426)", 1,
                         1000000),
          core::DoubleParam("loss", 0.0, "random loss on the cellular link", 0.0, 0.5),
      },
      CommonScenarioSpecs("bulk,video,gaming,web", "cubic"));
}

std::unique_ptr<Scenario> MakeTethered(const core::Params& p) {
  const std::string capacity = p.String("capacity");
  const double uplink_factor = p.Double("uplink_factor");
  AccessScenario::CapacityFn fn;
  if (capacity == "trace") {
    const std::string down_path = FindTrace(p.String("trace"));
    std::string up_name = p.String("uplink_trace");
    if (up_name == "auto") {
      up_name = down_path;
      if (up_name.size() > 5 && up_name.substr(up_name.size() - 5) == ".down") {
        const std::string twin = up_name.substr(0, up_name.size() - 5) + ".up";
        if (std::ifstream(twin).good()) up_name = twin;
      }
    }
    const std::string up_path = FindTrace(up_name);
    fn = [down_path, up_path](uint64_t, bool down) {
      return LoadTraceCapacity(down ? down_path : up_path);
    };
  } else if (capacity == "markov") {
    MarkovCapacityOptions m;
    m.min_mbps = p.Double("markov_min_mbps");
    m.max_mbps = p.Double("markov_max_mbps");
    if (m.max_mbps < m.min_mbps) {
      throw std::invalid_argument("markov_max_mbps = " + core::FormatDouble(m.max_mbps) +
                                  " is below markov_min_mbps = " + core::FormatDouble(m.min_mbps));
    }
    m.num_states = static_cast<int>(p.Int("markov_states"));
    m.mean_hold_s = p.Double("markov_hold_s");
    m.outage_prob = p.Double("outage_prob");
    m.mean_outage_s = p.Double("outage_s");
    fn = [m, uplink_factor](uint64_t seed, bool down) {
      MarkovCapacityOptions o = m;
      if (!down) {
        o.min_mbps *= uplink_factor;
        o.max_mbps *= uplink_factor;
      }
      return MarkovCapacity(o, seed);
    };
  } else {
    const double rate = p.Double("constant_mbps") * 1e6;
    fn = [rate, uplink_factor](uint64_t, bool down) {
      return ConstantCapacity(down ? rate : rate * uplink_factor);
    };
  }
  const bool usb = p.String("tether") == "usb";
  AccessPathOptions o;
  o.access_rate_bps = (p.Double("tether_mbps") > 0 ? p.Double("tether_mbps")
                       : usb                       ? 400
                                                   : 150) *
                      1e6;
  o.access_delay_s = (p.Double("tether_delay_ms") > 0 ? p.Double("tether_delay_ms")
                      : usb                           ? 1
                                                      : 4) /
                     1e3;
  o.server_rate_bps = 1e9;
  o.server_delay_s = 0.001;
  const double one_way = p.Double("rtt_ms") / 2e3 - o.access_delay_s - o.server_delay_s;
  if (one_way <= 0) {
    throw std::invalid_argument("rtt_ms = " + core::FormatDouble(p.Double("rtt_ms")) +
                                " is shorter than the tether and core hops (" +
                                core::FormatDouble(2e3 * (o.access_delay_s + o.server_delay_s)) +
                                " ms)");
  }
  for (TraceLinkDirection* d : {&o.down, &o.up}) {
    d->delay_s = one_way;
    d->buffer_packets = static_cast<uint32_t>(p.Int("buffer_packets"));
    d->loss_rate = p.Double("loss");
  }
  return std::make_unique<AccessScenario>(p, o, fn);
}

// ---------------------------------------------------------------------------------------------
// internet

std::vector<core::ParamSpec> InternetSpecs() {
  return Concat(
      {
          core::StringParam("capacity", "diurnal",
                            "wide-area capacity: diurnal (hour of day, day of week), constant "
                            "or trace",
                            {"diurnal", "constant", "trace"}),
          core::DoubleParam("base_mbps", 500.0, "capacity (diurnal base, or the constant rate)",
                            0.001, 100000.0),
          core::DoubleParam("diurnal_depth", 0.4, "capacity drop at the daily peak", 0.0, 0.99),
          core::DoubleParam("peak_hour", 21.0, "hour of the daily peak", 0.0, 24.0),
          core::DoubleParam("weekend_factor", 0.9, "weekend capacity factor", 0.01, 10.0),
          core::DoubleParam("noise", 0.05, "relative capacity noise", 0.0, 1.0),
          core::StringParam("trace", "", "trace for capacity = trace"),
          core::DoubleParam("uplink_factor", 0.2, "uplink capacity relative to downlink", 0.001,
                            10.0),
          core::DoubleParam("rtt_ms", 100.0, "base round-trip time", 1.0, 10000.0),
          core::DoubleParam("loss", 0.0001, "random loss on the wide-area link", 0.0, 0.5),
          core::IntParam("buffer_packets", 0,
                         "bottleneck buffer; 0: one bandwidth-delay "
                         "product at base_mbps",
                         0, 10000000),
          core::DoubleParam("access_mbps", 1000.0, "client access link rate", 0.001, 1e6),
          core::IntParam("cross_flows", 4, "on/off Pareto cross-traffic sources", 0, 1000),
          core::DoubleParam("cross_mbps", 50.0, "each cross source's rate while on", 0.001, 1e6),
          core::DoubleParam("cross_on_s", 1.0, "mean on period (Pareto)", 0.001, 3600.0),
          core::DoubleParam("cross_off_s", 2.0, "mean off period (Pareto)", 0.001, 3600.0),
      },
      CommonScenarioSpecs("bulk,video,web", "cubic"));
}

std::unique_ptr<Scenario> MakeInternet(const core::Params& p) {
  const std::string capacity = p.String("capacity");
  const double base = p.Double("base_mbps");
  const double uplink_factor = p.Double("uplink_factor");
  AccessScenario::CapacityFn fn;
  if (capacity == "diurnal") {
    DiurnalCapacityOptions d;
    d.base_mbps = base;
    d.depth = p.Double("diurnal_depth");
    d.peak_hour = p.Double("peak_hour");
    d.weekend_factor = p.Double("weekend_factor");
    d.noise = p.Double("noise");
    d.start_hour = p.Double("start_hour");
    d.start_day = static_cast<int>(p.Int("start_day"));
    fn = [d, uplink_factor](uint64_t seed, bool down) {
      DiurnalCapacityOptions o = d;
      if (!down) o.base_mbps *= uplink_factor;
      return DiurnalCapacity(o, seed);
    };
  } else if (capacity == "constant") {
    fn = [base, uplink_factor](uint64_t, bool down) {
      return ConstantCapacity((down ? base : base * uplink_factor) * 1e6);
    };
  } else {
    if (p.String("trace").empty()) {
      throw std::invalid_argument("capacity = trace needs trace = <file>");
    }
    const std::string path = FindTrace(p.String("trace"));
    fn = [path](uint64_t, bool) { return LoadTraceCapacity(path); };
  }
  AccessPathOptions o;
  o.access_rate_bps = p.Double("access_mbps") * 1e6;
  o.access_delay_s = 0.001;
  o.server_rate_bps = 10e9;
  o.server_delay_s = 0.001;
  const double one_way = p.Double("rtt_ms") / 2e3 - o.access_delay_s - o.server_delay_s;
  if (one_way <= 0) {
    throw std::invalid_argument("rtt_ms = " + core::FormatDouble(p.Double("rtt_ms")) +
                                " is shorter than the access and server hops (4 ms)");
  }
  int64_t buffer = p.Int("buffer_packets");
  if (buffer == 0)
    buffer = std::max<int64_t>(100, base * 1e6 / 8 * p.Double("rtt_ms") / 1e3 / 1500);
  for (TraceLinkDirection* d : {&o.down, &o.up}) {
    d->delay_s = one_way;
    d->buffer_packets = static_cast<uint32_t>(buffer);
    d->loss_rate = p.Double("loss");
  }
  o.cross.flows = static_cast<int>(p.Int("cross_flows"));
  o.cross.rate_mbps = p.Double("cross_mbps");
  o.cross.mean_on_s = p.Double("cross_on_s");
  o.cross.mean_off_s = p.Double("cross_off_s");
  return std::make_unique<AccessScenario>(p, o, fn);
}

}  // namespace

void RegisterNs3Scenarios(ScenarioRegistryType& registry) {
  registry.Add({"tethered",
                "laptop behind a phone on a cellular link: tether hop, trace-driven or "
                "synthetic cellular capacity, deep per-user buffers",
                TetheredSpecs(), MakeTethered});
  registry.Add({"internet",
                "wide-area path: diurnal capacity, long RTT, random loss, on/off Pareto cross "
                "traffic",
                InternetSpecs(), MakeInternet});
  registry.Add({"datacenter",
                "leaf-spine fabric (>= 2 racks) with ECMP, 1-10 Gbit/s links, incast and "
                "shuffle workloads",
                DatacenterSpecs(), MakeDatacenter});
}

}  // namespace linklab::sim
