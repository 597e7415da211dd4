#include "sim/fluid/fluid_model.h"

#include <cmath>
#include <cstdint>
#include <stdexcept>

namespace linklab::sim::fluid {

QdiscKind ParseQdisc(const std::string& key, const std::string& value) {
  if (value == "none") return QdiscKind::kNone;
  if (value == "htb") return QdiscKind::kHtb;
  if (value == "fifo") return QdiscKind::kFifo;
  if (value == "codel") return QdiscKind::kCodel;
  if (value == "fq_codel") return QdiscKind::kFqCodel;
  if (value == "pie") return QdiscKind::kPie;
  if (value == "red") return QdiscKind::kRed;
  throw std::invalid_argument(key + " = '" + value +
                              "': the fluid backend models htb, fifo, codel, fq_codel, pie, red "
                              "and none");
}

void FluidAqm::Init(QdiscKind k, const std::vector<double>& packet_bytes) {
  kind = k;
  const size_t n = packet_bytes.size();
  // Queue limits in packets (ns-3 3.37 defaults; FIFO as linklab installs it).
  double limit = 1000;
  if (k == QdiscKind::kCodel) limit = 1500;
  if (k == QdiscKind::kFqCodel) limit = 10240;
  if (k == QdiscKind::kPie || k == QdiscKind::kRed) limit = 25;
  unit = kPacket;  // a full packet: the largest of the flows'
  for (double b : packet_bytes) unit = std::max(unit, b);
  fifo.Init(1, std::vector<int>(n, 0), limit * unit);
  packet = packet_bytes;
  credit.assign(n, 0.0);
  scratch.assign(n, 0.0);
  rate = 0.0;
  fq_backlog.assign(n, 0.0);
  fq_rate.assign(n, 0.0);
  fq_served.assign(n, 0.0);
  fq_total = 0.0;
  codel.assign(k == QdiscKind::kFqCodel ? n : 1, FluidCodel());
  pie_p = 0.0;
  pie_qdelay_old = 0.0;
  pie_burst_s = kPieBurst;
  pie_next_s = kPieUpdate;
  red_avg = 0.0;
}

void FluidQueue::Init(int n_groups, const std::vector<int>& flow_group, double group_limit) {
  groups = n_groups;
  group_of = flow_group;
  backlog.assign(flow_group.size(), 0.0);
  for (auto* v : {&total, &served_rate, &arriving, &kept, &drop_frac}) v->assign(groups, 0.0);
  pass_.assign(groups, 0);
  limit.assign(groups, group_limit);
  rings_.assign(groups, Ring());
  slot_.assign(flow_group.size(), 0);
  for (size_t i = 0; i < flow_group.size(); ++i) {
    Ring& r = rings_[flow_group[i]];
    slot_[i] = static_cast<int>(r.members.size());
    r.members.push_back(static_cast<int>(i));
  }
  for (Ring& r : rings_) {
    r.totals.assign(8, 0.0);
    r.parts.assign(8 * r.members.size(), 0.0);
  }
}

void FluidQueue::Push(int g, const std::vector<double>& in, double keep) {
  Ring& r = rings_[g];
  const size_t m = r.members.size();
  if (m == 0 || keep <= 0) return;
  if (r.count == r.capacity()) {  // grow, oldest first at 0
    const int cap = r.capacity();
    std::vector<double> parts(2 * cap * m, 0.0), totals(2 * cap, 0.0);
    for (int k = 0; k < r.count; ++k) {
      const int from = (r.head + k) % cap;
      totals[k] = r.totals[from];
      std::copy_n(r.parts.begin() + from * m, m, parts.begin() + k * m);
    }
    r.parts = std::move(parts);
    r.totals = std::move(totals);
    r.head = 0;
  }
  const int at = (r.head + r.count) % r.capacity();
  double sum = 0.0;
  for (size_t j = 0; j < m; ++j) {
    const double v = in[r.members[j]] * keep;
    r.parts[at * m + j] = v;
    sum += v;
  }
  if (sum <= 0) return;
  r.totals[at] = sum;
  ++r.count;
}

double FluidQueue::Serve(int g, double bytes, std::vector<double>& out) {
  Ring& r = rings_[g];
  const size_t m = r.members.size();
  double served = 0.0;
  while (bytes > 0 && r.count > 0) {
    const int at = r.head;
    const double t = r.totals[at];
    double* parts = &r.parts[at * m];
    if (t <= bytes * (1.0 + 1e-12)) {  // the whole cohort leaves
      for (size_t j = 0; j < m; ++j) {
        if (parts[j] <= 0) continue;
        const int i = r.members[j];
        out[i] += parts[j];
        backlog[i] = std::max(0.0, backlog[i] - parts[j]);
      }
      bytes -= t;
      served += t;
      r.head = (r.head + 1) % r.capacity();
      --r.count;
      continue;
    }
    const double f = bytes / t;
    for (size_t j = 0; j < m; ++j) {
      if (parts[j] <= 0) continue;
      const int i = r.members[j];
      const double v = parts[j] * f;
      out[i] += v;
      parts[j] -= v;
      backlog[i] = std::max(0.0, backlog[i] - v);
    }
    r.totals[at] = t - bytes;
    served += bytes;
    bytes = 0;
  }
  return served;
}

void FluidQueue::Step(const std::vector<double>& in, const double* capacity, double dt,
                      std::vector<double>& out, std::vector<double>& dropped) {
  // A group with nothing queued whose arrivals all fit this step's service passes them on
  // as they came (most steps of most stages); the others queue and serve by cohort.
  bool any_queued = false;
  for (int g = 0; g < groups; ++g) {
    const double served = std::min(capacity[g], total[g] + arriving[g]);
    const double excess = std::max(0.0, total[g] + arriving[g] - served - limit[g]);
    drop_frac[g] = arriving[g] > 0 ? excess / arriving[g] : 0.0;
    kept[g] = arriving[g] - excess;
    served_rate[g] = served / dt;
    pass_[g] = rings_[g].count == 0 && served >= arriving[g];
    any_queued = any_queued || !pass_[g];
  }
  for (size_t i = 0; i < backlog.size(); ++i) {
    if (in[i] <= 0) continue;
    const int g = group_of[i];
    if (pass_[g]) {
      out[i] += in[i];
      continue;
    }
    dropped[i] += in[i] * drop_frac[g];
    backlog[i] += in[i] * (1.0 - drop_frac[g]);
  }
  if (!any_queued) return;
  for (int g = 0; g < groups; ++g) {
    if (pass_[g]) continue;
    if (arriving[g] > 0) Push(g, in, 1.0 - drop_frac[g]);
    const double served = Serve(g, served_rate[g] * dt, out);
    total[g] = rings_[g].count == 0 ? 0.0 : std::max(0.0, total[g] + kept[g] - served);
  }
}

void FluidQueue::Restore(const std::vector<double>& bytes) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    backlog[i] += bytes[i];
    total[group_of[i]] += bytes[i];
  }
  for (int g = 0; g < groups; ++g) Push(g, bytes, 1.0);
}

