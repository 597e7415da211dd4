// The fluid backend of the datacenter family: the leaf-spine fabric of sim/ns3/datacenter.cc
// as four stages of fluid queues, with the same incast and shuffle rounds and probes.
//
//   host NIC (the "hosts" shaping point) -> leaf uplinks to the spines (per leaf, the spines'
//   links together: per-packet ECMP spreads evenly) -> spine downlinks to the destination leaf
//   -> the destination host's port
//
// Same-rack traffic skips the two fabric stages. The step is `fluid_dt_ms` or an eighth of the
// RTT, whichever is shorter. TCP flows time out as on ns-3 (1 s minimum RTO) when a small
// buffer drops a whole window (incast collapse).

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "core/rng.h"
#include "sim/backends.h"
#include "sim/fluid/fluid_model.h"

namespace linklab::sim {

namespace {

using namespace fluid;  // NOLINT: the fluid model's pieces

constexpr AppClass kIncastClass = AppClass::kWeb;  // as on ns-3
constexpr AppClass kShuffleClass = AppClass::kBulk;

// One host's fan-in rounds: every period, a new connection to each server for `bytes`.
class FanInApp {
 public:
  FanInApp(std::vector<size_t> flows, double bytes, double period_s, double start_s, double setup_s,
           AppCounters* counters)
      : flows_(std::move(flows)),
        bytes_(bytes),
        period_s_(period_s),
        next_round_s_(start_s),
        setup_s_(setup_s),
        counters_(counters),
        remaining_(flows_.size(), 0.0) {}

  void Tick(std::vector<Flow>& flows, double t) {
    if (t >= next_round_s_) {
      round_start_s_ = t;
      next_round_s_ += period_s_;
      data_at_s_ = t + setup_s_;  // handshake and request
      for (size_t k = 0; k < flows_.size(); ++k) {
        Flow& f = flows[flows_[k]];
        f.to_send = 0.0;  // an unfinished transfer is abandoned
        NewConnection(f);
        remaining_[k] = bytes_;
      }
      waiting_ = true;
    }
    if (waiting_ && t >= data_at_s_) {
      waiting_ = false;
      for (size_t k = 0; k < flows_.size(); ++k) flows[flows_[k]].to_send = bytes_;
    }
  }
  // `k` is the flow's position in this app.
  void Delivered(size_t k, double payload, double t, double one_way_s) {
    if (remaining_[k] <= 0) return;
    counters_->rx_bytes += static_cast<uint64_t>(payload);
    remaining_[k] -= payload;
    if (remaining_[k] > 1e-6) return;
    remaining_[k] = 0.0;
    counters_->fct_ms_sum += (t + one_way_s - round_start_s_) * 1e3;
    ++counters_->flows_done;
  }

 private:
  std::vector<size_t> flows_;
  double bytes_, period_s_, next_round_s_, setup_s_;
  AppCounters* counters_;
  std::vector<double> remaining_;
  double round_start_s_ = 0.0, data_at_s_ = 0.0;
  bool waiting_ = false;
};

class FluidDatacenter : public Scenario {
 public:
  explicit FluidDatacenter(const core::Params& p) : p_(p) {
    racks_ = static_cast<int>(p.Int("racks"));
    per_rack_ = static_cast<int>(p.Int("hosts_per_rack"));
    spines_ = static_cast<int>(p.Int("spines"));
    hosts_ = racks_ * per_rack_;
    incast_senders_ = static_cast<int>(p.Int("incast_senders"));
    if (incast_senders_ > hosts_ - 1) {
      throw std::invalid_argument("incast_senders = " + std::to_string(incast_senders_) +
                                  ": only " + std::to_string(hosts_ - 1) +
                                  " hosts besides the receiver");
    }
    rtt_s_ = p.Double("rtt_ms") / 1e3;
    dt_ = std::min(p.Double("fluid_dt_ms") / 1e3, rtt_s_ / 8.0);
    info_.links = {"rx", "fabric"};
    info_.shaping_points = {"hosts"};
    info_.qdisc = p.String("qdisc");
    // No queue disc on a host NIC is its 1000-packet FIFO.
    nic_kind_ = ParseQdisc("qdisc", info_.qdisc);
    if (nic_kind_ == QdiscKind::kNone) nic_kind_ = QdiscKind::kFifo;
    if (incast_senders_ > 0) info_.classes.push_back(kIncastClass);
    if (p.Int("shuffle_kb") > 0) info_.classes.push_back(kShuffleClass);
  }

