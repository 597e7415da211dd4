// The scenario families' parameters (ns-3-free): each family turns its parameters into a
// backend-neutral description and hands it to the backend the `backend` key names.

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "core/text.h"
#include "sim/backends.h"

namespace linklab::sim {

std::vector<core::ParamSpec> CommonScenarioSpecs(const std::string& workload,
                                                 const std::string& tcp) {
  return {
      core::StringParam("backend", "ns3", "simulation backend: ns3 (packet level) or fluid (fast)",
                        {"ns3", "fluid"}),
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
      core::DoubleParam(
          "fluid_dt_ms", 20.0,
          "time step of the fluid backend, at most a quarter of the RTT (smaller: finer TCP "
          "dynamics, slower)",
          0.1, 1000.0),
      core::DoubleParam("scale", 1.0,
                        "multiply every link and application rate (buffers keep their time "
                        "length): the scale knob for fast scaled-down runs",
                        1e-4, 1.0),
  };
}

std::vector<AppClass> AccessClasses(const std::vector<WorkloadItem>& workload,
                                    const CrossTrafficOptions& cross) {
  std::vector<AppClass> classes;
  for (const WorkloadItem& w : workload) {
    if (std::find(classes.begin(), classes.end(), w.app_class) == classes.end()) {
      classes.push_back(w.app_class);
    }
  }
  if (cross.flows > 0) classes.push_back(AppClass::kCross);
  return classes;
}

namespace {

std::vector<core::ParamSpec> Concat(std::vector<core::ParamSpec> a,
                                    const std::vector<core::ParamSpec>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Where a trace-driven link starts in its trace (both directions); the trace loops.
core::ParamSpec TraceOffsetSpec() {
  return core::DoubleParam("trace_offset_s", 0.0,
                           "start this far into the trace (it loops); capacity = trace only", 0.0,
                           1e9);
}

// The trace offset of `p`, refused for a capacity that is not a trace.
double TraceOffset(const core::Params& p) {
  const double offset = p.Double("trace_offset_s");
  if (offset > 0 && p.String("capacity") != "trace") {
    throw std::invalid_argument("trace_offset_s = " + core::FormatDouble(offset) +
                                ": needs capacity = trace (capacity = " + p.String("capacity") +
                                ")");
  }
  return offset;
}

// A trace's capacity, started `offset_s` into it.
std::unique_ptr<CapacityProcess> TraceFrom(const std::string& path, double offset_s) {
  std::unique_ptr<CapacityProcess> trace = LoadTraceCapacity(path);
  return offset_s > 0 ? OffsetCapacity(std::move(trace), offset_s) : std::move(trace);
}

// The access families' token-bucket shapers above a non-HTB shaping queue disc (SQM).
std::vector<core::ParamSpec> ShaperSpecs() {
  return {
      core::DoubleParam("shaper_down_mbps", 0.0,
                        "a token-bucket rate limit above the downlink shaping point's qdisc, "
                        "as SQM puts FQ-CoDel under a shaper (qdisc other than htb and none; "
                        "0: none)",
                        0.0, 1e6),
      core::DoubleParam("shaper_up_mbps", 0.0,
                        "the same above the uplink shaping point's qdisc (0: none)", 0.0, 1e6),
      core::StringParam("htb_leaf", "pfifo",
                        "the HTB classes' leaf queues (qdisc = htb): pfifo (drop-tail, what "
                        "every kernel has) or codel (CoDel's drops keep each class's queue "
                        "short)",
                        {"pfifo", "codel"}),
  };
}

// The access-path scenario on the backend `params` names.
std::unique_ptr<Scenario> MakeAccess(const core::Params& p, AccessScenarioSpec spec) {
  spec.path.shaping_qdisc = p.String("qdisc");
  spec.path.bottleneck_qdisc = p.String("bottleneck_qdisc");
  for (const char* key : {"shaper_down_mbps", "shaper_up_mbps"}) {
    const double mbps = p.Double(key);
    if (mbps > 0 && (spec.path.shaping_qdisc == "htb" || spec.path.shaping_qdisc == "none")) {
      throw std::invalid_argument(std::string(key) + " = " + core::FormatDouble(mbps) +
                                  ": a shaper above qdisc = " + spec.path.shaping_qdisc +
                                  " (it needs a qdisc to hold the queue, such as fq_codel; "
                                  "with htb, set the HTB rates instead)");
    }
  }
  spec.path.htb_leaf = p.String("htb_leaf");
  if (spec.path.htb_leaf != "pfifo" && spec.path.shaping_qdisc != "htb") {
    throw std::invalid_argument(
        "htb_leaf = " + spec.path.htb_leaf +
        ": the leaves of HTB classes, but qdisc = " + spec.path.shaping_qdisc);
  }
  spec.path.shaper_down_bps = p.Double("shaper_down_mbps") * 1e6;
  spec.path.shaper_up_bps = p.Double("shaper_up_mbps") * 1e6;
  spec.workload = ParseWorkload(p.String("workload"), p.String("tcp"), "workload");
  // Build the capacity processes once now, so that bad traces fail before any run.
  spec.capacity(0, true);
  spec.capacity(0, false);
  if (p.String("backend") == "fluid") return MakeFluidAccessScenario(p, std::move(spec));
  return MakeNs3AccessScenario(p, std::move(spec));
}

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
          TraceOffsetSpec(),
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
      Concat(CommonScenarioSpecs("bulk,video,gaming,web", "cubic"), ShaperSpecs()));
}

std::unique_ptr<Scenario> MakeTethered(const core::Params& p) {
  const std::string capacity = p.String("capacity");
  TraceOffset(p);  // refused early for a capacity that is not a trace
  const double uplink_factor = p.Double("uplink_factor");
  std::function<std::unique_ptr<CapacityProcess>(uint64_t, bool)> fn;
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
    const double offset = TraceOffset(p);
    fn = [down_path, up_path, offset](uint64_t, bool down) {
      return TraceFrom(down ? down_path : up_path, offset);
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
  for (LinkDirection* d : {&o.down, &o.up}) {
    d->delay_s = one_way;
    d->buffer_packets = static_cast<uint32_t>(p.Int("buffer_packets"));
    d->loss_rate = p.Double("loss");
  }
  return MakeAccess(p, {o, fn, {}});
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
          TraceOffsetSpec(),
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
      Concat(CommonScenarioSpecs("bulk,video,web", "cubic"), ShaperSpecs()));
}

std::unique_ptr<Scenario> MakeInternet(const core::Params& p) {
  const std::string capacity = p.String("capacity");
  const double offset = TraceOffset(p);
  const double base = p.Double("base_mbps");
  const double uplink_factor = p.Double("uplink_factor");
  std::function<std::unique_ptr<CapacityProcess>(uint64_t, bool)> fn;
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
    fn = [path, offset](uint64_t, bool) { return TraceFrom(path, offset); };
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
  for (LinkDirection* d : {&o.down, &o.up}) {
    d->delay_s = one_way;
    d->buffer_packets = static_cast<uint32_t>(buffer);
    d->loss_rate = p.Double("loss");
  }
  o.cross.flows = static_cast<int>(p.Int("cross_flows"));
  o.cross.rate_mbps = p.Double("cross_mbps");
  o.cross.mean_on_s = p.Double("cross_on_s");
  o.cross.mean_off_s = p.Double("cross_off_s");
  return MakeAccess(p, {o, fn, {}});
}

// Scenarios cannot be snapshotted (Scenario has no state save: neither ns-3 nor the fluid
// backend keeps one). ns-3 allows one simulation per process; the fluid backend is plain C++
// state. Costs are wall microseconds per simulated second with the family's defaults, measured
// on these machines (`linklab bench sim`; fluid: `linklab simulate` over 20 minutes); the
// access-path fluid models step every fluid_dt_ms or a quarter of the RTT if shorter, the
// datacenter's at most an eighth of its RTT, so its cost hardly depends on fluid_dt_ms.
core::TraitsFn ScenarioTraits(double ns3_us, double fluid_us, bool fluid_steps_with_dt) {
  return [=](const core::Params& p) {
    core::EntryTraits t;
    t.snapshot = false;
    if (p.String("backend") == "fluid") {
      t.own_process = false;
      t.cost_us_per_step =
          fluid_steps_with_dt
              ? fluid_us * 20.0 / std::min(p.Double("fluid_dt_ms"), p.Double("rtt_ms") / 4.0)
              : fluid_us;
    } else {
      t.own_process = true;
      t.cost_us_per_step = ns3_us;
    }
    return t;
  };
}

}  // namespace

void RegisterScenarioFamilies(ScenarioRegistryType& registry) {
  registry.Add({"tethered",
                "laptop behind a phone on a cellular link: tether hop, trace-driven or "
                "synthetic cellular capacity, deep per-user buffers",
                TetheredSpecs(), MakeTethered, ScenarioTraits(14e3, 35.0, true)});
  registry.Add({"internet",
                "wide-area path: diurnal capacity, long RTT, random loss, on/off Pareto cross "
                "traffic",
                InternetSpecs(), MakeInternet, ScenarioTraits(400e3, 45.0, true)});
  registry.Add({"datacenter",
                "leaf-spine fabric (>= 2 racks) with ECMP, 1-10 Gbit/s links, incast and "
                "shuffle workloads",
                DatacenterSpecs(),
                [](const core::Params& p) -> std::unique_ptr<Scenario> {
                  if (p.String("backend") == "fluid") return MakeFluidDatacenter(p);
                  return MakeNs3Datacenter(p);
                },
                ScenarioTraits(920e3, 9e3, false)});
}

}  // namespace linklab::sim
