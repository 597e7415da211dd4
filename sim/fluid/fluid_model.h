#pragma once
// The pieces of the fluid backend (sim/fluid/): flows with flow-level TCP models, fluid queues
// (FIFO groups, the HTB shaper, and the FIFO, CoDel, FQ-CoDel, PIE and RED queue discs) and the
// application interface. Internal to sim/.
//
// A step of a fluid scenario: every flow offers bytes (TCP at cwnd / RTT, limited by what its
// application still has to send; UDP at its rate); each queue on a path takes its arrivals,
// drops what exceeds its buffer (tail drop, in proportion to the arrivals) and serves up to
// its capacity, in proportion to each flow's backlog (a fluid FIFO); the HTB shaper serves its
// classes by rate, then lends the rest by prio up to each class's ceil. TCP reacts to a loss
// one RTT after it happened, once per RTT (NewReno halves; Cubic backs off to 0.7 with fast
// convergence and regrows on the cubic curve, leaving slow start by HyStart; BBR paces at its
// bandwidth estimate and ignores loss), and grows on delivered bytes. Dropped TCP bytes are
// sent again: after three duplicate ACKs' worth of delivery, one RTT after the loss (fast
// retransmit); otherwise the flow stalls until its retransmission timer fires (RFC 6298, see
// RtoEstimator), as it does too when nothing is delivered for an RTO (an outage). Delays are
// the base path delay plus every queue's backlog over its service.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "sim/link_recorder.h"
#include "sim/shaping.h"
#include "sim/workload.h"

namespace linklab::sim::fluid {

constexpr double kMss = 1448.0;               // TCP payload per packet
constexpr double kPacket = 1500.0;            // IP packet of a full segment
constexpr double kWire = kPacket / kMss;      // IP bytes per payload byte
constexpr double kInitialWindow = 10 * kMss;  // RFC 6928
constexpr double kAckBytes = 52.0;            // IP size of a pure ACK with timestamps
constexpr double kInf = std::numeric_limits<double>::infinity();

enum class Cc { kNewReno, kCubic, kBbr, kUdp };

// The RFC 6298 retransmission timer with ns-3 3.37's defaults: TcpSocketBase MinRto 1 s and
// ClockGranularity 1 ms, RttMeanDeviation alpha 1/8 and beta 1/4, the RTO doubling on each
// timeout up to 60 s (TcpSocketBase::ReTxTimeout) until the next RTT sample recomputes it.
struct RtoEstimator {
  static constexpr double kMinRtoS = 1.0;
  static constexpr double kGranularityS = 0.001;
  static constexpr double kMaxRtoS = 60.0;
  static constexpr double kInitialRtoS = 1.0;  // RFC 6298 (2.1), before any sample
  double srtt_s = 0.0, rttvar_s = 0.0;
  double rto_s = kInitialRtoS;
  bool sampled = false;

