#pragma once
// Per-class calibration of the fluid backend against ns-3 (one way, shared by `linklab bench
// sim` and the CI calibration test): the same scenario and shaping on both backends, then per
// application class its throughput, p95 delay and application metrics side by side.

#include <string>
#include <utility>
#include <vector>

#include "sim/shaping.h"

namespace linklab::sim {

struct MetricComparison {
  std::string name;  // "throughput_mbps", "delay_p95_ms", "video_bitrate_kbps", ...
  double ns3 = 0, fluid = 0;
  double target = 0;  // relative error allowed
  double floor = 0;   // absolute difference that counts as met (values near zero)
  bool met = false;
  double Error() const { return ns3 != 0 ? fluid / ns3 - 1.0 : 0.0 / 0.0; }
};

struct ClassComparison {
  std::string app_class;
  std::vector<MetricComparison> metrics;
  bool Within() const;
  const MetricComparison& Metric(const std::string& name) const;  // throws if absent
};

// The shaping configs of the per-class rows, for a link of `mbps` (mean capacity), over the
// default mix's classes: "htb_below_capacity" (rates summing to 0.8 x capacity, no borrowing),
// "htb_borrowing" (the same rates, each may borrow up to the capacity) and "htb_two_prios"
// (borrowing, gaming and video at prio 0, the rest at prio 1).
std::vector<std::pair<std::string, HtbConfig>> ClassShapingCases(double mbps);

// Runs `spec` for `seconds` on ns-3 and on the fluid backend (shaped at "down" from the start
// by `shaping` if given) and compares every class of the down link. Targets: throughput 10 %,
// everything else 25 %.
std::vector<ClassComparison> CompareClasses(const std::string& spec, const HtbConfig* shaping,
                                            double seconds);

}  // namespace linklab::sim
