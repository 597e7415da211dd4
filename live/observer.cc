#include "live/observer.h"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace linklab::live {

namespace {

uint64_t Delta(uint64_t now, uint64_t before) { return now >= before ? now - before : 0; }
// Packet and drop counts come from the kernel's 32-bit statistics: they wrap.
uint64_t Delta32(uint64_t now, uint64_t before) {
  return static_cast<uint32_t>(static_cast<uint32_t>(now) - static_cast<uint32_t>(before));
}

// Nearest-rank percentile of `v` (sorted in place); NaN when empty.
double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

void SetCounts(sim::LinkSample& s, const TcCounters& now, const TcCounters& before) {
  const uint64_t bytes = Delta(now.bytes, before.bytes);
  const uint64_t packets = Delta32(now.packets, before.packets);
  const uint64_t drops = Delta32(now.drops, before.drops);
  const double mean_packet = packets > 0 ? static_cast<double>(bytes) / packets : 1500.0;
  const double backlog_change =
      static_cast<double>(now.backlog_bytes) - static_cast<double>(before.backlog_bytes);
  s.bytes_delivered = bytes;
  s.packets_delivered = packets;
  s.drops = drops;
  s.backlog_bytes = static_cast<double>(now.backlog_bytes);
  s.backlog_packets = static_cast<double>(now.qlen);
  s.bytes_offered = static_cast<uint64_t>(std::max(
      0.0, static_cast<double>(bytes) + mean_packet * static_cast<double>(drops) + backlog_change));
  s.packets_offered = static_cast<uint64_t>(std::max(0.0, static_cast<double>(packets + drops) +
                                                              static_cast<double>(now.qlen) -
                                                              static_cast<double>(before.qlen)));
  s.loss_rate = drops + packets > 0 ? static_cast<double>(drops) / (drops + packets) : 0.0;
}

bool Matches(const sim::PacketMatch& m, const TcpSocket& s) {
  switch (m.kind) {
    case sim::PacketMatch::Kind::kDscp:
      return (s.tos >> 2) == m.value;
    case sim::PacketMatch::Kind::kPort:
      return s.local_port == m.value || s.remote_port == m.value;
    case sim::PacketMatch::Kind::kProto:
      return m.value == 6;
  }
  return false;
}

}  // namespace

sim::AppClass ClassOfSocket(const sim::ShapingFile& classes, const TcpSocket& s) {
  for (size_t i = 0; i < classes.config.classes.size(); ++i) {
    for (const sim::PacketMatch& m : classes.matches[i]) {
      if (Matches(m, s)) return classes.config.classes[i].app_class;
    }
  }
  return classes.config.default_class;
}

void SetLiveProxies(sim::LinkSample& s) {
  s.capacity_mbps = s.interval_s > 0 ? s.bytes_delivered * 8e-6 / s.interval_s : NAN;
  s.delay_p50_ms = s.rtt_p50_ms / 2;
  s.delay_p95_ms = s.rtt_p95_ms / 2;
}

Observer::Observer(std::string link, sim::ShapingFile classes, Direction direction)
    : link_(std::move(link)), classes_(std::move(classes)), direction_(direction) {
  icmp_class_ = classes_.config.default_class;
  for (size_t i = classes_.matches.size(); i-- > 0;) {
    for (const sim::PacketMatch& m : classes_.matches[i]) {
      if (m.kind == sim::PacketMatch::Kind::kProto && m.value == 1) {
        icmp_class_ = classes_.config.classes[i].app_class;
      }
    }
  }
}

sim::LinkSample Observer::Base(const std::string& app_class, double now_s) const {
  sim::LinkSample s;
  s.time_s = now_s;
  s.interval_s = now_s - *last_s_;
  s.link = link_;
  s.app_class = app_class;
  // Truth the interface cannot give.
  s.delay_p50_ms = s.delay_p95_ms = s.jitter_ms = NAN;
  s.capacity_mbps = s.goodput_mbps = NAN;
  s.video_bitrate_kbps = s.video_stall_s = s.video_buffer_s = NAN;
  s.fct_ms = s.flows_done = s.game_loss_rate = NAN;
  const std::time_t t = std::time(nullptr);
  std::tm local{};
  localtime_r(&t, &local);
  s.hour_of_day = local.tm_hour + local.tm_min / 60.0 + local.tm_sec / 3600.0;
  s.day_of_week = (local.tm_wday + 6) % 7;  // Monday 0
  return s;
}

void Observer::SetRtt(std::vector<sim::LinkSample>& out, const std::vector<TcpSocket>* sockets,
                      const std::vector<double>& probe_rtts) {
  if (sockets) {
    tcp_rtts_.clear();
    std::map<uint64_t, uint64_t> moved_now;
    for (const TcpSocket& s : *sockets) {
      const uint64_t moved = s.bytes_received + s.bytes_acked;
      moved_now[s.cookie] = moved;
      // Only connections that moved data since the last read: an idle one's estimate is old
      // (an iperf3 control connection shares its data connection's port).
      const auto before = rtt_moved_.find(s.cookie);
      if (moved <= (before == rtt_moved_.end() ? 0 : before->second)) continue;
      // A connection that mostly receives knows its RTT from the receiver's estimate.
      const double rtt =
          s.bytes_received > s.bytes_acked && s.rcv_rtt_ms > 0 ? s.rcv_rtt_ms : s.rtt_ms;
      if (!(rtt > 0)) continue;
      tcp_rtts_[sim::AppClassName(ClassOfSocket(classes_, s))].push_back(rtt);
      tcp_rtts_["all"].push_back(rtt);
    }
    rtt_moved_ = std::move(moved_now);
  }
  std::map<std::string, std::vector<double>> rtts = tcp_rtts_;
  for (double r : probe_rtts) {
    rtts[sim::AppClassName(icmp_class_)].push_back(r);
    rtts["all"].push_back(r);
  }
  for (sim::LinkSample& s : out) {
    std::vector<double>& v = rtts[s.app_class];
    s.rtt_p50_ms = Percentile(v, 0.5);
    s.rtt_p95_ms = Percentile(v, 0.95);
  }
}