  // One RTT measurement (s): SRTT and RTTVAR (RFC 6298 2.2, 2.3), RTO = SRTT + max(G, 4 RTTVAR)
  // at least kMinRtoS; clears any backoff.
  void Sample(double rtt_s) {
    if (!sampled) {
      srtt_s = rtt_s;
      rttvar_s = rtt_s / 2;
      sampled = true;
    } else {
      const double err = rtt_s - srtt_s;
      srtt_s += err / 8;
      rttvar_s += (std::abs(err) - rttvar_s) / 4;
    }
    rto_s = std::max(srtt_s + std::max(kGranularityS, 4 * rttvar_s), kMinRtoS);
  }
  // A timeout: the RTO doubles, up to kMaxRtoS (RFC 6298 5.5).
  void Backoff() { rto_s = std::min(2 * rto_s, kMaxRtoS); }
};

// Segments delivered after a loss that make the three duplicate ACKs of fast retransmit.
constexpr double kDupAckSegments = 3.0;

inline Cc ParseCc(const std::string& name) {
  if (name == "newreno") return Cc::kNewReno;
  if (name == "cubic") return Cc::kCubic;
  return Cc::kBbr;
}

// One transport flow, in one direction ("down": server to client).
struct Flow {
  AppClass app_class = AppClass::kBulk;
  bool down = true;
  Cc cc = Cc::kCubic;
  double udp_rate_bps = 0.0;      // UDP only
  double packet_bytes = kPacket;  // IP size of the flow's packets
  double mss = kMss;              // TCP payload per full packet
  double wire = kWire;            // IP bytes per payload byte
  bool active = true;             // UDP on/off sources switch this
  // What the application still wants sent (bytes of payload); infinite for bulk.
  double to_send = 0.0;
  // Congestion control.
  double cwnd = kInitialWindow, ssthresh = kInf;
  double wmax = 0.0, epoch_s = 0.0, cubic_k = 0.0;                                 // Cubic
  double btlbw = 0.0, min_rtt = kInf, round_start_s = 0.0, round_delivered = 0.0;  // BBR
  int bbr_cycle = 0;
  bool bbr_startup = true;
  int bbr_flat_rounds = 0;
  double bbr_full_bw = 0.0;
  double loss_seen_s = -1.0;  // a loss waiting to be noticed, and when it happened
  double last_reaction_s = -kInf;
  double rtt_s = 0.0;
  // Loss repair and the retransmission timer.
  RtoEstimator rto;
  double inflight = 0.0;      // IP bytes sent and not yet delivered or dropped
  double lost = 0.0;          // payload bytes dropped and not yet sent again
  double dupack_bytes = 0.0;  // payload delivered since the oldest unrepaired loss's step
  double queued_ahead = 0.0;  // IP bytes queued ahead of this step's drops (set with them)
  double timer_s = 0.0;       // when the retransmission timer was last (re)started
  double react_s = 0.0;       // the last React's time
  double send_budget = kInf;  // payload it may send before ACK progress (0: waits for its timer)
  bool waiting = false;       // a loss fast retransmit cannot repair: waits for its timer
  int timeouts = 0;           // retransmission timeouts so far
  uint64_t rng = 0;           // the flow's random stream (seeded by the scenario)
  // Per-step flows of bytes (IP bytes).
  double sent_step = 0.0, delivered_step = 0.0, dropped_step = 0.0;
  AppCounters* counters = nullptr;
  LinkRecorder* recorder = nullptr;  // of the flow's direction
  bool rtt_samples = true;           // reports RTT samples (data senders, counted game flows)
};

// Fluid queues: per-flow backlog (IP bytes) in groups, each group a FIFO with its own byte
// limit and its own service per step. A plain buffer is one group; the HTB shaper has one group
// per class, served by rate and then by borrowing. A group keeps arrival order: each step's
// admitted bytes join as one cohort behind the older ones and service takes the oldest first,
// so a flow that stops sending drains within one queueing delay, as a packet FIFO drains
// (sharing service in proportion to backlog instead would let its last bytes trickle out
// over many queueing delays).
struct FluidQueue {
  int groups = 1;
  std::vector<int> group_of;                      // per flow
  std::vector<double> backlog;                    // per flow
  std::vector<double> total;                      // per group
  std::vector<double> limit;                      // per group
  std::vector<double> served_rate;                // per group, bytes/s in the last step
  std::vector<double> arriving, kept, drop_frac;  // per group, scratch

  void Init(int n_groups, const std::vector<int>& flow_group, double group_limit);
  double Total() const {
    double t = 0.0;
    for (double x : total) t += x;
    return t;
  }
  // Demand of each group: its backlog plus `in`.
  void Arrivals(const std::vector<double>& in) {
    std::fill(arriving.begin(), arriving.end(), 0.0);
    for (size_t i = 0; i < in.size(); ++i) arriving[group_of[i]] += in[i];
  }
  // Takes `in` (per flow; call Arrivals(in) first), serves `capacity[g]` bytes per group,
  // tail-drops what exceeds each group's limit; adds service to `out`, drops to `dropped`.
  void Step(const std::vector<double>& in, const double* capacity, double dt,
            std::vector<double>& out, std::vector<double>& dropped);
  // Refills an emptied queue with per-flow `bytes`, one cohort per group (a reconfiguration
  // that keeps what was queued).
  void Restore(const std::vector<double>& bytes);
  // Removes up to `bytes` of flow i's backlog, oldest first (a drop at the head); returns
  // what it removed.
  double RemoveOldest(size_t flow, double bytes);
  // Queueing delay of group g (s) at its last service rate (or `rate` if given).
  double Delay(int g, double rate = -1.0) const {
    if (total[g] <= 0) return 0.0;
    return total[g] / std::max(rate >= 0 ? rate : served_rate[g], 1.0);
  }

