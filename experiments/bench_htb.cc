#include "experiments/bench_htb.h"

#include <map>
#include <stdexcept>

#include "core/registry.h"
#include "core/text.h"
#include "sim/scenario.h"

namespace linklab::experiments {

namespace {

using sim::AppClass;

sim::HtbClassConfig Class(AppClass c, double rate_mbps, double ceil_mbps, int prio = 0,
                          double quantum_bytes = 0.0) {
  return {c, rate_mbps * 1e6, ceil_mbps * 1e6, prio, quantum_bytes};
}

// Two classes, bulk (the default class) and video, each with a flow, under a root of
// `root_mbps`.
HtbBenchCase TwoClasses(std::string name, std::string what, double root_mbps,
                        std::vector<sim::HtbClassConfig> classes) {
  HtbBenchCase c;
  c.name = std::move(name);
  c.what = std::move(what);
  c.config.link_rate_bps = root_mbps * 1e6;
  c.config.classes = std::move(classes);
  c.config.default_class = AppClass::kBulk;
  // Deep enough that Cubic's backoffs in the sim leave each class's queue busy; the kernel's
  // senders, on the same host as the qdisc, are held back by TCP small queues before.
  c.config.class_queue_packets = 200;
  c.flows = {AppClass::kBulk, AppClass::kVideo};
  return c;
}

}  // namespace

std::vector<HtbBenchCase> HtbBenchCases() {
  const AppClass bulk = AppClass::kBulk, video = AppClass::kVideo;
  return {
      TwoClasses("a_no_borrowing", "rate = ceil below the root: each class at its rate", 20,
                 {Class(bulk, 6, 6), Class(video, 3, 3)}),
      TwoClasses("b_borrow_by_rate",
                 "ceil = root: what is left is lent by the default quanta (rate / 10), 1:3", 20,
                 {Class(bulk, 2, 20), Class(video, 6, 20)}),
      TwoClasses("c_borrow_by_quantum",
                 "equal rates, explicit quanta 1514 and 4542 bytes: what is left is lent 1:3", 20,
                 {Class(bulk, 4, 20, 0, 1514), Class(video, 4, 20, 0, 4542)}),
      TwoClasses("d_quantum_clamp",
                 "rates 20 and 100 Mbit/s: rate / 10 is clamped to 200000 bytes for both, so "
                 "what is left is lent 1:1, not 1:5",
                 200, {Class(bulk, 20, 200), Class(video, 100, 200)}),
      TwoClasses("e_two_prios",
                 "equal rates, ceil = root, video prio 0 and bulk prio 1: prio 0 takes what is "
                 "left",
                 20, {Class(bulk, 4, 20, 1), Class(video, 4, 20, 0)}),
      TwoClasses("f_quantum_clamp_400",
                 "case d under a 400 Mbit/s root: where the kernel check meets the limits of "
                 "the sending host",
                 400, {Class(bulk, 20, 400), Class(video, 100, 400)}),
  };
}

HtbBenchCase HtbBenchCaseNamed(const std::string& name) {
  std::vector<std::string> names;
  for (HtbBenchCase& c : HtbBenchCases()) {
    if (c.name == name) return c;
    names.push_back(c.name);
  }
  throw std::invalid_argument("no HTB bench case '" + name +
                              "'; cases: " + core::Join(names, ", "));
}

std::string HtbBenchScenario(const HtbBenchCase& c, const std::string& backend) {
  std::vector<std::string> workload;
  for (AppClass a : c.flows) {
    workload.push_back(a == AppClass::kBulk ? "bulk" : std::string("bulk:") + sim::AppClassName(a));
  }
  const std::string link_mbps = core::FormatDouble(2 * c.config.link_rate_bps / 1e6);
  return core::Spec("internet", "scenario spec")
      .Set("capacity", "constant")
      .Set("base_mbps", link_mbps)
      .Set("access_mbps", link_mbps)
      .Set("rtt_ms", "5")
      .Set("loss", "0")
      .Set("cross_flows", "0")
      .Set("tcp", "cubic")
      .Set("qdisc", "htb")
      .Set("workload", core::Join(workload, ","))
      .Set("backend", backend)
      .Text();
}

std::vector<double> SimHtbMbps(const HtbBenchCase& c, const std::string& backend, double warmup_s,
                               double measure_s) {
  auto scenario = sim::MakeScenario(HtbBenchScenario(c, backend));
  scenario->Start(1);
  scenario->ApplyShaping("down", c.config);
  if (warmup_s > 0) scenario->Advance(warmup_s);
  std::map<std::string, double> mbps;
  for (const sim::LinkSample& x : scenario->Advance(measure_s)) {
    if (x.link == "down") mbps[x.app_class] = x.bytes_delivered * 8e-6 / x.interval_s;
  }
  std::vector<double> out;
  for (AppClass a : c.flows) {
    const auto it = mbps.find(sim::AppClassName(a));
    if (it == mbps.end()) {
      throw std::runtime_error("HTB bench case " + c.name + " on " + backend +
                               ": no downlink sample of class " + sim::AppClassName(a));
    }
    out.push_back(it->second);
  }
  return out;
}

}  // namespace linklab::experiments