double FluidQueue::RemoveOldest(size_t flow, double bytes) {
  Ring& r = rings_[group_of[flow]];
  const size_t m = r.members.size();
  const int j = slot_[flow];
  double removed = 0.0;
  for (int k = 0; k < r.count && removed < bytes; ++k) {
    const int at = (r.head + k) % r.capacity();
    double& part = r.parts[at * m + j];
    const double v = std::min(part, bytes - removed);
    part -= v;
    r.totals[at] -= v;
    removed += v;
  }
  // Drop emptied cohorts at the head.
  while (r.count > 0 && r.totals[r.head] <= 1e-9) {
    r.head = (r.head + 1) % r.capacity();
    --r.count;
  }
  backlog[flow] = std::max(0.0, backlog[flow] - removed);
  total[group_of[flow]] = std::max(0.0, total[group_of[flow]] - removed);
  return removed;
}

void FluidHtb::CodelDrops(double end_s, std::vector<double>& dropped) {
  for (int g = 0; g < queue.groups; ++g) {
    const double total = queue.total[g];
    const double rate = queue.served_rate[g];
    if (total <= 0 || rate <= 0) {
      codel[g].Drops(0.0, 0.0, end_s);  // an empty leaf leaves the dropping state
      continue;
    }
    DropFromGroup(queue, g, codel[g].Drops(total / rate, total, end_s), packet, credit, dropped);
  }
}

void DropFromGroup(FluidQueue& queue, int group, int packets, const std::vector<double>& packet,
                   std::vector<double>& credit, std::vector<double>& dropped) {
  const double total = queue.total[static_cast<size_t>(group)];
  if (packets <= 0 || total <= 0) return;
  for (size_t i = 0; i < queue.backlog.size(); ++i) {
    if (queue.group_of[i] != group || queue.backlog[i] <= 0) continue;
    credit[i] += packets * queue.backlog[i] / total;
    if (credit[i] < 1.0) continue;
    const double k = std::floor(credit[i]);
    credit[i] -= k;
    dropped[i] += queue.RemoveOldest(i, k * packet[i]);
  }
}

