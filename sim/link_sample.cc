#include "sim/link_sample.h"

namespace linklab::sim {

const std::vector<std::string>& LinkSampleFields() {
  static const std::vector<std::string> kFields = {
      "time_s",          "interval_s",         "bytes_offered",  "packets_offered",
      "bytes_delivered", "packets_delivered",  "drops",          "backlog_bytes",
      "backlog_packets", "loss_rate",          "delay_p50_ms",   "delay_p95_ms",
      "jitter_ms",       "rtt_p50_ms",         "rtt_p95_ms",     "capacity_mbps",
      "goodput_mbps",    "video_bitrate_kbps", "video_stall_s",  "video_buffer_s",
      "fct_ms",          "flows_done",         "game_loss_rate", "hour_of_day",
      "day_of_week"};
  return kFields;
}

std::vector<double> LinkSampleValues(const LinkSample& s) {
  return {s.time_s,
          s.interval_s,
          static_cast<double>(s.bytes_offered),
          static_cast<double>(s.packets_offered),
          static_cast<double>(s.bytes_delivered),
          static_cast<double>(s.packets_delivered),
          static_cast<double>(s.drops),
          s.backlog_bytes,
          s.backlog_packets,
          s.loss_rate,
          s.delay_p50_ms,
          s.delay_p95_ms,
          s.jitter_ms,
          s.rtt_p50_ms,
          s.rtt_p95_ms,
          s.capacity_mbps,
          s.goodput_mbps,
          s.video_bitrate_kbps,
          s.video_stall_s,
          s.video_buffer_s,
          s.fct_ms,
          s.flows_done,
          s.game_loss_rate,
          s.hour_of_day,
          s.day_of_week};
}

}  // namespace linklab::sim
