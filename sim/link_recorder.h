#pragma once
// LinkRecorder: turns what a backend sees on one probed link direction (traffic per class,
// one-way delays, the applications' counters) into LinkSamples, one interval at a time.
// ns-3-free: the ns-3 probes feed it from packet traces, the fluid backend from its flows.

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "sim/capacity.h"
#include "sim/link_sample.h"
#include "sim/workload.h"

namespace linklab::sim {

class LinkRecorder {
 public:
  // `capacity` (not owned; may be null) gives capacity_mbps. Time features count from
  // `start_hour` on `start_day` (0 = Monday).
  LinkRecorder(std::string name, CapacityProcess* capacity, double start_hour, int start_day,
               uint64_t seed);

  // Traffic of class `c` (bytes may be fractional in the fluid backend).
  void Offered(AppClass c, double bytes, double packets);
  void Delivered(AppClass c, double bytes, double packets);
  void Dropped(AppClass c, double packets);
  void AddBacklog(AppClass c, double bytes, double packets);  // signed change
  void SetBacklog(AppClass c, double bytes, double packets);
  // A one-way delay (s) of `weight` packets of class `c` delivered now.
  void OnDelay(AppClass c, double delay_s, double weight = 1.0);

  // The counters the link's applications write (see sim/workload.h).
  AppCounters* counters(AppClass c) { return &apps_[static_cast<int>(c)]; }
  const std::string& name() const { return name_; }

  // Samples of the interval that ends at `now_s`, for `classes` and "all"; starts the next.
  std::vector<LinkSample> Collect(double now_s, double interval_s,
                                  const std::vector<AppClass>& classes);
  double delivered_packets() const { return total_delivered_packets_; }
  double delivered_bytes() const { return total_delivered_bytes_; }

 private:
  struct Counts {
    double offered_bytes = 0, offered_packets = 0;
    double delivered_bytes = 0, delivered_packets = 0;
    double drops = 0;
    double backlog_bytes = 0, backlog_packets = 0;
  };
  struct Delays {
    std::vector<std::pair<double, double>> samples;  // reservoir of (delay s, weight)
    uint64_t seen = 0;
    double jitter_sum = 0.0, jitter_weight = 0.0, last = -1.0;
  };
  LinkSample Sample(int c, double now_s, double interval_s);

  std::string name_;
  CapacityProcess* capacity_;
  double start_hour_;
  int start_day_;
  core::Rng rng_;
  std::array<Counts, kNumAppClasses> now_{}, prev_{};
  std::array<Delays, kNumAppClasses> delays_{};
  std::array<AppCounters, kNumAppClasses> apps_{}, apps_prev_{};
  double total_delivered_packets_ = 0, total_delivered_bytes_ = 0;
};

}  // namespace linklab::sim
