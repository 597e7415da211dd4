#pragma once
// LinkSample: what a probe reports for one link direction and one application class over one
// interval. The sim's probes and the live runner's interface reader produce the same record;
// one observation encoder turns a window of them into an agent's observation.
//
// Counters are for the interval [time_s - interval_s, time_s). Latency figures summarise the
// packets of the class that crossed the link in the interval; NaN when there were none.
// Application metrics are NaN for classes they do not apply to.
//
// [observable]: a reader of a real Linux interface produces the field too (tc class counters:
// bytes, packets, drops, backlog; the RTT of local TCP connections through INET_DIAG; the
// clock). [truth]: the simulator's knowledge (true capacity, one-way delays, application
// metrics), for rewards in research and for evaluation tables only. The observation encoder
// (sim/observation.h) reads only [observable] fields; LinkSampleTruthFields() lists the others.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "sim/app_class.h"

namespace linklab::sim {

struct LinkSample {
  double time_s = 0.0;      // [observable] end of the interval (simulated seconds since the start)
  double interval_s = 0.0;  // [observable]
  std::string link;         // [observable] link direction, e.g. "down", "up", "leaf0->spine1"
  std::string app_class;    // [observable] "bulk", "video", ..., or "all" (sum over classes)

  // Traffic at the link's queue (the queue disc plus the device queue). [observable]: a tc
  // class's Sent bytes/packets, dropped and backlog (offered = sent + dropped + backlog change).
  uint64_t bytes_offered = 0;  // arriving at the queue (sent into the link)
  uint64_t packets_offered = 0;
  uint64_t bytes_delivered = 0;  // leaving the link at its far end
  uint64_t packets_delivered = 0;
  uint64_t drops = 0;          // packets dropped at the queue or lost on the link
  double backlog_bytes = 0.0;  // queued at the end of the interval
  double backlog_packets = 0.0;
  double loss_rate = 0.0;  // drops / (drops + packets_delivered); 0 when both are 0

  // End-to-end latency of the class's packets that crossed the link.
  double delay_p50_ms = 0.0;  // [truth] one-way, sender IP layer to receiver IP layer
  double delay_p95_ms = 0.0;  // [truth]
  double jitter_ms = 0.0;     // [truth] mean |difference| of consecutive one-way delays
  // [observable] transport RTT samples (TCP ACKs: tcpi_rtt through INET_DIAG; gaming: the
  // game's own echoes)
  double rtt_p50_ms = 0.0;
  double rtt_p95_ms = 0.0;  // [observable]

  double capacity_mbps = 0.0;  // [truth] the link's true capacity over the interval
  double goodput_mbps = 0.0;   // [truth] application bytes received by the class's receivers

  // Application metrics over the interval, all [truth].
  double video_bitrate_kbps = 0.0;  // mean bitrate of segments downloaded
  double video_stall_s = 0.0;       // playback stalled (rebuffering) time
  double video_buffer_s = 0.0;      // playback buffer at the end
  double fct_ms = 0.0;              // mean completion time of the finite transfers (web pages,
  double flows_done = 0.0;          // datacenter incast/shuffle) that finished; NaN: none
  double game_loss_rate = 0.0;      // game packets lost (sent but never received)

  // Time features of the interval's end (a scenario may start at any hour and weekday).
  // [observable] (the clock)
  double hour_of_day = 0.0;  // [0, 24)
  double day_of_week = 0.0;  // 0 = Monday ... 6 = Sunday
};

// Names of the numeric fields, in a fixed order, for tables and data sets; and their values.
const std::vector<std::string>& LinkSampleFields();
std::vector<double> LinkSampleValues(const LinkSample& s);
// The numeric fields marked [truth] above: what a real interface cannot give.
const std::vector<std::string>& LinkSampleTruthFields();
// Sets numeric field `name` (one of LinkSampleFields()); counters are rounded and clamped to
// >= 0, NaN sets them to 0. Throws std::invalid_argument for an unknown name.
void SetLinkSampleField(LinkSample& s, const std::string& name, double value);

// The predictors' series features and the LinkSample field each is read from (models/forecast.h
// documents them): a counter per interval becomes a rate when divided by the interval
// (`per_second`), times `scale`. In this order: bandwidth, latency, loss, jitter, hour, day,
// traffic, throughput, packets, rtt, delay_p95, backlog.
struct SeriesFeatureColumn {
  std::string feature, column;
  bool per_second = false;
  double scale = 1.0;
};
const std::vector<SeriesFeatureColumn>& SeriesFeatureColumns();

// One link's samples picked out of a step's: its "all" sample and, in the order of `classes`,
// each class's. Throws std::invalid_argument, starting with `what`, naming the link and the
// first one missing. Points into `samples`.
struct LinkSamples {
  const LinkSample* all = nullptr;
  std::array<const LinkSample*, kNumAppClasses> classes{};  // the first classes.size() set
};
LinkSamples SelectLinkSamples(const std::vector<LinkSample>& samples, const std::string& link,
                              const std::vector<AppClass>& classes, const std::string& what);

}  // namespace linklab::sim
