// The fluid backend of the access-path families (tethered, internet): the same scenario
// config as on ns-3, advanced in fixed time steps (`fluid_dt_ms`, at most a quarter of the base
// RTT) through the access path's queues (the bottleneck buffers in both directions, a queue disc
// above the down one, the queue discs at the gateway's shaping points and its device queue toward
// the client) with the fluid model of sim/fluid/fluid_model.h. Held to ns-3 by
// tests/sim/calibration_test.cc.

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include "core/rng.h"
#include "core/text.h"
#include "sim/backends.h"
#include "sim/fluid/fluid_model.h"
#include "sim/link_recorder.h"

namespace linklab::sim {

namespace {

using namespace fluid;  // NOLINT: the fluid model's pieces

// Bulk: an endless (or bulk_bytes) transfer from a start time.
class BulkApp : public FluidApp {
 public:
  BulkApp(size_t flow, double start_s, double bytes)
      : flow_(flow), start_s_(start_s), bytes_(bytes) {}
  void Tick(std::vector<Flow>& flows, double t, double) override {
    if (started_ || t < start_s_) return;
    started_ = true;
    flows[flow_].to_send = bytes_;
  }
  void Delivered(std::vector<Flow>& flows, size_t flow, double payload, double) override {
    if (flow == flow_) flows[flow].counters->rx_bytes += static_cast<uint64_t>(payload);
  }

 private:
  size_t flow_;
  double start_s_, bytes_;
  bool started_ = false;
};

// Video: segments over the ladder with the ns-3 player's rate-based ABR and playback buffer.
class VideoApp : public FluidApp {
 public:
  VideoApp(size_t flow, double start_s, const WorkloadOptions& o, double share)
      : flow_(flow), start_s_(start_s), o_(o), share_(share) {}
  void Tick(std::vector<Flow>& flows, double t, double dt) override {
    AppCounters* c = flows[flow_].counters;
    if (t < start_s_) return;
    if (playing_) {
      const double drained = std::min(buffer_s_, dt);
      buffer_s_ -= drained;
      c->video_buffer_s -= drained * share_;
      if (drained < dt) c->video_stall_s += dt - drained;
    }
    if (remaining_ > 0 || buffer_s_ + o_.video_segment_s > o_.video_max_buffer_s) return;
    // Next segment: the highest bitrate under 0.9 x the harmonic mean of the last 5
    // throughputs; the lowest at start and when the buffer is under one segment.
    bitrate_kbps_ = o_.video_ladder_kbps.front();
    if (!history_.empty() && buffer_s_ >= o_.video_segment_s) {
      double inv = 0;
      for (double x : history_) inv += 1.0 / x;
      const double estimate = 0.9 * history_.size() / inv;
      for (double b : o_.video_ladder_kbps) {
        if (b * 1e3 <= estimate) bitrate_kbps_ = b;
      }
    }
    remaining_ = bitrate_kbps_ * 1e3 / 8.0 * o_.video_segment_s;
    segment_bytes_ = remaining_;
    requested_s_ = t;
    flows[flow_].to_send += remaining_;
  }
  void Delivered(std::vector<Flow>& flows, size_t flow, double payload, double t) override {
    if (flow != flow_) return;
    AppCounters* c = flows[flow].counters;
    c->rx_bytes += static_cast<uint64_t>(payload);
    remaining_ -= payload;
    if (remaining_ > 1e-6) return;
    remaining_ = 0;
    history_.push_back(segment_bytes_ * 8.0 / std::max(t - requested_s_, 1e-3));
    if (history_.size() > 5) history_.erase(history_.begin());
    c->video_bitrate_kbps_sum += bitrate_kbps_;
    ++c->video_segments;
    buffer_s_ += o_.video_segment_s;
    c->video_buffer_s += o_.video_segment_s * share_;
    playing_ = true;
  }

