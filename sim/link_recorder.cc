#include "sim/link_recorder.h"

#include <algorithm>
#include <cmath>

namespace linklab::sim {

namespace {

// Of the packets whose fate the interval decided (delivered or dropped), the share dropped. An
// AQM drops packets that arrived in earlier intervals, so drops / offered could exceed 1.
double LossRate(const LinkSample& s) {
  const double decided = static_cast<double>(s.drops + s.packets_delivered);
  return decided > 0 ? static_cast<double>(s.drops) / decided : 0.0;
}

constexpr size_t kReservoir = 1024;  // delay samples kept per class and interval

// The weighted q-quantile of (value, weight) pairs; NaN when empty.
double Quantile(std::vector<std::pair<double, double>>& v, double q) {
  if (v.empty()) return std::nan("");
  if (!std::is_sorted(v.begin(), v.end())) std::sort(v.begin(), v.end());
  double total = 0;
  for (const auto& [x, w] : v) total += w;
  double acc = 0;
  for (const auto& [x, w] : v) {
    acc += w;
    if (acc >= q * total) return x;
  }
  return v.back().first;
}

// A class's RTT samples with their weights.
std::vector<std::pair<double, double>> Weighted(const AppCounters& app) {
  std::vector<std::pair<double, double>> w(app.rtt_ms.size());
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = {app.rtt_ms[i], i < app.rtt_weight.size() ? app.rtt_weight[i] : 1.0};
  }
  return w;
}

uint64_t Count(double x) { return static_cast<uint64_t>(std::llround(std::max(0.0, x))); }

}  // namespace

LinkRecorder::LinkRecorder(std::string name, CapacityProcess* capacity, double start_hour,
                           int start_day, uint64_t seed)
    : name_(std::move(name)),
      capacity_(capacity),
      start_hour_(start_hour),
      start_day_(start_day),
      rng_(seed) {}

void LinkRecorder::Offered(AppClass c, double bytes, double packets) {
  Counts& k = now_[static_cast<int>(c)];
  k.offered_bytes += bytes;
  k.offered_packets += packets;
}

void LinkRecorder::Delivered(AppClass c, double bytes, double packets) {
  Counts& k = now_[static_cast<int>(c)];
  k.delivered_bytes += bytes;
  k.delivered_packets += packets;
  total_delivered_bytes_ += bytes;
  total_delivered_packets_ += packets;
}

void LinkRecorder::Dropped(AppClass c, double packets) {
  now_[static_cast<int>(c)].drops += packets;
}

void LinkRecorder::AddBacklog(AppClass c, double bytes, double packets) {
  Counts& k = now_[static_cast<int>(c)];
  k.backlog_bytes += bytes;
  k.backlog_packets += packets;
}

void LinkRecorder::SetBacklog(AppClass c, double bytes, double packets) {
  Counts& k = now_[static_cast<int>(c)];
  k.backlog_bytes = bytes;
  k.backlog_packets = packets;
}

void LinkRecorder::OnDelay(AppClass c, double delay_s, double weight) {
  Delays& d = delays_[static_cast<int>(c)];
  ++d.seen;
  if (d.samples.size() < kReservoir) {
    d.samples.emplace_back(delay_s, weight);
  } else {
    const uint64_t j = rng_.UniformInt(d.seen);
    if (j < kReservoir) d.samples[j] = {delay_s, weight};
  }
  if (d.last >= 0) {
    d.jitter_sum += weight * std::fabs(delay_s - d.last);
    d.jitter_weight += weight;
  }
  d.last = delay_s;
}

LinkSample LinkRecorder::Sample(int c, double now_s, double interval_s) {
  LinkSample s;
  s.time_s = now_s;
  s.interval_s = interval_s;
  s.link = name_;
  const Counts& a = now_[c];
  const Counts& b = prev_[c];
  s.bytes_offered = Count(a.offered_bytes - b.offered_bytes);
  s.packets_offered = Count(a.offered_packets - b.offered_packets);
  s.bytes_delivered = Count(a.delivered_bytes - b.delivered_bytes);
  s.packets_delivered = Count(a.delivered_packets - b.delivered_packets);
  s.drops = Count(a.drops - b.drops);
  s.backlog_bytes = std::max(0.0, a.backlog_bytes);
  s.backlog_packets = std::max(0.0, a.backlog_packets);
  s.loss_rate = LossRate(s);
  Delays& d = delays_[c];
  s.delay_p50_ms = Quantile(d.samples, 0.5) * 1e3;  // sorts once; the second call is cheap
  s.delay_p95_ms = Quantile(d.samples, 0.95) * 1e3;
  s.jitter_ms = d.jitter_weight > 0 ? d.jitter_sum / d.jitter_weight * 1e3 : std::nan("");
  AppCounters& app = apps_[c];
  const AppCounters& prev = apps_prev_[c];
  std::vector<std::pair<double, double>> rtts = Weighted(app);
  s.rtt_p50_ms = Quantile(rtts, 0.5);
  s.rtt_p95_ms = Quantile(rtts, 0.95);
  s.goodput_mbps = (app.rx_bytes - prev.rx_bytes) * 8.0 / interval_s / 1e6;
  const uint64_t segments = app.video_segments - prev.video_segments;
  const bool video = static_cast<AppClass>(c) == AppClass::kVideo;
  const bool game = static_cast<AppClass>(c) == AppClass::kGaming;
  const double nan = std::nan("");
  s.video_bitrate_kbps = !video ? nan
                         : segments > 0
                             ? (app.video_bitrate_kbps_sum - prev.video_bitrate_kbps_sum) / segments
                             : nan;
  s.video_stall_s = video ? app.video_stall_s - prev.video_stall_s : nan;
  s.video_buffer_s = video ? app.video_buffer_s : nan;
  const uint64_t flows = app.flows_done - prev.flows_done;
  s.flows_done = static_cast<double>(flows);
  s.fct_ms = flows > 0 ? (app.fct_ms_sum - prev.fct_ms_sum) / flows : nan;
  const uint64_t sent = app.game_sent - prev.game_sent;
  const uint64_t received = app.game_received - prev.game_received;
  s.game_loss_rate = !game ? nan : sent > 0 ? std::max(0.0, 1.0 - double(received) / sent) : nan;
  return s;
}