// RFC 8033 as ns-3's PieQueueDisc: p += alpha (qdelay - ref) + beta (qdelay - qdelay_old),
// the step scaled down while p is small, capped at 2 % once p >= 10 %.
void FluidAqm::PieUpdate(double qdelay) {
  double p = kPieA * (qdelay - kPieTarget) + kPieB * (qdelay - pie_qdelay_old);
  if (pie_p < 0.000001) {
    p /= 2048;
  } else if (pie_p < 0.00001) {
    p /= 512;
  } else if (pie_p < 0.0001) {
    p /= 128;
  } else if (pie_p < 0.001) {
    p /= 32;
  } else if (pie_p < 0.01) {
    p /= 8;
  } else if (pie_p < 0.1) {
    p /= 2;
  }
  if (pie_p >= 0.1 && p > 0.02) p = 0.02;
  pie_p += p;
  if (qdelay == 0 && pie_qdelay_old == 0) pie_p *= 0.98;
  if (qdelay > 0.25) pie_p += 0.02;
  pie_p = std::clamp(pie_p, 0.0, 1.0);
  if (pie_p == 0 && qdelay < kPieTarget / 2 && pie_qdelay_old < kPieTarget / 2) {
    pie_burst_s = kPieBurst;
  } else {
    pie_burst_s = std::max(0.0, pie_burst_s - kPieUpdate);
  }
  pie_qdelay_old = qdelay;
}

void FluidAqm::Step(const std::vector<double>& in, double capacity, double dt, double now,
                    std::vector<double>& out, std::vector<double>& dropped) {
  const size_t n = in.size();
  const double end = now + dt;
  if (kind == QdiscKind::kFqCodel) {
    // Max-min fair service over the flows with backlog (DRR with byte quanta, new flows first).
    size_t open = 0;
    for (size_t i = 0; i < n; ++i) {
      scratch[i] = fq_backlog[i] + in[i];  // demand
      fq_served[i] = 0.0;
      if (scratch[i] > 0) ++open;
    }
    double left = capacity;
    while (open > 0 && left > 1e-9) {
      const double share = left / static_cast<double>(open);
      bool settled = false;
      for (size_t i = 0; i < n; ++i) {
        const double want = scratch[i] - fq_served[i];
        if (want <= 0) continue;
        if (want <= share) {
          fq_served[i] = scratch[i];
          left -= want;
          --open;
          settled = true;
        }
      }
      if (!settled) {
        for (size_t i = 0; i < n; ++i) {
          if (scratch[i] - fq_served[i] > 0) fq_served[i] += share;
        }
        left = 0.0;
      }
    }
    fq_total = 0.0;
    for (size_t i = 0; i < n; ++i) {
      out[i] += fq_served[i];
      fq_backlog[i] = std::max(0.0, scratch[i] - fq_served[i]);
      if (fq_served[i] > 0) fq_rate[i] = fq_served[i] / dt;
      fq_total += fq_backlog[i];
    }
    // Over the shared limit: drop from the fattest flow queue.
    while (fq_total > fifo.limit[0] + 1e-9) {
      size_t fat = 0;
      for (size_t i = 1; i < n; ++i) {
        if (fq_backlog[i] > fq_backlog[fat]) fat = i;
      }
      const double d = std::min(fq_backlog[fat], fq_total - fifo.limit[0]);
      fq_backlog[fat] -= d;
      dropped[fat] += d;
      fq_total -= d;
    }
    // CoDel per flow queue, on the sojourn time at its own service rate.
    for (size_t i = 0; i < n; ++i) {
      if (fq_backlog[i] <= 0) {
        if (codel[i].dropping || codel[i].above) codel[i].Drops(0.0, 0.0, end);
        continue;
      }
      if (fq_served[i] <= 0) continue;  // no dequeue, no drop
      const int k = codel[i].Drops(fq_backlog[i] / fq_rate[i], fq_backlog[i], end);
      if (k <= 0) continue;
      const double d = std::min(fq_backlog[i], k * packet[i]);
      fq_backlog[i] -= d;
      dropped[i] += d;
      fq_total -= d;
    }
    fq_total = std::max(0.0, fq_total);
    return;
  }
  // Early drops at enqueue (PIE, RED), as whole packets by per-flow credit.
  double p = 0.0;
  const double queued = fifo.total[0];
  if (kind == QdiscKind::kPie) {
    if (pie_burst_s <= 0 && !(pie_qdelay_old < kPieTarget / 2 && pie_p < 0.2) &&
        queued > 2 * unit) {
      p = pie_p;
    }
  } else if (kind == QdiscKind::kRed) {
    double arrivals = 0.0;
    for (size_t i = 0; i < n; ++i) arrivals += in[i] / packet[i];
    const double q = queued / unit;
    if (queued <= 0 && arrivals <= 0) {
      red_avg *= std::pow(1.0 - kRedWeight, kRedIdlePps * dt);
    } else {
      red_avg = q + (red_avg - q) * std::pow(1.0 - kRedWeight, arrivals);
    }
    double pb = 0.0;
    if (red_avg >= 2 * kRedMax) {
      pb = 1.0;
    } else if (red_avg >= kRedMax) {
      pb = kRedMaxP + (1 - kRedMaxP) * (red_avg - kRedMax) / kRedMax;
    } else if (red_avg >= kRedMin) {
      pb = kRedMaxP * (red_avg - kRedMin) / (kRedMax - kRedMin);
    }
    // `wait`: drops spaced uniformly between 1/pb and 2/pb packets apart.
    p = pb >= 1.0 ? 1.0 : pb / 1.5;
  }
  const std::vector<double>* admitted = &in;
  if (p > 0) {
    for (size_t i = 0; i < n; ++i) {
      scratch[i] = in[i];
      if (in[i] <= 0) continue;
      credit[i] += p * in[i] / packet[i];
      if (credit[i] < 1.0) continue;
      const double k = std::floor(credit[i]);
      credit[i] -= k;
      const double bytes = std::min(in[i], k * packet[i]);
      scratch[i] -= bytes;
      dropped[i] += bytes;
    }
    admitted = &scratch;
  }
  fifo.Arrivals(*admitted);
  fifo.Step(*admitted, &capacity, dt, out, dropped);
  const bool served = fifo.served_rate[0] > 0;
  if (served) rate = fifo.served_rate[0];
  if (kind == QdiscKind::kCodel && served) {
    DropFromGroup(fifo, 0, codel[0].Drops(fifo.total[0] / rate, fifo.total[0], end), packet, credit,
                  dropped);
  } else if (kind == QdiscKind::kCodel && fifo.total[0] <= 0) {
    codel[0].Drops(0.0, 0.0, end);
  }
  if (kind == QdiscKind::kPie) {
    while (pie_next_s <= end + 1e-12) {
      PieUpdate(fifo.total[0] > 0 ? fifo.total[0] / std::max(rate, 1.0) : 0.0);
      pie_next_s += kPieUpdate;
    }
  }
}