 private:
  size_t flow_;
  double start_s_;
  WorkloadOptions o_;
  double share_;
  bool playing_ = false;
  double buffer_s_ = 0, remaining_ = 0, segment_bytes_ = 0, requested_s_ = 0, bitrate_kbps_ = 0;
  std::vector<double> history_;  // bit/s
};

// Web: pages of lognormal size over new connections (handshake and request: 1.5 base RTTs),
// exponential think times; completion from the connect to the last byte.
class WebApp : public FluidApp {
 public:
  WebApp(size_t flow, double start_s, const WorkloadOptions& o, double base_rtt_s, double one_way_s,
         uint64_t seed)
      : flow_(flow),
        next_s_(start_s),
        o_(o),
        base_rtt_s_(base_rtt_s),
        one_way_s_(one_way_s),
        rng_(seed) {}
  void Tick(std::vector<Flow>& flows, double t, double) override {
    if (in_page_ || t < next_s_) return;
    if (!connecting_) {
      connecting_ = true;
      page_start_s_ = t;
      // SYN, SYN-ACK, then the request: one and a half round trips at the path's current RTT
      // (the SYN-ACK waits in the same queues as data).
      data_at_s_ = t + 1.5 * std::max(base_rtt_s_, flows[flow_].rtt_s);
      return;
    }
    if (t < data_at_s_) return;
    connecting_ = false;
    in_page_ = true;
    remaining_ =
        std::max(1.0, std::round(o_.web_median_kb * 1e3 * std::exp(o_.web_sigma * rng_.Normal())));
    NewConnection(flows[flow_]);
    flows[flow_].to_send = remaining_;
  }
  void Delivered(std::vector<Flow>& flows, size_t flow, double payload, double t) override {
    if (flow != flow_ || !in_page_) return;
    AppCounters* c = flows[flow].counters;
    c->rx_bytes += static_cast<uint64_t>(payload);
    remaining_ -= payload;
    if (remaining_ > 1e-6) return;
    in_page_ = false;
    c->fct_ms_sum += (t + one_way_s_ - page_start_s_) * 1e3;
    ++c->flows_done;
    next_s_ = t + o_.web_think_s * rng_.Exponential();
  }

 private:
  size_t flow_;
  double next_s_;
  WorkloadOptions o_;
  double base_rtt_s_, one_way_s_;
  core::Rng rng_;
  bool connecting_ = false, in_page_ = false;
  double page_start_s_ = 0, data_at_s_ = 0, remaining_ = 0;
};

// Gaming: constant-rate UDP both ways; the counted direction's packets sent and received.
class GameApp : public FluidApp {
 public:
  GameApp(size_t counted, double start_s, std::vector<size_t> flows, double hz)
      : counted_(counted), start_s_(start_s), flows_(std::move(flows)), hz_(hz) {}
  void Tick(std::vector<Flow>& flows, double t, double dt) override {
    const bool on = t >= start_s_;
    for (size_t i : flows_) flows[i].active = on;
    if (!on) return;
    sent_ += hz_ * dt;
    flows[counted_].counters->game_sent = static_cast<uint64_t>(std::llround(sent_));
  }
  void Delivered(std::vector<Flow>& flows, size_t flow, double payload, double) override {
    if (flow != counted_) return;
    Flow& f = flows[flow];
    f.counters->rx_bytes += static_cast<uint64_t>(payload);
    received_ += payload / f.packet_bytes;
    f.counters->game_received = static_cast<uint64_t>(std::llround(received_));
  }

 private:
  size_t counted_;
  double start_s_;
  std::vector<size_t> flows_;
  double hz_;
  double sent_ = 0.0, received_ = 0.0;  // fluid packet counts
};

// Cross traffic: on/off UDP with Pareto periods.
class CrossApp : public FluidApp {
 public:
  CrossApp(size_t flow, const CrossTrafficOptions& o, double start_s, uint64_t seed)
      : flow_(flow), o_(o), switch_s_(start_s), rng_(seed) {}
  void Tick(std::vector<Flow>& flows, double t, double) override {
    while (t >= switch_s_) {
      on_ = !on_;
      const double mean = on_ ? o_.mean_on_s : o_.mean_off_s;
      const double shape = o_.pareto_shape;
      switch_s_ += mean * (shape - 1) / shape / std::pow(1.0 - rng_.Uniform(), 1.0 / shape);
    }
    flows[flow_].active = on_;
  }
  void Delivered(std::vector<Flow>&, size_t, double, double) override {}