 private:
  // A group's cohorts in a ring: `parts` holds `members.size()` bytes per cohort.
  struct Ring {
    std::vector<int> members;  // flow indices
    std::vector<double> parts, totals;
    int head = 0, count = 0;
    int capacity() const { return static_cast<int>(totals.size()); }
  };
  void Push(int g, const std::vector<double>& in, double keep);
  // Serves `bytes` of group g, oldest cohort first; returns what it served.
  double Serve(int g, double bytes, std::vector<double>& out);
  std::vector<Ring> rings_;
  std::vector<int> slot_;   // per flow: its index in its group's members
  std::vector<char> pass_;  // per group, this step: nothing queued, arrivals all served
};

// CoDel's control law (RFC 8289, as ns-3's CoDelQueueDisc): once the sojourn time has stayed
// above `target` for an `interval`, drop at dequeue, the next drop interval/sqrt(count) later.
struct FluidCodel {
  static constexpr double kTarget = 0.005;     // s (ns-3 default)
  static constexpr double kInterval = 0.100;   // s
  static constexpr double kMinBytes = 1500.0;  // no drop with at most one MTU queued
  bool dropping = false, above = false;
  double first_above_s = 0.0, drop_next_s = 0.0;
  int count = 0, last_count = 0;

  // Packets to drop at time `now` (s) for a queue of `bytes` whose head waited `sojourn_s`.
  int Drops(double sojourn_s, double bytes, double now) {
    bool ok = false;
    if (sojourn_s < kTarget || bytes <= kMinBytes) {
      above = false;
    } else if (!above) {
      above = true;
      first_above_s = now + kInterval;
    } else if (now >= first_above_s) {
      ok = true;
    }
    int drops = 0;
    if (dropping) {
      if (!ok) {
        dropping = false;
      } else {
        while (now >= drop_next_s && drops < 1000) {
          ++drops;
          ++count;
          drop_next_s += kInterval / std::sqrt(static_cast<double>(count));
        }
      }
    } else if (ok) {
      drops = 1;
      dropping = true;
      const int delta = count - last_count;
      count = (delta > 1 && now - drop_next_s < 16 * kInterval) ? delta : 1;
      last_count = count;
      drop_next_s = now + kInterval / std::sqrt(static_cast<double>(count));
    }
    return drops;
  }
};

// Drops `packets` packets queued in `group` of `queue`, shared by the flows' backlogs: whole
// packets (`packet`: IP bytes per flow) by a per-flow credit of packets owed, oldest first.
void DropFromGroup(FluidQueue& queue, int group, int packets, const std::vector<double>& packet,
                   std::vector<double>& credit, std::vector<double>& dropped);

// The HTB shaper as a fluid queue with a group per class; disabled (one FIFO group of 1000
// packets) for the other queue discs. Each class's leaf is a FIFO or, with `codel_leaves`, a
// FIFO under CoDel's control law (FluidCodel, on the class's sojourn time; drops at the head,
// shared by the class's flows by backlog, whole packets by a per-flow credit).
struct FluidHtb {
  HtbConfig config;
  bool enabled = false;
  bool codel_leaves = false;
  FluidQueue queue;
  std::vector<AppClass> flow_class;
  std::vector<double> packet, credit;  // per flow: IP bytes of a packet, packets of drop owed
  std::array<double, kNumAppClasses> grant{};
  std::array<FluidCodel, kNumAppClasses> codel{};