namespace {
void Bbr(Flow& f, double acked, double now);
enum class Repair { kNone, kFastRetransmit, kWaiting, kTimeout };
Repair RepairLosses(Flow& f, double acked, double now);
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
  const double payload = std::min({rate * dt, f.to_send, f.send_budget});
  f.to_send -= payload;
  f.send_budget -= payload;
  f.inflight += payload * f.wire;
  return payload * f.wire;
}

// Congestion control after a step's deliveries and losses.
void React(Flow& f, double now) {
  if (f.cc == Cc::kUdp) return;
  const double acked = f.delivered_step / f.wire;
  f.min_rtt = std::min(f.min_rtt, f.rtt_s);
  const Repair repair = RepairLosses(f, acked, now);
  if (repair == Repair::kWaiting || repair == Repair::kTimeout) return;
  if (f.cc == Cc::kBbr) {
    Bbr(f, acked, now);
    return;
  }
  // A loss is noticed one RTT after it happened; one reaction per RTT.
  if (repair == Repair::kFastRetransmit) {
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
    // Cubic's HyStart leaves slow start once the RTT rises by an eighth of the connection's
    // minimum, at least 4 ms (ns-3 3.37's delay thresholds: 4 ms to 1 s). ns-3 and Linux wait
    // for a window of 16 segments; here the exit may come earlier, which the incast
    // calibration depends on (with the 16-segment floor the fluid delivers 29 % more there).
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
  if (f.epoch_s < 0) {  // after a timeout: the curve starts here, up to the old peak
    f.epoch_s = now;
    f.wmax = std::max(f.wmax, f.cwnd);
    f.cubic_k = std::cbrt((f.wmax - f.cwnd) / f.mss / 0.4);
  }
  const double wmax = f.wmax / f.mss;
  const double x = now - f.epoch_s - f.cubic_k;
  const double cubic = (0.4 * x * x * x + wmax) * f.mss;
  const double dt = now - f.epoch_s;
  const double reno = (0.7 * wmax + 3 * 0.3 / 1.7 * dt / f.rtt_s) * f.mss;
  const double target = std::max(cubic, reno);
  if (target > f.cwnd) f.cwnd = std::min(target, f.cwnd + acked);
}

namespace {

// Losses and the retransmission timer, before any growth. Bytes a flow delivers after its
// oldest unrepaired loss, beyond those it had queued ahead of the loss (`queued_ahead`, where
// the scenario knows it), stand for duplicate ACKs. One RTT after the loss, three segments' worth
// means fast retransmit (below that, with the chance a Poisson count of packets reaches three): the
// lost bytes are sent again and the caller cuts cwnd as before. Otherwise (a whole window lost, as
// in incast) the window is stuck and the flow sends nothing until its timer fires. The timer runs
// while bytes are outstanding and restarts on ACK progress (deliveries with no loss pending); it
// fires after an RTO without progress. A uniform draw in [0, 1) from the flow's stream
// (splitmix64).
double Uniform(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

Repair RepairLosses(Flow& f, double acked, double now) {
  const bool progress = acked > 0 && f.lost <= 0;
  if (f.lost > 0) f.dupack_bytes += acked;
  f.inflight = std::max(0.0, f.inflight - f.delivered_step - f.dropped_step);
  if (f.dropped_step > 0) {
    // A new loss: the flow's bytes still queued ahead of it will not be duplicate ACKs.
    if (f.lost <= 0) f.dupack_bytes = -f.queued_ahead / f.wire;
    f.lost += f.dropped_step / f.wire;
  }
  const double step_s = now - f.react_s;
  f.react_s = now;
  if (progress) {
    // The RTT the delivered bytes saw: the bytes still outstanding over the delivery rate
    // (Little's law) above the path's minimum, never more than the RTT seen now (which on a
    // trace already knows of a coming outage).
    const double queued_s = step_s > 0 ? f.inflight / (f.delivered_step / step_s) : 0.0;
    f.rto.Sample(std::min(f.rtt_s, f.min_rtt + queued_s));
    f.timer_s = now;
    f.send_budget = kInf;
  }
  Repair repair = Repair::kNone;
  if (f.lost > 0 && f.loss_seen_s >= 0 && now >= f.loss_seen_s + f.rtt_s) {
    const double d = f.dupack_bytes / f.mss;
    bool fast = d >= kDupAckSegments;
    if (!fast && !f.waiting) {
      // At first sight of the loss, the fluid's d segments stand for a Poisson number of
      // packets after the loss, and a loss of m < 1 segments for a packet lost with chance m:
      // a timeout needs both the packet lost and fewer than three after it.
      const double m = std::min(1.0, f.lost / f.mss);
      const double few = d <= 0 ? 1.0 : std::exp(-d) * (1.0 + d + d * d / 2.0);
      fast = Uniform(f.rng) >= m * few;
    }
    if (fast) {
      f.to_send += f.lost;
      f.lost = 0.0;
      f.loss_seen_s = -1.0;
      f.timer_s = now;
      f.send_budget = kInf;
      f.waiting = false;
      return Repair::kFastRetransmit;
    }
    f.send_budget = 0.0;
    f.waiting = true;
    repair = Repair::kWaiting;
  }
  const double outstanding = f.inflight / f.wire + f.lost;  // payload
  if (outstanding < 1.0) {                                  // nothing outstanding: the timer is off
    f.timer_s = now;
    return repair;
  }
  if (now - f.timer_s < f.rto.rto_s) return repair;
  // Timeout (RFC 5681 3.1, as ns-3's ReTxTimeout): ssthresh from the flight, cwnd to the loss
  // window of one segment, slow start again; the lost bytes go first, one segment before ACK
  // progress; the RTO backs off.
  ++f.timeouts;
  if (f.cc == Cc::kCubic) {
    // TcpCubic::GetSsThresh (beta 0.7, fast convergence); the epoch restarts with the first
    // growth in congestion avoidance.
    f.wmax = f.cwnd < f.wmax ? f.cwnd * (1.0 + 0.7) / 2.0 : f.cwnd;
    f.ssthresh = std::max(0.7 * f.cwnd, 2 * f.mss);
    f.epoch_s = -1.0;
  } else if (f.cc == Cc::kNewReno) {
    f.ssthresh = std::max(outstanding / 2, 2 * f.mss);
  }
  f.cwnd = f.mss;
  f.to_send += f.lost;
  f.lost = 0.0;
  f.loss_seen_s = -1.0;
  f.waiting = false;
  f.send_budget = f.mss;
  f.timer_s = now;
  f.last_reaction_s = now;
  f.rto.Backoff();
  return Repair::kTimeout;
}

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