 private:
  size_t flow_;
  CrossTrafficOptions o_;
  double switch_s_;
  core::Rng rng_;
  bool on_ = false;
};

class FluidAccessScenario : public Scenario {
 public:
  FluidAccessScenario(const core::Params& p, AccessScenarioSpec spec)
      : spec_(std::move(spec)),
        scale_(p.Double("scale")),
        start_hour_(p.Double("start_hour")),
        start_day_(static_cast<int>(p.Int("start_day"))),
        dt_(p.Double("fluid_dt_ms") / 1e3) {
    info_.links = {"down", "up"};
    info_.shaping_points = {"down", "up"};
    info_.classes = AccessClasses(spec_.workload, spec_.path.cross);
    info_.qdisc = spec_.path.shaping_qdisc;
    shaping_kind_ = ParseQdisc("qdisc", spec_.path.shaping_qdisc);
    bottleneck_kind_ = ParseQdisc("bottleneck_qdisc", spec_.path.bottleneck_qdisc);
    if (bottleneck_kind_ == QdiscKind::kHtb) {
      throw std::invalid_argument("bottleneck_qdisc = 'htb': not a bottleneck queue disc");
    }
  }

  void Start(uint64_t seed) override {
    seed_ = seed;
    rng_.Seed(core::Rng::Derive(seed, 9));
    down_cap_ = ScaledCapacity(spec_.capacity(core::Rng::Derive(seed, 1), true), scale_);
    up_cap_ = ScaledCapacity(spec_.capacity(core::Rng::Derive(seed, 2), false), scale_);
    down_rec_ = std::make_unique<LinkRecorder>("down", down_cap_.get(), start_hour_, start_day_,
                                               core::Rng::Derive(seed, 3));
    up_rec_ = std::make_unique<LinkRecorder>("up", up_cap_.get(), start_hour_, start_day_,
                                             core::Rng::Derive(seed, 4));
    const AccessPathOptions& o = spec_.path;
    base_down_s_ = o.access_delay_s + o.down.delay_s + o.server_delay_s;
    base_up_s_ = o.access_delay_s + o.up.delay_s + o.server_delay_s;
    // A step of at most a quarter of the path's RTT: TCP's window moves once per RTT, and a
    // coarser step overshoots it on short paths (6 ms at 200 Mbit/s loses 5 % at 20 ms steps).
    dt_ = std::min(dt_, (base_down_s_ + base_up_s_) / 4.0);
    access_bps_ = o.access_rate_bps * scale_;
    flows_.clear();
    apps_.clear();
    BuildWorkload();
    const size_t n = flows_.size();
    edge_.Init(1, std::vector<int>(n, 0), o.down.buffer_packets * kPacket);
    gateway_.Init(1, std::vector<int>(n, 0), o.up.buffer_packets * kPacket);
    access_dev_.Init(1, std::vector<int>(n, 0), kAccessDevicePackets * kPacket);
    std::vector<AppClass> classes(n);
    std::vector<double> packets(n);
    for (size_t i = 0; i < n; ++i) {
      classes[i] = flows_[i].app_class;
      packets[i] = flows_[i].packet_bytes;
    }
    const bool codel = o.htb_leaf == "codel";
    shaper_down_.Init(shaping_kind_, classes, packets,
                      ScaledHtb(TransparentHtb(o.access_rate_bps), scale_), codel);
    shaper_up_.Init(shaping_kind_, classes, packets, ScaledHtb(TransparentHtb(1e9), scale_), codel);
    bottleneck_.Init(bottleneck_kind_, classes, packets, TransparentHtb(1e9));
    for (auto* v :
         {&a_, &b_, &c_, &drop_, &in_down_, &in_up_, &shaped_, &served_up_, &aqm_out_, &dev_in_}) {
      v->assign(n, 0.0);
    }
    t_ = 0.0;
    cached_t_ = -1.0;
    started_ = true;
  }

