#include "sim/fluid/fluid_model.h"

#include <stdexcept>

namespace linklab::sim::fluid {

void RequireFluidQdiscs(const std::string& qdisc, const std::string& bottleneck_qdisc) {
  if (qdisc != "htb" && qdisc != "none") {
    throw std::invalid_argument("qdisc = '" + qdisc +
                                "': the fluid backend models qdisc = htb or none; run "
                                "fifo, codel, fq_codel, pie and red with backend = ns3");
  }
  if (bottleneck_qdisc != "none") {
    throw std::invalid_argument("bottleneck_qdisc = '" + bottleneck_qdisc +
                                "': the fluid backend models a drop-tail bottleneck buffer "
                                "only (bottleneck_qdisc = none); run it with backend = ns3");
  }
}

namespace {
void Bbr(Flow& f, double acked, double now);
}  // namespace

// Bytes (IP) the flow offers this step.
double Send(Flow& f, double dt) {
  if (f.cc == Cc::kUdp) return f.active ? f.udp_rate_bps / 8.0 * dt : 0.0;
  if (f.to_send <= 0) return 0.0;
  double rate = f.cwnd / f.rtt_s;
  if (f.cc == Cc::kBbr && !f.bbr_startup && f.btlbw > 0) {
    static const double kGains[8] = {1.25, 0.75, 1, 1, 1, 1, 1, 1};
    rate = std::min(rate, kGains[f.bbr_cycle] * f.btlbw);
  }
  const double payload = std::min(rate * dt, f.to_send);
  f.to_send -= payload;
  return payload * f.wire;
}

// Congestion control after a step's deliveries and losses.
void React(Flow& f, double now) {
  if (f.cc == Cc::kUdp) return;
  const double acked = f.delivered_step / f.wire;
  f.min_rtt = std::min(f.min_rtt, f.rtt_s);
  if (f.cc == Cc::kBbr) {
    Bbr(f, acked, now);
    return;
  }
  // A loss is noticed one RTT after it happened; one reaction per RTT.
  if (f.loss_seen_s >= 0 && now >= f.loss_seen_s + f.rtt_s) {
    if (now >= f.last_reaction_s + f.rtt_s) {
      f.last_reaction_s = now;
      if (f.cc == Cc::kNewReno) {
        f.ssthresh = std::max(f.cwnd / 2, 2 * f.mss);
        f.cwnd = f.ssthresh;
      } else {
        // Fast convergence: a flow that lost below its last peak releases more.
        f.wmax = f.cwnd < f.wmax ? f.cwnd * (1.0 + 0.7) / 2.0 : f.cwnd;
        f.cwnd = std::max(0.7 * f.cwnd, 2 * f.mss);
        f.ssthresh = f.cwnd;
        f.epoch_s = now;
        f.cubic_k = std::cbrt(f.wmax / f.mss * 0.3 / 0.4);
      }
    }
    f.loss_seen_s = -1.0;
    return;
  }
  if (acked <= 0) return;
  if (f.cwnd < f.ssthresh) {
    f.cwnd += acked;  // slow start: doubles every RTT
    // Cubic's HyStart leaves slow start once the RTT rises by an eighth (at least 4 ms).
    if (f.cc == Cc::kCubic && f.rtt_s > f.min_rtt + std::max(0.004, f.min_rtt / 8)) {
      f.ssthresh = f.cwnd;
      f.wmax = f.cwnd;
      f.epoch_s = now;
      f.cubic_k = 0.0;  // starts at its own window: no plateau to climb to
    }
    return;
  }
  if (f.cc == Cc::kNewReno) {
    f.cwnd += f.mss * acked / f.cwnd;
    return;
  }
  // Cubic: W(t) = C (t - K)^3 + Wmax in segments, C = 0.4, beta = 0.7; never slower than
  // Reno would grow from the same point.
  const double wmax = f.wmax / f.mss;
  const double x = now - f.epoch_s - f.cubic_k;
  const double cubic = (0.4 * x * x * x + wmax) * f.mss;
  const double dt = now - f.epoch_s;
  const double reno = (0.7 * wmax + 3 * 0.3 / 1.7 * dt / f.rtt_s) * f.mss;
  const double target = std::max(cubic, reno);
  if (target > f.cwnd) f.cwnd = std::min(target, f.cwnd + acked);
}

namespace {

// BBR v1, coarsely: startup doubles until the delivery rate stops growing 25% for three
// rounds, then pacing cycles the gains over the bandwidth estimate; cwnd = 2 BDP.
void Bbr(Flow& f, double acked, double now) {
  f.round_delivered += acked;
  if (now - f.round_start_s < f.rtt_s) {
    if (f.bbr_startup) f.cwnd += acked;
    return;
  }
  const double rate = f.round_delivered / (now - f.round_start_s);
  f.round_start_s = now;
  f.round_delivered = 0.0;
  f.btlbw = std::max(f.btlbw * 0.99, rate);  // slowly forgotten max filter
  if (f.bbr_startup) {
    if (f.btlbw > 1.25 * f.bbr_full_bw) {
      f.bbr_full_bw = f.btlbw;
      f.bbr_flat_rounds = 0;
    } else if (++f.bbr_flat_rounds >= 3) {
      f.bbr_startup = false;
    }
    f.cwnd += acked;
  } else {
    f.bbr_cycle = (f.bbr_cycle + 1) % 8;
    f.cwnd = std::max(4 * f.mss, 2 * f.btlbw * f.min_rtt);
  }
}

}  // namespace

}  // namespace linklab::sim::fluid