  void Init(const std::vector<AppClass>& classes) {
    flow_class = classes;
    if (!enabled) {
      queue.Init(1, std::vector<int>(classes.size(), 0), 1000 * kPacket);
      return;
    }
    std::vector<int> groups;
    for (AppClass c : classes) groups.push_back(ClassOf(c));
    const std::vector<double> keep = queue.backlog;
    queue.Init(kNumAppClasses, groups, config.class_queue_packets * kPacket);
    if (keep.size() == groups.size()) queue.Restore(keep);  // reconfigured: packets stay
  }
  // Reconfigures at any time: queued bytes stay, and so does each class's last service rate
  // (the queueing delays flows see; a class that receives flows takes their old class's rate
  // if higher); a reconfiguration that keeps every flow's class changes only the rates and
  // limits, without allocating.
  void Configure(const HtbConfig& c) {
    c.Validate();
    const bool was_enabled = enabled;
    config = c;
    enabled = true;
    if (flow_class.empty()) return;
    bool same_groups =
        was_enabled && queue.groups == kNumAppClasses && queue.group_of.size() == flow_class.size();
    for (size_t i = 0; same_groups && i < flow_class.size(); ++i) {
      same_groups = queue.group_of[i] == ClassOf(flow_class[i]);
    }
    if (same_groups) {
      std::fill(queue.limit.begin(), queue.limit.end(), config.class_queue_packets * kPacket);
      return;
    }
    const std::vector<double> rates = queue.served_rate;
    const std::vector<int> old_group = queue.group_of;
    Init(flow_class);
    if (!was_enabled || rates.size() != queue.served_rate.size()) return;
    // A class's rate stays; a class that receives flows serves at least as fast as theirs did.
    queue.served_rate = rates;
    for (size_t i = 0; i < old_group.size() && i < queue.group_of.size(); ++i) {
      double& r = queue.served_rate[queue.group_of[i]];
      r = std::max(r, rates[old_group[i]]);
    }
  }
  int ClassOf(AppClass a) const {
    for (const auto& c : config.classes) {
      if (c.app_class == a) return static_cast<int>(a);
    }
    return static_cast<int>(config.default_class);
  }
  // Serves at most `link_cap` bytes this step (of `dt` s, ending at `end_s`).
  void Step(const std::vector<double>& in, double link_cap, double dt, double end_s,
            std::vector<double>& out, std::vector<double>& dropped) {
    queue.Arrivals(in);
    if (!enabled) {
      queue.Step(in, &link_cap, dt, out, dropped);
      return;
    }
    // Guaranteed rates first, then the root's remainder by prio (shared in proportion to the
    // quanta within a prio, as HTB's deficit round robin does), each class up to its ceil.
    std::array<double, kNumAppClasses> demand{};
    for (int c = 0; c < kNumAppClasses; ++c) {
      demand[c] = queue.total[c] + queue.arriving[c];
      grant[c] = 0.0;
    }
    const double budget = std::min(link_cap, config.link_rate_bps / 8.0 * dt);
    double used = 0.0;
    for (const auto& cc : config.classes) {
      const int c = static_cast<int>(cc.app_class);
      grant[c] = std::min(demand[c], cc.rate_bps / 8.0 * dt);
      used += grant[c];
    }
    if (used > budget) {  // rates above the link: scale down
      for (double& g : grant) g *= budget / used;
      used = budget;
    }
    double left = budget - used;
    for (int prio = 0; prio < 8 && left > 1e-9; ++prio) {
      for (int round = 0; round < 4 && left > 1e-9; ++round) {
        double weight = 0.0;
        for (const auto& cc : config.classes) {
          const int c = static_cast<int>(cc.app_class);
          if (cc.prio == prio && std::min(demand[c], cc.ceil_bps / 8.0 * dt) > grant[c] + 1e-12) {
            weight += HtbQuantumBytes(cc);
          }
        }
        if (weight <= 0) break;
        double given = 0.0;
        for (const auto& cc : config.classes) {
          const int c = static_cast<int>(cc.app_class);
          const double room = std::min(demand[c], cc.ceil_bps / 8.0 * dt) - grant[c];
          if (cc.prio != prio || room <= 1e-12) continue;
          const double g = std::min(room, left * HtbQuantumBytes(cc) / weight);
          grant[c] += g;
          given += g;
        }
        left -= given;
      }
    }
    queue.Step(in, grant.data(), dt, out, dropped);
    if (codel_leaves) CodelDrops(end_s, dropped);
  }
  // CoDel at each class's leaf after a step ending at `end_s` (s).
  void CodelDrops(double end_s, std::vector<double>& dropped);
  double Delay(AppClass a) const { return queue.Delay(enabled ? ClassOf(a) : 0); }
  double Backlog(size_t flow) const { return queue.backlog[flow]; }
};

// The queue discs of the scenarios' `qdisc` and `bottleneck_qdisc` keys.
enum class QdiscKind { kNone, kHtb, kFifo, kCodel, kFqCodel, kPie, kRed };

// Parses a queue disc name; an unknown one is an error naming `key` and the value.
QdiscKind ParseQdisc(const std::string& key, const std::string& value);

// The non-HTB queue discs as fluid queues with per-flow backlog (IP bytes), with ns-3 3.37's
// defaults: FIFO (1000 packets); CoDel (1500 packets, drops at dequeue by FluidCodel); FQ-CoDel
// (a queue per flow, served max-min fair as DRR's byte quanta give, CoDel per flow queue,
// 10240 packets shared, overflow dropped from the fattest flow); PIE (25 packets, drop
// probability from the queue delay every 15 ms, alpha 0.125, beta 1.25, 15 ms reference,
// 150 ms burst allowance, drops at enqueue); RED (25 packets, EWMA weight 0.002 of the queue in
// packets, thresholds 5 and 15, max_p 0.02, gentle, `wait`). Random drops become whole
// packets by a deterministic per-flow credit, so a flow sees drops as often as ns-3 would.
struct FluidAqm {
  QdiscKind kind = QdiscKind::kFifo;
  FluidQueue fifo;              // one group: all kinds but FQ-CoDel
  std::vector<double> packet;   // per flow: IP bytes of its packets
  std::vector<double> credit;   // per flow: packets of drop owed
  std::vector<double> scratch;  // per flow
  double rate = 0.0;            // last positive service rate (bytes/s)
  double unit = kPacket;        // bytes of a full packet (queue limits count packets)
  // FQ-CoDel: per-flow queues.
  std::vector<double> fq_backlog, fq_rate, fq_served;
  std::vector<FluidCodel> codel;  // one (CoDel) or one per flow (FQ-CoDel)
  double fq_total = 0.0;
  // PIE.
  double pie_p = 0.0, pie_qdelay_old = 0.0, pie_burst_s = 0.0, pie_next_s = 0.0;
  // RED: the average queue (packets).
  double red_avg = 0.0;