  std::vector<LinkSample> Advance(double dt_s) override {
    if (!started_) throw std::logic_error("scenario Advance() before Start()");
    if (!(dt_s > 0)) throw std::invalid_argument("scenario step must be > 0 s");
    const double end = t_ + dt_s;
    while (t_ < end - 1e-12) {
      const double dt = std::min(dt_, end - t_);
      Step(dt);
      t_ += dt;
    }
    // Backlogs at the end of the interval, per class.
    for (auto* rec : {down_rec_.get(), up_rec_.get()}) {
      for (int c = 0; c < kNumAppClasses; ++c) rec->SetBacklog(static_cast<AppClass>(c), 0, 0);
    }
    for (size_t i = 0; i < flows_.size(); ++i) {
      const Flow& f = flows_[i];
      double b = f.down ? bottleneck_.Backlog(i) + edge_.backlog[i] + shaper_down_.Backlog(i) +
                              access_dev_.backlog[i]
                        : gateway_.backlog[i] + shaper_up_.Backlog(i);
      (f.down ? down_rec_ : up_rec_)->AddBacklog(f.app_class, b, b / kPacket);
    }
    std::vector<LinkSample> out = down_rec_->Collect(t_, dt_s, info_.classes);
    std::vector<LinkSample> up = up_rec_->Collect(t_, dt_s, info_.classes);
    out.insert(out.end(), up.begin(), up.end());
    return out;
  }

  void ApplyShaping(const std::string& point, const HtbConfig& config) override {
    if (!started_) throw std::logic_error("scenario ApplyShaping() before Start()");
    if (point != "down" && point != "up") {
      throw std::invalid_argument("unknown shaping point '" + point + "'; points: down, up");
    }
    if (info_.qdisc != "htb") {
      throw std::invalid_argument("shaping needs qdisc = htb; this scenario runs qdisc = " +
                                  info_.qdisc);
    }
    (point == "down" ? shaper_down_ : shaper_up_).htb.Configure(ScaledHtb(config, scale_));
  }

  // What a shaping point may send in a step of `dt` s with room `room` (bytes) below it, under
  // a token-bucket shaper at `shaper_bps` (unscaled; 0: none).
  double Shaped(double room, double shaper_bps, double dt) const {
    return shaper_bps > 0 ? std::min(room, shaper_bps * scale_ / 8.0 * dt) : room;
  }

  double now_s() const override { return t_; }
  CapacityProcess* Capacity(const std::string& link) override {
    return link == "down" ? down_cap_.get() : link == "up" ? up_cap_.get() : nullptr;
  }
  const ScenarioInfo& info() const override { return info_; }
  SimCounters counters() const override {
    SimCounters c;
    c.events = steps_;
    if (down_rec_) {
      c.packets_delivered =
          static_cast<uint64_t>(down_rec_->delivered_packets() + up_rec_->delivered_packets());
      c.bytes_delivered =
          static_cast<uint64_t>(down_rec_->delivered_bytes() + up_rec_->delivered_bytes());
    }
    return c;
  }

 private:
  size_t AddFlow(Flow f) {
    f.recorder = f.down ? down_rec_.get() : up_rec_.get();
    f.rng = core::Rng::Derive(seed_, 7000 + flows_.size());
    flows_.push_back(f);
    return flows_.size() - 1;
  }