  void Start(uint64_t seed) override {
    const double scale = p_.Double("scale");
    rate_ = p_.Double("link_gbps") * 1e9 * scale / 8.0;  // bytes/s
    const double mtu = static_cast<double>(p_.Int("mtu"));
    const double buffer = static_cast<double>(p_.Int("buffer_packets")) * mtu;
    const std::string tcp = p_.String("tcp");
    capacity_ = ConstantCapacity(rate_ * 8.0);
    const double start_hour = p_.Double("start_hour");
    const int start_day = static_cast<int>(p_.Int("start_day"));
    rx_ = std::make_unique<LinkRecorder>("rx", capacity_.get(), start_hour, start_day,
                                         core::Rng::Derive(seed, 3));
    fabric_ = std::make_unique<LinkRecorder>("fabric", capacity_.get(), start_hour, start_day,
                                             core::Rng::Derive(seed, 4));
    flows_.clear();
    src_.clear();
    dst_.clear();
    apps_.clear();
    owner_.clear();
    auto add_flow = [&](int from, int to, AppClass c, AppCounters* counters) {
      Flow f;
      f.app_class = c;
      f.cc = ParseCc(tcp);
      f.to_send = 0.0;
      f.mss = mtu - 52;
      f.packet_bytes = mtu;
      f.wire = mtu / f.mss;
      f.cwnd = 10 * f.mss;
      f.counters = counters;
      f.recorder = to == 0 ? rx_.get() : fabric_.get();
      f.rtt_samples = true;
      f.rng = core::Rng::Derive(seed, 7000 + flows_.size());
      flows_.push_back(f);
      src_.push_back(from);
      dst_.push_back(to);
      return flows_.size() - 1;
    };
    const double setup = 1.5 * rtt_s_;
    if (incast_senders_ > 0) {
      std::vector<int> order;
      for (int h = per_rack_; h < hosts_; ++h) order.push_back(h);
      for (int h = 1; h < per_rack_; ++h) order.push_back(h);
      std::vector<size_t> flows;
      for (int i = 0; i < incast_senders_; ++i) {
        flows.push_back(add_flow(order[i], 0, kIncastClass, rx_->counters(kIncastClass)));
      }
      AddApp(flows, std::max(1.0, p_.Int("incast_kb") * 1000.0 * scale),
             p_.Double("incast_period_s"), 0.01, setup, rx_->counters(kIncastClass));
    }
    if (p_.Int("shuffle_kb") > 0) {
      core::Rng rng(core::Rng::Derive(seed, 5));
      for (int h = 0; h < hosts_; ++h) {
        AppCounters* counters = (h == 0 ? rx_ : fabric_)->counters(kShuffleClass);
        std::vector<size_t> flows;
        for (int o = 0; o < hosts_; ++o) {
          if (o != h) flows.push_back(add_flow(o, h, kShuffleClass, counters));
        }
        AddApp(flows, std::max(1.0, p_.Int("shuffle_kb") * 1000.0 * scale),
               p_.Double("shuffle_period_s"), 0.01 + rng.Uniform(0, 0.001), setup, counters);
      }
    }
    const size_t n = flows_.size();
    std::vector<AppClass> classes(n);
    std::vector<double> packets(n, mtu);
    std::vector<int> up_group(n), down_group(n), port_group(n);
    for (size_t i = 0; i < n; ++i) {
      classes[i] = flows_[i].app_class;
      const bool same_rack = Rack(src_[i]) == Rack(dst_[i]);
      up_group[i] = same_rack ? racks_ : Rack(src_[i]);  // group `racks_`: skips the stage
      down_group[i] = same_rack ? racks_ : Rack(dst_[i]);
      port_group[i] = dst_[i];
    }
    nic_.assign(hosts_, FluidQdisc());
    for (auto& q : nic_) q.Init(nic_kind_, classes, packets, TransparentHtb(rate_ * 8.0));
    leaf_up_.Init(racks_ + 1, up_group, spines_ * buffer);
    spine_down_.Init(racks_ + 1, down_group, spines_ * buffer);
    leaf_up_.limit[racks_] = spine_down_.limit[racks_] = kInf;
    port_.Init(hosts_, port_group, buffer);
    for (auto* v : {&a_, &b_, &c_, &d_, &e_, &drop_, &in_}) v->assign(n, 0.0);
    up_cap_.assign(racks_ + 1, 0.0);
    port_cap_.assign(hosts_, 0.0);
    t_ = 0.0;
    steps_ = 0;
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
    for (int c = 0; c < kNumAppClasses; ++c) {
      rx_->SetBacklog(static_cast<AppClass>(c), 0, 0);
      fabric_->SetBacklog(static_cast<AppClass>(c), 0, 0);
    }
    for (size_t i = 0; i < flows_.size(); ++i) {
      const Flow& f = flows_[i];
      if (dst_[i] == 0)
        rx_->AddBacklog(f.app_class, port_.backlog[i], port_.backlog[i] / f.packet_bytes);
      if (leaf_up_.group_of[i] < racks_) {
        fabric_->AddBacklog(f.app_class, leaf_up_.backlog[i], leaf_up_.backlog[i] / f.packet_bytes);
      }
    }
    std::vector<LinkSample> out = rx_->Collect(t_, dt_s, info_.classes);
    std::vector<LinkSample> fabric = fabric_->Collect(t_, dt_s, info_.classes);
    out.insert(out.end(), fabric.begin(), fabric.end());
    return out;
  }

