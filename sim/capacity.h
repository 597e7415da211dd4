#pragma once
// Link capacity over time (ns-3-free: shared by the ns-3 and fluid backends).
//
// A capacity process is described by its cumulative delivery function B(t): the bytes the link
// can deliver in [0, t] (right-continuous, non-decreasing). A link serves its queue in order:
// a packet of s bytes that starts service with the link's byte position at c finishes at
// TimeOf(c + s); when the queue empties the unused capacity is lost, so a packet arriving at an
// idle link at time t starts from c = max(c, B(t)).
//
// Mahimahi traces make B a step function: each line is one opportunity to deliver 1500 bytes
// at that millisecond (several packets may share an opportunity, a packet may span several;
// an opportunity at the arrival's own time is already past), and the trace loops with a period
// equal to its last timestamp. Rate processes (constant, Pensieve throughput logs, Markov,
// diurnal) make B piecewise linear.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace linklab::sim {

class CapacityProcess {
 public:
  virtual ~CapacityProcess() = default;
  // B(t): bytes deliverable in [0, t], t >= 0.
  virtual double Cumulative(double t_s) = 0;
  // The earliest t with B(t) >= bytes.
  virtual double TimeOf(double bytes) = 0;
  // One line: "mahimahi ATT-LTE-driving.down (5.17 Mbit/s mean, period 1234.5 s)".
  virtual std::string Describe() const = 0;
  // The length after which the process repeats (a looped trace), or 0 when it does not.
  virtual double PeriodS() const { return 0.0; }
  // Mean capacity over [t0, t1) in bit/s.
  double MeanRateBps(double t0_s, double t1_s) {
    return t1_s > t0_s ? (Cumulative(t1_s) - Cumulative(t0_s)) * 8.0 / (t1_s - t0_s) : 0.0;
  }
};

constexpr double kMahimahiOpportunityBytes = 1500.0;

std::unique_ptr<CapacityProcess> ConstantCapacity(double rate_bps);

// Mahimahi trace from millisecond timestamps (non-decreasing, last > 0).
std::unique_ptr<CapacityProcess> MahimahiCapacity(std::vector<int64_t> timestamps_ms,
                                                  std::string name);
// Piecewise-constant rate from (time s, rate Mbit/s) samples, looped; each rate holds until
// the next sample, the last for the mean sample spacing.
std::unique_ptr<CapacityProcess> PiecewiseCapacity(std::vector<double> times_s,
                                                   std::vector<double> rates_mbps,
                                                   std::string name);

// Reads a trace file: "mahimahi" (one integer ms per line), "pensieve" (time<TAB>Mbit/s per
// line) or "auto" (by content). Empty files, unsorted or malformed lines (with their line
// number), and traces without any capacity are std::invalid_argument naming the file.
// Parsed traces are kept per process (by path, format, inode, size and change times), so that
// scenarios rebuilt at every episode reset do not parse the same file again.
std::unique_ptr<CapacityProcess> LoadTraceCapacity(const std::string& path,
                                                   const std::string& format = "auto");
// Finds a trace given as a path or a bare file name: the path itself, then each folder in
// $LINKLAB_TRACE_PATH (colon-separated), then ../shared/data/traces/{mahimahi,pensieve-train}
// next to the source tree. Throws std::invalid_argument listing where it looked.
std::string FindTrace(const std::string& name_or_path);

// The mean rate (Mbit/s) of `process` in each whole interval [k dt, (k+1) dt) of [0, span_s]
// (dt = interval_s): what a trace could deliver per interval, as data sets and forecasts bin it.
std::vector<double> IntervalRatesMbps(CapacityProcess& process, double span_s, double interval_s);

// The trace files of folder `dir`, sorted by name: regular files, not hidden, and not
// README, LICENSE, LICENCE or COPYING files (data folders ship their terms beside them).
std::vector<std::string> TraceFilesIn(const std::string& dir);

// `process` over [0, duration_s] as a mahimahi trace (one line per 1500-byte delivery
// opportunity, its millisecond), written atomically to `path`. A process without any capacity
// in that time is std::invalid_argument (a mahimahi trace needs one opportunity).
void WriteMahimahiTrace(CapacityProcess& process, double duration_s, const std::string& path);

// Markov-modulated synthetic capacity: `num_states` rates spaced log-uniformly in
// [min_mbps, max_mbps], exponential holding times, moves to a neighbouring state, and outages
// (rate 0) entered with probability `outage_prob` at each transition.
struct MarkovCapacityOptions {
  double min_mbps = 0.5;
  double max_mbps = 50.0;
  int num_states = 8;
  double mean_hold_s = 2.0;
  double outage_prob = 0.02;
  double mean_outage_s = 1.0;
};
std::unique_ptr<CapacityProcess> MarkovCapacity(const MarkovCapacityOptions& options,
                                                uint64_t seed);

// Diurnal wide-area capacity: base_mbps scaled by a daily profile (lowest around `peak_hour`,
// by `depth`), weekends by `weekend_factor`, plus multiplicative noise of `noise` (relative
// std), piecewise constant over `step_s`. Time 0 is `start_hour` on `start_day` (0 = Monday).
struct DiurnalCapacityOptions {
  double base_mbps = 500.0;
  double depth = 0.4;
  double peak_hour = 21.0;
  double weekend_factor = 0.9;
  double noise = 0.05;
  double step_s = 60.0;
  double start_hour = 0.0;
  int start_day = 0;
};
std::unique_ptr<CapacityProcess> DiurnalCapacity(const DiurnalCapacityOptions& options,
                                                 uint64_t seed);

// `inner` with every rate multiplied by `factor` (the scale knob of fast scaled-down runs).
std::unique_ptr<CapacityProcess> ScaledCapacity(std::unique_ptr<CapacityProcess> inner,
                                                double factor);

// `inner` started `offset_s` into its course (rounded to whole milliseconds, as traces count):
// B'(t) = B(t + offset) - B(offset). A looped trace started part-way, for episodes that begin
// at random points of one trace. Throws std::invalid_argument for a negative or non-finite
// offset.
std::unique_ptr<CapacityProcess> OffsetCapacity(std::unique_ptr<CapacityProcess> inner,
                                                double offset_s);

}  // namespace linklab::sim