  void BuildWorkload() {
    WorkloadOptions wo;
    for (double& b : wo.video_ladder_kbps) b *= scale_;
    const double base_rtt = base_down_s_ + base_up_s_;
    for (size_t k = 0; k < spec_.workload.size(); ++k) {
      const WorkloadItem& w = spec_.workload[k];
      const bool down = w.direction == "down";
      LinkRecorder* rec = down ? down_rec_.get() : up_rec_.get();
      AppCounters* counters = rec->counters(w.app_class);
      // The draws of ns-3's InstallWorkload, in its order: the same start times and the same
      // web pages and think times on both backends.
      const uint64_t item_seed = core::Rng::Derive(seed_, 100 + k);
      core::Rng rng(item_seed);
      for (int i = 0; i < w.count; ++i) {
        const double start = rng.Uniform();
        rng.NextU64();  // ns-3: the socket's initial sequence number
        Flow f;
        f.app_class = w.app_class;
        f.down = down;
        f.counters = counters;
        f.cc = ParseCc(w.tcp);
        f.to_send = 0.0;
        switch (w.app) {
          case AppClass::kBulk:
            apps_.push_back(std::make_unique<BulkApp>(
                AddFlow(f), start, wo.bulk_bytes > 0 ? double(wo.bulk_bytes) : kInf));
            break;
          case AppClass::kVideo:
            apps_.push_back(std::make_unique<VideoApp>(AddFlow(f), start, wo, 1.0 / w.count));
            break;
          case AppClass::kWeb:
            apps_.push_back(std::make_unique<WebApp>(AddFlow(f), start, wo, base_rtt,
                                                     down ? base_down_s_ : base_up_s_,
                                                     core::Rng::Derive(item_seed, i)));
            break;
          case AppClass::kGaming: {
            // Server state down, client updates up; the item's direction is counted.
            Flow d = f, u = f;
            d.cc = u.cc = Cc::kUdp;
            d.down = true;
            u.down = false;
            d.packet_bytes = wo.game_down_bytes + 28;
            u.packet_bytes = wo.game_up_bytes + 28;
            d.udp_rate_bps = d.packet_bytes * 8 * wo.game_hz * scale_;
            u.udp_rate_bps = u.packet_bytes * 8 * wo.game_hz * scale_;
            d.rtt_samples = down;
            u.rtt_samples = !down;
            d.counters = down_rec_->counters(w.app_class);
            u.counters = up_rec_->counters(w.app_class);
            d.active = u.active = false;
            const size_t di = AddFlow(d), ui = AddFlow(u);
            apps_.push_back(std::make_unique<GameApp>(down ? di : ui, start,
                                                      std::vector<size_t>{di, ui}, wo.game_hz));
            break;
          }
          default:
            break;
        }
      }
    }
    const CrossTrafficOptions& cross = spec_.path.cross;
    for (int i = 0; i < cross.flows; ++i) {
      Flow f;
      f.app_class = AppClass::kCross;
      f.down = true;
      f.cc = Cc::kUdp;
      f.packet_bytes = 1228;
      f.udp_rate_bps = cross.rate_mbps * 1e6 * scale_;
      f.rtt_samples = false;
      f.counters = down_rec_->counters(AppClass::kCross);
      f.active = false;
      apps_.push_back(std::make_unique<CrossApp>(AddFlow(f), cross, 0.1 * i,
                                                 core::Rng::Derive(seed_, 2000 + i)));
    }
  }

