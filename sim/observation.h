#pragma once
// The observation encoder (DESIGN.md contract 4): one encoder turns a window of the last K
// steps' LinkSamples of one link, with the HTB shaping in force during each step, into an
// agent's observation, in the sim and in the live runner alike. It reads only the fields a
// reader of a real Linux interface produces ([observable] in sim/link_sample.h: tc class
// counters, the RTT of local TCP connections), never the simulator's truth, and every feature
// is finite and of order 1.
//
// Layout: K frames, newest first (frame 0 is the last step); each frame is
//   link:        valid, mbps, root_mbps
//   per class:   mbps, share, loss, backlog_kb, qdelay_ms, rtt_p50_ms, rtt_p95_ms, rtt_valid,
//                htb_rate_mbps, htb_ceil_mbps, htb_prio
// for the configured classes in their order. Frames before the first step are all 0
// (valid = 0). Names: "t<k>.link.mbps", "t<k>.<class>.qdelay_ms" (k steps ago).
//
// Features and scales (log10(1 + x) keeps rates from kbit/s to Gbit/s and delays from 1 ms to
// seconds within 0..4; every feature is clamped to [0, kMaxFeature]):
//   valid          1 for a frame holding a step, 0 for one before the first step
//   mbps           log10(1 + delivered Mbit/s)              (bytes_delivered / interval_s)
//   root_mbps      log10(1 + the HTB root's rate, Mbit/s)   (shaping in force)
//   share          the class's delivered bytes / the link's ("all"); 0 when the link delivered
//                  nothing
//   loss           drops / (drops + packets_delivered), [0, 1]; 0 when both are 0
//   backlog_kb     log10(1 + backlog kB)
//   qdelay_ms      log10(1 + backlog / service rate, ms); the service rate is the class's
//                  delivered rate, or, when it delivered nothing in the step, its configured
//                  HTB rate (its guarantee); capped at 100 s
//   rtt_p50_ms,    log10(1 + RTT ms); 0 when the step had no RTT sample (NaN), with
//   rtt_p95_ms     rtt_valid = 0 (1 when it had samples)
//   htb_rate_mbps, log10(1 + the class's configured HTB rate / ceil, Mbit/s): absolute, in the
//   htb_ceil_mbps  units of mbps; a class without an HTB class of its own reports the default
//                  class it falls into
//   htb_prio       prio / 7
// Any NaN or infinite input becomes the feature's documented finite value (0, or the cap).

#include <cstdint>
#include <string>
#include <vector>

#include "sim/link_sample.h"
#include "sim/shaping.h"

namespace linklab::sim {

struct ObservationSpec {
  std::string link = "down";      // the link whose samples are encoded
  std::vector<AppClass> classes;  // the classes observed, in this order (at least one)
  int window = 4;                 // K: steps kept, 1..64
};

class ObservationEncoder {
 public:
  static constexpr int kLinkFeatures = 3;
  static constexpr int kClassFeatures = 11;
  static constexpr float kMaxFeature = 6.0f;

  // Throws std::invalid_argument for no classes, a class twice or a window outside 1..64.
  explicit ObservationEncoder(ObservationSpec spec);

  const ObservationSpec& spec() const { return spec_; }
  // Elements of an observation: window * (kLinkFeatures + classes * kClassFeatures).
  size_t size() const { return static_cast<size_t>(spec_.window) * frame_size_; }
  // One name per element, in order.
  const std::vector<std::string>& feature_names() const { return names_; }
  // Bounds of every element: [0, kMaxFeature] ([0, 1] for flags, shares and loss).
  const std::vector<double>& low() const { return low_; }
  const std::vector<double>& high() const { return high_; }
  // The canonical text of the spec (version, link, window, classes, every feature with its
  // scale) and its FNV-1a 64-bit hash as 16 hex digits: what an exported policy carries to
  // check that the live runner encodes as training did.
  const std::string& spec_text() const { return spec_text_; }
  std::string spec_hash() const;

  // Forgets every step (an episode's start).
  void Reset();
  // Adds one step: `samples` holds (at least) this link's sample of every observed class and
  // its "all" sample (other links are ignored); `shaping` is the HTB config that was in force.
  // Throws std::invalid_argument naming the link and class of a missing sample.
  void Push(const std::vector<LinkSample>& samples, const HtbConfig& shaping);
  // The observation of the steps pushed so far (size() elements written to `out`).
  void Encode(float* out) const;
  std::vector<float> Encode() const;
  // Steps held (at most the window).
  int frames() const { return frames_; }
  // The link's delivered rate (bit/s) averaged over the steps held; 0 before any.
  double RecentLinkRateBps() const;

 private:
  ObservationSpec spec_;
  size_t frame_size_ = 0;
  std::vector<std::string> names_;
  std::vector<double> low_, high_;
  std::string spec_text_;
  // Ring of frames (features already scaled) and each frame's link rate (bit/s).
  std::vector<float> ring_;
  std::vector<double> link_bps_;
  int head_ = 0;  // where the next frame goes
  int frames_ = 0;
};

// The delivered rate of a sample, bit/s (bytes_delivered / interval_s; 0 for no interval).
double DeliveredBps(const LinkSample& s);
// The queueing delay (ms) the backlog of class `c`'s sample implies: backlog / service rate,
// the service rate being its delivered rate or, when it delivered nothing, its HTB rate under
// `shaping`; 0 without backlog, at most 100 s. Observable fields only.
double ImpliedQueueDelayMs(const LinkSample& s, const HtbConfig& shaping, AppClass c);
// The HTB class that serves class `c` under `config` (its own, else the default class); null
// when the config has neither.
const HtbClassConfig* ServingClass(const HtbConfig& config, AppClass c);

}  // namespace linklab::sim
