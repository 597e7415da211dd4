#pragma once
// Workload specs (ns-3-free): which applications run, how many, over which TCP variant and in
// which direction, and the counters they report.
//
// Grammar: items `app[*count][@tcp][/direction][:class]` separated by ',' or '+', the suffixes
// in any order, e.g. "bulk*2@bbr,video,gaming,web/up,bulk:other" (or with '+' inside a spec)
// app: bulk | video | gaming | web; count >= 1 (default 1); tcp: newreno | cubic | bbr
// (default: the scenario's `tcp`); direction: down (server to client, default) | up;
// class: the application class its packets are marked, shaped and measured as (default: the
// app's own), so that two flows of one kind can sit in two classes: "bulk,bulk:video".

#include <cstdint>
#include <string>
#include <vector>

#include "sim/app_class.h"

namespace linklab::sim {

struct WorkloadItem {
  AppClass app = AppClass::kBulk;        // the application (bulk, video, gaming or web)
  AppClass app_class = AppClass::kBulk;  // its class: DSCP mark, HTB class, LinkSample class
  int count = 1;
  std::string tcp;  // "" = the scenario default
  std::string direction = "down";
};

// Throws std::invalid_argument naming `what`, the item and the problem.
std::vector<WorkloadItem> ParseWorkload(const std::string& spec, const std::string& default_tcp,
                                        const std::string& what);
// Checks a TCP variant name (newreno, cubic, bbr); throws std::invalid_argument naming `what`.
void CheckTcpVariant(const std::string& name, const std::string& what);

// Parameters of the application models.
struct WorkloadOptions {
  // Video: segments over a bitrate ladder, a rate-based ABR (highest bitrate below 0.9 x the
  // harmonic mean throughput of the last 5 segments, dropping to the lowest when the buffer
  // is under one segment), playback starts after one segment, at most max_buffer_s buffered.
  std::vector<double> video_ladder_kbps = {300, 750, 1200, 1850, 2850, 4300};
  double video_segment_s = 4.0;
  double video_max_buffer_s = 30.0;
  // Gaming: UDP both ways at `game_hz`, client updates of game_up_bytes, server state of
  // game_down_bytes; the client echoes timestamps so RTT is measured.
  double game_hz = 60.0;
  int game_up_bytes = 120;
  int game_down_bytes = 300;
  // Web: pages of lognormal size (median web_median_kb, sigma web_sigma), each fetched over a
  // new TCP connection, exponential think time between pages.
  double web_median_kb = 300.0;
  double web_sigma = 1.2;
  double web_think_s = 3.0;
  // Bulk: an endless transfer (0) or bulk_bytes then stop.
  uint64_t bulk_bytes = 0;
  // TCP send and receive buffers. Scenarios size them to twice the path's bandwidth-delay
  // product: enough for full rate, and no larger, since ns-3's per-ACK work grows with the
  // data a sender holds (see the README's scale knob).
  uint32_t socket_buffer_bytes = 4u << 20;
};

// Twice the bandwidth-delay product, within [4 MB, 16 MB] (Linux's default to a tuned host's
// maximum; smaller buffers also trip an ns-3 3.37 TCP fault, TcpRateLinux::SkbSent).
uint32_t SocketBufferFor(double rate_bps, double rtt_s);

// Cumulative counters of one (link direction, class), written by the applications; probes
// difference them per interval and drain `rtt_ms`.
struct AppCounters {
  uint64_t rx_bytes = 0;           // application bytes received
  std::vector<double> rtt_ms;      // transport RTT samples since the last drain
  std::vector<double> rtt_weight;  // the packets each stands for (same size as rtt_ms)
  void AddRtt(double ms, double weight = 1.0) {
    rtt_ms.push_back(ms);
    rtt_weight.push_back(weight);
  }
  double video_bitrate_kbps_sum = 0.0;
  uint64_t video_segments = 0;
  double video_stall_s = 0.0;   // cumulative rebuffering time
  double video_buffer_s = 0.0;  // current playback buffer
  double fct_ms_sum = 0.0;      // finite transfers (web pages, incast and shuffle transfers)
  uint64_t flows_done = 0;
  uint64_t game_sent = 0;  // game packets sent toward this direction's receiver
  uint64_t game_received = 0;
};

}  // namespace linklab::sim