  static constexpr double kPieTarget = 0.015, kPieUpdate = 0.015, kPieA = 0.125, kPieB = 1.25;
  static constexpr double kPieBurst = 0.150;
  static constexpr double kRedMin = 5, kRedMax = 15, kRedWeight = 0.002, kRedMaxP = 1.0 / 50;
  static constexpr double kRedIdlePps = 1.5e6 / 8 / 500;  // LinkBandwidth / MeanPktSize

  // `packet_bytes`: per flow.
  void Init(QdiscKind k, const std::vector<double>& packet_bytes);
  // Takes `in` (per flow), serves at most `capacity` bytes in `dt` s starting at `now` (s);
  // adds service to `out`, drops to `dropped`.
  void Step(const std::vector<double>& in, double capacity, double dt, double now,
            std::vector<double>& out, std::vector<double>& dropped);
  // Queueing delay of flow `i` (s).
  double Delay(size_t i) const {
    if (kind == QdiscKind::kFqCodel) {
      return fq_backlog[i] > 0 ? fq_backlog[i] / std::max(fq_rate[i], 1.0) : 0.0;
    }
    return fifo.total[0] > 0 ? fifo.total[0] / std::max(rate, 1.0) : 0.0;
  }
  double Backlog(size_t i) const {
    return kind == QdiscKind::kFqCodel ? fq_backlog[i] : fifo.backlog[i];
  }
  double Total() const { return kind == QdiscKind::kFqCodel ? fq_total : fifo.total[0]; }