std::vector<LinkSample> LinkRecorder::Collect(double now_s, double interval_s,
                                              const std::vector<AppClass>& classes) {
  std::vector<LinkSample> out;
  LinkSample all;
  all.time_s = now_s;
  all.interval_s = interval_s;
  all.link = name_;
  all.app_class = "all";
  std::vector<std::pair<double, double>> all_delays;
  std::vector<std::pair<double, double>> all_rtts;
  double jitter_sum = 0.0, fct_sum = 0.0;
  double jitter_weight = 0.0;
  all.flows_done = 0.0;
  for (int c = 0; c < kNumAppClasses; ++c) {
    // Every class counts in "all", listed or not.
    all_delays.insert(all_delays.end(), delays_[c].samples.begin(), delays_[c].samples.end());
    const std::vector<std::pair<double, double>> rtts = Weighted(apps_[c]);
    all_rtts.insert(all_rtts.end(), rtts.begin(), rtts.end());
    jitter_sum += delays_[c].jitter_sum;
    jitter_weight += delays_[c].jitter_weight;
    LinkSample s = Sample(c, now_s, interval_s);
    s.app_class = AppClassName(static_cast<AppClass>(c));
    all.bytes_offered += s.bytes_offered;
    all.packets_offered += s.packets_offered;
    all.bytes_delivered += s.bytes_delivered;
    all.packets_delivered += s.packets_delivered;
    all.drops += s.drops;
    all.backlog_bytes += s.backlog_bytes;
    all.backlog_packets += s.backlog_packets;
    all.goodput_mbps += s.goodput_mbps;
    all.flows_done += s.flows_done;
    if (s.flows_done > 0) fct_sum += s.fct_ms * s.flows_done;
    if (std::find(classes.begin(), classes.end(), static_cast<AppClass>(c)) != classes.end()) {
      out.push_back(std::move(s));
    }
  }
  all.fct_ms = all.flows_done > 0 ? fct_sum / all.flows_done : std::nan("");
  all.loss_rate = LossRate(all);
  all.delay_p50_ms = Quantile(all_delays, 0.5) * 1e3;
  all.delay_p95_ms = Quantile(all_delays, 0.95) * 1e3;
  all.jitter_ms = jitter_weight > 0 ? jitter_sum / jitter_weight * 1e3 : std::nan("");
  all.rtt_p50_ms = Quantile(all_rtts, 0.5);
  all.rtt_p95_ms = Quantile(all_rtts, 0.95);
  const double nan = std::nan("");
  all.video_bitrate_kbps = all.video_stall_s = all.video_buffer_s = nan;
  all.game_loss_rate = nan;
  out.push_back(all);

  const double capacity =
      capacity_ ? capacity_->MeanRateBps(now_s - interval_s, now_s) / 1e6 : std::nan("");
  const double hours = start_hour_ + now_s / 3600.0;
  for (LinkSample& s : out) {
    s.capacity_mbps = capacity;
    s.hour_of_day = std::fmod(hours, 24.0);
    s.day_of_week = std::fmod(start_day_ + std::floor(hours / 24.0), 7.0);
  }
  // Start the next interval.
  prev_ = now_;
  for (int c = 0; c < kNumAppClasses; ++c) {
    delays_[c].samples.clear();
    delays_[c].seen = 0;
    delays_[c].jitter_sum = 0.0;
    delays_[c].jitter_weight = 0.0;
    apps_[c].rtt_ms.clear();
    apps_[c].rtt_weight.clear();
  }
  apps_prev_ = apps_;
  return out;
}

}  // namespace linklab::sim