  void ApplyShaping(const std::string& point, const HtbConfig& config) override {
    if (!started_) throw std::logic_error("scenario ApplyShaping() before Start()");
    if (point != "hosts") {
      throw std::invalid_argument("unknown shaping point '" + point + "'; points: hosts");
    }
    if (info_.qdisc != "htb") {
      throw std::invalid_argument("shaping needs qdisc = htb; this scenario runs qdisc = " +
                                  info_.qdisc);
    }
    const HtbConfig scaled = ScaledHtb(config, p_.Double("scale"));
    for (auto& q : nic_) q.htb.Configure(scaled);
  }

  double now_s() const override { return t_; }
  const ScenarioInfo& info() const override { return info_; }
  SimCounters counters() const override {
    SimCounters c;
    c.events = steps_;
    if (rx_) {
      c.packets_delivered =
          static_cast<uint64_t>(rx_->delivered_packets() + fabric_->delivered_packets());
      c.bytes_delivered =
          static_cast<uint64_t>(rx_->delivered_bytes() + fabric_->delivered_bytes());
    }
    return c;
  }

 private:
  int Rack(int host) const { return host / per_rack_; }

  void AddApp(const std::vector<size_t>& flows, double bytes, double period, double start,
              double setup, AppCounters* counters) {
    apps_.push_back(std::make_unique<FanInApp>(flows, bytes, period, start, setup, counters));
    for (size_t k = 0; k < flows.size(); ++k) {
      if (owner_.size() <= flows[k]) owner_.resize(flows[k] + 1);
      owner_[flows[k]] = {apps_.back().get(), k};
    }
  }

  // The one-way delay base of a flow: 4 links within a rack, 8 across.
  double BaseOneWay(size_t i) const {
    return Rack(src_[i]) == Rack(dst_[i]) ? rtt_s_ / 4 : rtt_s_ / 2;
  }