 private:
  void PieUpdate(double qdelay_s);
};

// A queue disc at a shaping point or above a bottleneck buffer, by kind: HTB, none (passes
// its arrivals through, unlimited) or one of FluidAqm's.
struct FluidQdisc {
  QdiscKind kind = QdiscKind::kNone;
  FluidHtb htb;  // kHtb
  FluidAqm aqm;  // the others

  // `classes` and `packet_bytes`: per flow. HTB starts with `htb_start`, its leaves CoDel with
  // `codel_leaves`.
  void Init(QdiscKind k, const std::vector<AppClass>& classes,
            const std::vector<double>& packet_bytes, const HtbConfig& htb_start,
            bool codel_leaves = false) {
    kind = k;
    htb = FluidHtb();
    if (k == QdiscKind::kHtb) {
      htb.codel_leaves = codel_leaves;
      htb.packet = packet_bytes;
      htb.credit.assign(packet_bytes.size(), 0.0);
      htb.Configure(htb_start);
      htb.Init(classes);
    } else if (k != QdiscKind::kNone) {
      aqm.Init(k, packet_bytes);
    }
  }
  // Serves at most `capacity` bytes this step (of `dt` s from `now`).
  void Step(const std::vector<double>& in, double capacity, double dt, double now,
            std::vector<double>& out, std::vector<double>& dropped) {
    if (kind == QdiscKind::kHtb) {
      htb.Step(in, capacity, dt, now + dt, out, dropped);
    } else if (kind == QdiscKind::kNone) {
      for (size_t i = 0; i < in.size(); ++i) out[i] += in[i];
    } else {
      aqm.Step(in, capacity, dt, now, out, dropped);
    }
  }
  // Queueing delay (s) of flow `i` of class `c`.
  double Delay(size_t i, AppClass c) const {
    if (kind == QdiscKind::kHtb) return htb.Delay(c);
    return kind == QdiscKind::kNone ? 0.0 : aqm.Delay(i);
  }
  double Backlog(size_t i) const {
    if (kind == QdiscKind::kHtb) return htb.Backlog(i);
    return kind == QdiscKind::kNone ? 0.0 : aqm.Backlog(i);
  }
};

// Applications drive their flows' demand and read their deliveries (payload bytes).
class FluidApp {
 public:
  virtual ~FluidApp() = default;
  virtual void Tick(std::vector<Flow>& flows, double t, double dt) = 0;
  virtual void Delivered(std::vector<Flow>& flows, size_t flow, double payload, double t) = 0;
};

// Resets a flow's congestion state for a new connection.
inline void NewConnection(Flow& f) {
  const Flow fresh;
  f.cwnd = 10 * f.mss;  // RFC 6928 initial window
  f.ssthresh = fresh.ssthresh;
  f.wmax = fresh.wmax;
  f.min_rtt = fresh.min_rtt;  // a new connection measures its own (HyStart's baseline)
  f.btlbw = 0.0;
  f.bbr_startup = true;
  f.bbr_flat_rounds = 0;
  f.bbr_full_bw = 0.0;
  f.loss_seen_s = -1.0;
  f.rto = RtoEstimator();
  f.inflight = f.lost = f.dupack_bytes = 0.0;
  f.send_budget = kInf;
  f.waiting = false;
}

// Bytes (IP) flow `f` offers in a step of `dt` seconds (taken from its application's demand).
double Send(Flow& f, double dt);
// Congestion control after a step (reads delivered_step and dropped_step, IP bytes): losses
// repaired by fast retransmit or by a retransmission timeout, growth on delivered bytes.
void React(Flow& f, double now);

}  // namespace linklab::sim::fluid