  // One time step of every flow and queue.
  void Step(double dt) {
    ++steps_;
    const double t = t_;
    // B(t) of each direction is the previous step's B(t + dt).
    if (cached_t_ != t) {
      cached_down_ = down_cap_->Cumulative(t);
      cached_up_ = up_cap_->Cumulative(t);
    }
    const double b_down = cached_down_, b_up = cached_up_;
    cached_down_ = down_cap_->Cumulative(t + dt);
    cached_up_ = up_cap_->Cumulative(t + dt);
    cached_t_ = t + dt;
    const double cap_down = cached_down_ - b_down;
    const double cap_up = cached_up_ - b_up;
    for (auto& app : apps_) app->Tick(flows_, t, dt);
    const size_t n = flows_.size();
    // Delays seen now: down data crosses the edge buffer and the down shaper; up data the up
    // shaper and the gateway buffer.
    // A byte joining a bottleneck buffer now leaves when the capacity process has served the
    // backlog ahead of it.
    const double q_edge = edge_.total[0] > 0 ? down_cap_->TimeOf(b_down + edge_.total[0]) - t : 0.0;
    const double q_gw = gateway_.total[0] > 0 ? up_cap_->TimeOf(b_up + gateway_.total[0]) - t : 0.0;
    const double q_dev = access_dev_.Delay(0, access_bps_ / 8.0);
    std::fill(a_.begin(), a_.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      Flow& f = flows_[i];
      const double fwd = OneWay(f, i, q_edge, q_gw, q_dev);
      const double back = f.down ? base_up_s_ + q_gw : base_down_s_ + q_edge;
      f.rtt_s = fwd + back;
      a_[i] = Send(f, dt);
      f.sent_step = a_[i];
      f.delivered_step = f.dropped_step = 0.0;
      if (a_[i] > 0) f.recorder->Offered(f.app_class, a_[i], a_[i] / PacketSize(f));
    }
    for (auto* v : {&drop_, &b_, &c_, &shaped_, &served_up_, &aqm_out_, &dev_in_}) {
      std::fill(v->begin(), v->end(), 0.0);
    }
    for (size_t i = 0; i < n; ++i) {
      in_down_[i] = flows_[i].down ? a_[i] : 0.0;
      in_up_[i] = flows_[i].down ? 0.0 : a_[i];
    }
    // down: bottleneck queue disc (held back while the edge buffer is full) -> edge buffer ->
    // (random loss) -> down shaper (held back while the access device queue is full) -> the
    // access device queue -> client
    const std::vector<double>* to_edge = &in_down_;
    if (bottleneck_kind_ != QdiscKind::kNone) {
      const double edge_room = std::max(0.0, edge_.limit[0] - edge_.total[0] + cap_down);
      bottleneck_.Step(in_down_, edge_room, dt, t, aqm_out_, drop_);
      to_edge = &aqm_out_;
    }
    edge_.Arrivals(*to_edge);
    edge_.Step(*to_edge, &cap_down, dt, b_, drop_);
    Lose(b_, spec_.path.down.loss_rate);
    const double access_cap = access_bps_ / 8.0 * dt;
    const double dev_room = std::max(0.0, access_dev_.limit[0] - access_dev_.total[0] + access_cap);
    shaper_down_.Step(b_, Shaped(dev_room, spec_.path.shaper_down_bps, dt), dt, t, dev_in_, drop_);
    access_dev_.Arrivals(dev_in_);
    access_dev_.Step(dev_in_, &access_cap, dt, c_, drop_);
    // up: up shaper (held back while the gateway buffer is full) -> gateway buffer -> edge
    const double room = std::max(0.0, gateway_.limit[0] - gateway_.total[0] + cap_up);
    shaper_up_.Step(in_up_, Shaped(room, spec_.path.shaper_up_bps, dt), dt, t, shaped_, drop_);
    gateway_.Arrivals(shaped_);
    gateway_.Step(shaped_, &cap_up, dt, served_up_, drop_);
    Lose(served_up_, spec_.path.up.loss_rate);
    for (size_t i = 0; i < n; ++i) {
      Flow& f = flows_[i];
      const double delivered = f.down ? c_[i] : served_up_[i];
      f.delivered_step = delivered;
      f.dropped_step = drop_[i];
      if (drop_[i] > 0 && f.loss_seen_s < 0) f.loss_seen_s = t;
      if (delivered > 0) {
        const double one_way = OneWay(f, i, q_edge, q_gw, q_dev);
        const double packets = delivered / PacketSize(f);
        f.recorder->Delivered(f.app_class, delivered, packets);
        f.recorder->OnDelay(f.app_class, one_way, packets);
        // One RTT sample per step: TCP's stands for the step's ACKs (ns-3 samples per ACK, one
        // per two segments); a game flow's for the step (its echoes come at a steady rate, and
        // weighing by the packets a step delivers would underweigh the ones an outage holds).
        if (f.rtt_samples) {
          f.counters->AddRtt(f.rtt_s * 1e3, f.cc == Cc::kUdp ? 1.0 : packets / 2.0);
        }
        if (f.cc != Cc::kUdp) {
          // The ACKs (one per two segments, 52 bytes) cross the other direction; too small
          // to queue, they are counted there.
          LinkRecorder* back = f.down ? up_rec_.get() : down_rec_.get();
          const double acks = delivered / kPacket / 2.0;
          back->Offered(f.app_class, acks * kAckBytes, acks);
          back->Delivered(f.app_class, acks * kAckBytes, acks);
        }
      }
      if (drop_[i] > 0) f.recorder->Dropped(f.app_class, drop_[i] / PacketSize(f));
      React(f, t + dt);
      if (delivered > 0) {
        for (auto& app : apps_) app->Delivered(flows_, i, delivered / Overhead(f), t + dt);
      }
    }
  }