  void Step(double dt) {
    ++steps_;
    const double t = t_;
    for (auto& app : apps_) app->Tick(flows_, t);
    const size_t n = flows_.size();
    for (size_t i = 0; i < n; ++i) {
      Flow& f = flows_[i];
      const double q = nic_[src_[i]].Delay(i, f.app_class) + leaf_up_.Delay(leaf_up_.group_of[i]) +
                       spine_down_.Delay(spine_down_.group_of[i]) + port_.Delay(dst_[i]);
      f.rtt_s = 2 * BaseOneWay(i) + q;
      a_[i] = Send(f, dt);
      f.delivered_step = 0.0;
    }
    for (auto* v : {&b_, &c_, &d_, &e_, &drop_}) std::fill(v->begin(), v->end(), 0.0);
    // Each host's NIC.
    const double link = rate_ * dt;
    for (int h = 0; h < hosts_; ++h) {
      for (size_t i = 0; i < n; ++i) in_[i] = src_[i] == h ? a_[i] : 0.0;
      nic_[h].Step(in_, link, dt, t, b_, drop_);
    }
    // Leaf uplinks (the spines' links together), then spine downlinks, then host ports.
    std::fill(up_cap_.begin(), up_cap_.end(), spines_ * link);
    up_cap_[racks_] = kInf;
    for (size_t i = 0; i < n; ++i) {
      if (leaf_up_.group_of[i] < racks_ && b_[i] > 0) {
        fabric_->Offered(flows_[i].app_class, b_[i], b_[i] / flows_[i].packet_bytes);
      }
    }
    std::vector<double> fabric_drops(n, 0.0);
    leaf_up_.Arrivals(b_);
    leaf_up_.Step(b_, up_cap_.data(), dt, c_, fabric_drops);
    for (size_t i = 0; i < n; ++i) {
      const Flow& f = flows_[i];
      if (leaf_up_.group_of[i] < racks_ && c_[i] > 0) {
        fabric_->Delivered(f.app_class, c_[i], c_[i] / f.packet_bytes);
      }
      if (fabric_drops[i] > 0) fabric_->Dropped(f.app_class, fabric_drops[i] / f.packet_bytes);
      drop_[i] += fabric_drops[i];
    }
    spine_down_.Arrivals(c_);
    spine_down_.Step(c_, up_cap_.data(), dt, d_, drop_);
    std::fill(port_cap_.begin(), port_cap_.end(), link);
    for (size_t i = 0; i < n; ++i) {
      if (dst_[i] == 0 && d_[i] > 0) {
        rx_->Offered(flows_[i].app_class, d_[i], d_[i] / flows_[i].packet_bytes);
      }
    }
    std::vector<double> port_drops(n, 0.0);
    port_.Arrivals(d_);
    port_.Step(d_, port_cap_.data(), dt, e_, port_drops);
    for (size_t i = 0; i < n; ++i) {
      Flow& f = flows_[i];
      drop_[i] += port_drops[i];
      if (dst_[i] == 0 && port_drops[i] > 0)
        rx_->Dropped(f.app_class, port_drops[i] / f.packet_bytes);
      const double delivered = e_[i];
      f.delivered_step = delivered;
      f.dropped_step = drop_[i];  // sent again by React (fast retransmit or timeout)
      // Incast drops at the port: what stays of the port's older backlog is ahead of them.
      f.queued_ahead = std::max(0.0, port_.backlog[i] - (d_[i] - port_drops[i]));
      if (drop_[i] > 0 && f.loss_seen_s < 0) f.loss_seen_s = t;
      if (delivered > 0) {
        const double packets = delivered / f.packet_bytes;
        // The forward queues' delay is all of the RTT above the base (ACKs do not queue).
        const double one_way = f.rtt_s - BaseOneWay(i);
        if (dst_[i] == 0) rx_->Delivered(f.app_class, delivered, packets);
        f.recorder->OnDelay(f.app_class, one_way, packets);
        f.counters->AddRtt(f.rtt_s * 1e3, packets / 2.0);  // an ACK per two segments
      }
      React(f, t + dt);
      if (delivered > 0 && i < owner_.size() && owner_[i].app) {
        owner_[i].app->Delivered(owner_[i].index, delivered / f.wire, t + dt, BaseOneWay(i));
      }
    }
  }

  struct Owner {
    FanInApp* app = nullptr;
    size_t index = 0;
  };

  core::Params p_;
  int racks_, per_rack_, spines_, hosts_, incast_senders_;
  double rtt_s_, dt_, rate_ = 0.0;
  ScenarioInfo info_;
  std::unique_ptr<CapacityProcess> capacity_;
  std::unique_ptr<LinkRecorder> rx_, fabric_;
  std::vector<Flow> flows_;
  std::vector<int> src_, dst_;
  std::vector<std::unique_ptr<FanInApp>> apps_;
  std::vector<Owner> owner_;
  QdiscKind nic_kind_ = QdiscKind::kHtb;
  std::vector<FluidQdisc> nic_;
  FluidQueue leaf_up_, spine_down_, port_;
  std::vector<double> a_, b_, c_, d_, e_, drop_, in_, up_cap_, port_cap_;
  double t_ = 0.0;
  uint64_t steps_ = 0;
  bool started_ = false;
};

}  // namespace

std::unique_ptr<Scenario> MakeFluidDatacenter(const core::Params& params) {
  return std::make_unique<FluidDatacenter>(params);
}

}  // namespace linklab::sim