std::vector<sim::LinkSample> Observer::FromTree(const ShaperCounters& tree,
                                                const std::vector<TcpSocket>* sockets, double now_s,
                                                const std::vector<double>& probe_rtts) {
  std::vector<sim::LinkSample> out;
  if (last_s_ && last_tree_) {
    TcCounters all_before = last_tree_->total, all_now = tree.total;
    all_before.drops = all_now.drops = 0;
    all_before.qlen = all_now.qlen = all_before.backlog_bytes = all_now.backlog_bytes = 0;
    for (const sim::HtbClassConfig& c : classes_.config.classes) {
      sim::LinkSample s = Base(sim::AppClassName(c.app_class), now_s);
      const TcCounters& now = tree.classes.at(c.app_class);
      const auto before = last_tree_->classes.find(c.app_class);
      SetCounts(s, now, before == last_tree_->classes.end() ? now : before->second);
      out.push_back(s);
      // The root class counts what it sent; its drops and queue are its leaves'.
      all_now.drops += now.drops;
      all_now.qlen += now.qlen;
      all_now.backlog_bytes += now.backlog_bytes;
      if (before != last_tree_->classes.end()) {
        all_before.drops += before->second.drops;
        all_before.qlen += before->second.qlen;
        all_before.backlog_bytes += before->second.backlog_bytes;
      }
    }
    sim::LinkSample all = Base("all", now_s);
    SetCounts(all, all_now, all_before);
    out.push_back(all);
    SetRtt(out, sockets, probe_rtts);
  }
  last_s_ = now_s;
  last_tree_ = tree;
  return out;
}

std::vector<sim::LinkSample> Observer::FromLink(const LinkCounters& link,
                                                const std::vector<TcpSocket>& sockets, double now_s,
                                                const std::vector<double>& probe_rtts) {
  const bool in = direction_ == Direction::kIngress;
  std::map<uint64_t, uint64_t> bytes_now;
  std::map<sim::AppClass, uint64_t> class_bytes;
  for (const TcpSocket& s : sockets) {
    const uint64_t b = in ? s.bytes_received : s.bytes_acked;
    bytes_now[s.cookie] = b;
    const auto before = socket_bytes_.find(s.cookie);
    // A connection new in the interval counts all it moved (most of it in the interval).
    class_bytes[ClassOfSocket(classes_, s)] +=
        Delta(b, before == socket_bytes_.end() ? 0 : before->second);
  }
  std::vector<sim::LinkSample> out;
  if (last_s_ && last_link_) {
    const uint64_t all_bytes =
        Delta(in ? link.rx_bytes : link.tx_bytes, in ? last_link_->rx_bytes : last_link_->tx_bytes);
    const uint64_t all_packets = Delta(in ? link.rx_packets : link.tx_packets,
                                       in ? last_link_->rx_packets : last_link_->tx_packets);
    const uint64_t all_drops = Delta(in ? link.rx_dropped : link.tx_dropped,
                                     in ? last_link_->rx_dropped : last_link_->tx_dropped);
    const double packet = all_packets > 0 ? static_cast<double>(all_bytes) / all_packets : 1500;
    uint64_t classified = 0;
    for (const sim::HtbClassConfig& c : classes_.config.classes) {
      if (c.app_class != classes_.config.default_class) classified += class_bytes[c.app_class];
    }
    for (const sim::HtbClassConfig& c : classes_.config.classes) {
      sim::LinkSample s = Base(sim::AppClassName(c.app_class), now_s);
      // TCP payload counts are a little under the frames the link carried; the default
      // class takes what no connection of another class accounts for.
      const uint64_t b = c.app_class == classes_.config.default_class
                             ? Delta(all_bytes, classified)
                             : std::min(class_bytes[c.app_class], all_bytes);
      s.bytes_delivered = s.bytes_offered = b;
      s.packets_delivered = s.packets_offered = static_cast<uint64_t>(std::llround(b / packet));
      out.push_back(s);
    }
    sim::LinkSample all = Base("all", now_s);
    all.bytes_delivered = all_bytes;
    all.packets_delivered = all_packets;
    all.drops = all_drops;
    all.bytes_offered = all_bytes;
    all.packets_offered = all_packets + all_drops;
    all.loss_rate = all_drops + all_packets > 0
                        ? static_cast<double>(all_drops) / (all_drops + all_packets)
                        : 0.0;
    out.push_back(all);
    SetRtt(out, &sockets, probe_rtts);
  }
  socket_bytes_ = std::move(bytes_now);
  last_s_ = now_s;
  last_link_ = link;
  return out;
}

}  // namespace linklab::live