  // The one-way delay of flow i's data now: base, bottleneck buffer, queue discs, device queue.
  double OneWay(const Flow& f, size_t i, double q_edge, double q_gw, double q_dev) const {
    if (!f.down) return base_up_s_ + q_gw + shaper_up_.Delay(i, f.app_class);
    return base_down_s_ + bottleneck_.Delay(i, f.app_class) + q_edge +
           shaper_down_.Delay(i, f.app_class) + q_dev;
  }

  static double Overhead(const Flow& f) { return f.cc == Cc::kUdp ? 1.0 : kWire; }
  static double PacketSize(const Flow& f) { return f.packet_bytes; }

  // Random loss on the wire: whole packets, as many as a Bernoulli trial per packet would
  // lose on average (the integer part, plus one more with the remaining probability).
  void Lose(std::vector<double>& bytes, double loss_rate) {
    if (loss_rate <= 0) return;
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (bytes[i] <= 0) continue;
      const double size = flows_[i].packet_bytes;
      const double expected = bytes[i] / size * loss_rate;
      double packets = std::floor(expected);
      if (rng_.Uniform() < expected - packets) packets += 1;
      const double lost = std::min(bytes[i], packets * size);
      bytes[i] -= lost;
      drop_[i] += lost;
    }
  }

  AccessScenarioSpec spec_;
  double scale_, start_hour_;
  int start_day_;
  double dt_;
  ScenarioInfo info_;
  uint64_t seed_ = 0;
  core::Rng rng_;
  std::unique_ptr<CapacityProcess> down_cap_, up_cap_;
  std::unique_ptr<LinkRecorder> down_rec_, up_rec_;
  double base_down_s_ = 0, base_up_s_ = 0, access_bps_ = 0;
  std::vector<Flow> flows_;
  std::vector<std::unique_ptr<FluidApp>> apps_;
  // The gateway's access device queue toward the client (ns-3's 100-packet drop-tail queue
  // below the down shaping queue disc).
  static constexpr double kAccessDevicePackets = 100;
  QdiscKind shaping_kind_ = QdiscKind::kHtb, bottleneck_kind_ = QdiscKind::kNone;
  FluidQueue edge_, gateway_, access_dev_;
  FluidQdisc shaper_down_, shaper_up_, bottleneck_;
  // Per-flow scratch: offered, after the edge, after the down shaper, drops, the two
  // directions' offers, after the up shaper, after the gateway.
  // after the bottleneck queue disc, into the access device queue.
  std::vector<double> a_, b_, c_, drop_, in_down_, in_up_, shaped_, served_up_, aqm_out_, dev_in_;
  double t_ = 0.0;
  double cached_t_ = -1.0, cached_down_ = 0.0, cached_up_ = 0.0;  // B at cached_t_
  uint64_t steps_ = 0;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<Scenario> MakeFluidAccessScenario(const core::Params& params,
                                                  AccessScenarioSpec spec) {
  return std::make_unique<FluidAccessScenario>(params, std::move(spec));
}

}  // namespace linklab::sim
