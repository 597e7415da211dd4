#pragma once
// An ns-3 queue disc with Linux HTB semantics (one level of leaf classes under a root that
// holds the link rate), classified by DSCP into application classes. Included only by sim/
// sources (ns-3 headers).
//
// Each leaf class has a guaranteed rate, a ceiling, a priority and a FIFO (or CoDel). Rate tokens
// refill at `rate` up to a burst, ceiling tokens at `ceil` up to a cburst (HtbBurstBytes: one
// millisecond at the rate plus one MTU). Dequeue, as in Linux: first the classes within
// their own rate ("green"), lowest prio first, deficit round robin (quantum = rate / 10 bytes
// per second, clamped to [1000, 200000] bytes) among equal prio; then classes over their rate
// but under their ceiling ("yellow") that can borrow from the root's tokens, in the same order.
// When packets wait but no class may send, a timer restarts the queue disc at the earliest time
// one could. Configure() may be called at any time; class token levels are kept (clamped).

#include <array>

#include "ns3/event-id.h"
#include "ns3/nstime.h"
#include "ns3/queue-disc.h"
#include "sim/shaping.h"

namespace linklab::sim {

class HtbQueueDisc : public ns3::QueueDisc {
 public:
  static ns3::TypeId GetTypeId();
  HtbQueueDisc();
  ~HtbQueueDisc() override;

  // Makes each class's leaf CoDel (RFC 8289, ns-3's defaults, limited to the config's
  // class_queue_packets) instead of a FIFO; before the queue disc starts.
  void SetCodelLeaves(bool codel) { codel_leaves_ = codel; }
  // Applies `config` (validated; throws std::invalid_argument) now.
  void Configure(const HtbConfig& config);
  const HtbConfig& config() const { return config_; }

  // Cumulative counters of one application class's HTB class (zeros for classes not
  // configured).
  struct ClassStats {
    uint64_t enqueued_bytes = 0, enqueued_packets = 0;
    uint64_t sent_bytes = 0, sent_packets = 0;
    uint64_t dropped_packets = 0;
    uint64_t backlog_bytes = 0, backlog_packets = 0;
    uint64_t borrowed_bytes = 0;  // sent while over the class's own rate
  };
  ClassStats GetClassStats(AppClass c) const;

 private:
  // Each application class has a FIFO child queue disc (so the base class's statistics and
  // drop traces cover it) and its token buckets; unconfigured classes hold no packets.
  struct ClassState {
    bool active = false;
    HtbClassConfig config;
    double tokens = 0.0, ctokens = 0.0;  // bytes; the rate bucket goes negative when borrowing
    double burst = 0.0, cburst = 0.0;    // bytes
    double quantum = 0.0;                // bytes per round-robin turn among equal prio
    // Deficit of each round robin: sending at its own rate [0] and on borrowed bandwidth [1]
    // are separate rounds, as in Linux (one per level of the class tree).
    std::array<double, 2> deficit{};
    ClassStats stats;  // cumulative counters (backlog filled in on request)
  };

  bool DoEnqueue(ns3::Ptr<ns3::QueueDiscItem> item) override;
  ns3::Ptr<ns3::QueueDiscItem> DoDequeue() override;
  bool CheckConfig() override;
  void InitializeParams() override;
  void DoDispose() override;

  ns3::Ptr<ns3::QueueDisc> Fifo(int c) const;  // class c's child queue disc
  int ClassIndexOf(ns3::Ptr<const ns3::QueueDiscItem> item) const;
  void Refill();
  // Size in bytes of class c's head packet if it may send it now (green: within its rate;
  // yellow, when `borrowing`: within its ceil and the root's tokens), else 0.
  uint32_t SendableSize(int c, bool borrowing);
  // The next class allowed to send in this pass, by prio then deficit round robin; -1: none.
  int Pick(bool borrowing);
  void ScheduleWakeUp();

  HtbConfig config_;
  bool configured_ = false;
  bool codel_leaves_ = false;
  std::array<ClassState, kNumAppClasses> classes_;
  // Per round robin (own rate, borrowed) and prio: the class whose turn it is.
  std::array<std::array<int, 8>, 2> turn_{};
  double root_tokens_ = 0.0, root_burst_ = 0.0;  // bytes
  ns3::Time last_refill_;
  ns3::EventId watchdog_;
};

}  // namespace linklab::sim
