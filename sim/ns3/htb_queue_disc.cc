#include "sim/ns3/htb_queue_disc.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ns3/codel-queue-disc.h"
#include "ns3/fifo-queue-disc.h"
#include "ns3/ipv4-queue-disc-item.h"
#include "ns3/log.h"
#include "ns3/simulator.h"

namespace linklab::sim {

namespace {
constexpr int kNumPrios = 8;
constexpr const char* kClassRemovedDrop = "HTB class removed by Configure";
}  // namespace

NS_OBJECT_ENSURE_REGISTERED(HtbQueueDisc);

ns3::TypeId HtbQueueDisc::GetTypeId() {
  static ns3::TypeId tid = ns3::TypeId("linklab::sim::HtbQueueDisc")
                               .SetParent<ns3::QueueDisc>()
                               .SetGroupName("TrafficControl")
                               .AddConstructor<HtbQueueDisc>();
  return tid;
}

HtbQueueDisc::HtbQueueDisc() : ns3::QueueDisc(ns3::QueueDiscSizePolicy::NO_LIMITS) {}

HtbQueueDisc::~HtbQueueDisc() = default;

void HtbQueueDisc::Configure(const HtbConfig& config) {
  config.Validate();
  if (configured_) Refill();  // bank the tokens earned under the old rates
  for (int c = 0; c < kNumAppClasses; ++c) {
    ClassState& s = classes_[c];
    const auto it =
        std::find_if(config.classes.begin(), config.classes.end(),
                     [c](const HtbClassConfig& cc) { return static_cast<int>(cc.app_class) == c; });
    if (it == config.classes.end()) {
      s.active = false;
      s.deficit = {};
      continue;
    }
    s.config = *it;
    s.burst = HtbBurstBytes(it->rate_bps);
    s.cburst = HtbBurstBytes(it->ceil_bps);
    s.quantum = HtbQuantumBytes(*it);
    // New classes start with full buckets; existing ones keep theirs, clamped to the new depth.
    s.tokens = s.active ? std::min(s.tokens, s.burst) : s.burst;
    s.ctokens = s.active ? std::min(s.ctokens, s.cburst) : s.cburst;
    s.active = true;
  }
  root_burst_ = HtbBurstBytes(config.link_rate_bps);
  root_tokens_ = configured_ ? std::min(root_tokens_, root_burst_) : root_burst_;
  config_ = config;
  configured_ = true;

  if (GetNQueueDiscClasses() != kNumAppClasses) return;  // not initialized yet
  for (int c = 0; c < kNumAppClasses; ++c) {
    Fifo(c)->SetMaxSize(ns3::QueueSize(ns3::QueueSizeUnit::PACKETS, config.class_queue_packets));
    while (!classes_[c].active && Fifo(c)->GetNPackets() > 0) {
      DropAfterDequeue(Fifo(c)->Dequeue(), kClassRemovedDrop);
      ++classes_[c].stats.dropped_packets;
    }
  }
  // Packets waiting for the timer may be allowed to go now.
  if (watchdog_.IsRunning()) {
    watchdog_.Cancel();
    Run();
  }
}

HtbQueueDisc::ClassStats HtbQueueDisc::GetClassStats(AppClass c) const {
  const int i = static_cast<int>(c);
  ClassStats out = classes_[i].stats;
  if (GetNQueueDiscClasses() == kNumAppClasses) {
    out.backlog_packets = Fifo(i)->GetNPackets();
    out.backlog_bytes = Fifo(i)->GetNBytes();
  }
  return out;
}

ns3::Ptr<ns3::QueueDisc> HtbQueueDisc::Fifo(int c) const {
  return GetQueueDiscClass(c)->GetQueueDisc();
}

int HtbQueueDisc::ClassIndexOf(ns3::Ptr<const ns3::QueueDiscItem> item) const {
  AppClass c = config_.default_class;
  if (auto ip = ns3::DynamicCast<const ns3::Ipv4QueueDiscItem>(item)) {
    const AppClass marked = ClassOfDscp(ip->GetHeader().GetTos() >> 2);
    if (classes_[static_cast<int>(marked)].active) c = marked;
  }
  return static_cast<int>(c);
}

bool HtbQueueDisc::DoEnqueue(ns3::Ptr<ns3::QueueDiscItem> item) {
  const int c = ClassIndexOf(item);
  ClassStats& stats = classes_[c].stats;
  const uint32_t size = item->GetSize();
  // A full FIFO drops the packet itself, through this queue disc's drop statistics and traces.
  if (!Fifo(c)->Enqueue(item)) {
    ++stats.dropped_packets;
    return false;
  }
  ++stats.enqueued_packets;
  stats.enqueued_bytes += size;
  return true;
}

void HtbQueueDisc::Refill() {
  const ns3::Time now = ns3::Simulator::Now();
  const double dt_s = (now - last_refill_).GetSeconds();
  last_refill_ = now;
  if (dt_s <= 0) return;
  for (ClassState& s : classes_) {
    if (!s.active) continue;
    s.tokens = std::min(s.burst, s.tokens + s.config.rate_bps / 8.0 * dt_s);
    s.ctokens = std::min(s.cburst, s.ctokens + s.config.ceil_bps / 8.0 * dt_s);
  }
  root_tokens_ = std::min(root_burst_, root_tokens_ + config_.link_rate_bps / 8.0 * dt_s);
}

uint32_t HtbQueueDisc::SendableSize(int c, bool borrowing) {
  const ClassState& s = classes_[c];
  if (!s.active) return 0;
  ns3::Ptr<const ns3::QueueDiscItem> head = Fifo(c)->Peek();
  if (!head) return 0;
  const uint32_t size = head->GetSize();
  const bool ok = borrowing ? s.ctokens >= size && root_tokens_ >= size : s.tokens >= size;
  return ok ? size : 0;
}

int HtbQueueDisc::Pick(bool borrowing) {
  for (int prio = 0; prio < kNumPrios; ++prio) {
    bool any = false;
    for (int c = 0; c < kNumAppClasses; ++c) {
      any = any || (classes_[c].config.prio == prio && SendableSize(c, borrowing) > 0);
    }
    if (!any) continue;
    // Deficit round robin: the class whose turn it is sends while its deficit covers its head
    // packet; otherwise it earns a quantum and the turn passes on.
    const int round = borrowing ? 1 : 0;
    for (int& c = turn_[round][prio];; c = (c + 1) % kNumAppClasses) {
      if (classes_[c].config.prio != prio) continue;
      const uint32_t size = SendableSize(c, borrowing);
      if (size == 0) continue;
      if (classes_[c].deficit[round] >= size) return c;
      classes_[c].deficit[round] += classes_[c].quantum;
    }
  }
  return -1;
}

ns3::Ptr<ns3::QueueDiscItem> HtbQueueDisc::DoDequeue() {
  Refill();
  bool borrowing = false;
  int c = Pick(borrowing);
  if (c < 0) {
    borrowing = true;
    c = Pick(borrowing);
  }
  if (c < 0) {
    ScheduleWakeUp();
    return nullptr;
  }
  ns3::Ptr<ns3::QueueDiscItem> item = Fifo(c)->Dequeue();
  const uint32_t size = item->GetSize();
  // Charge the class's buckets and the root's (as Linux charges every ancestor). Bytes sent on
  // borrowed bandwidth do not come out of the class's own rate bucket: Linux charges the rate
  // tokens only of the classes at or above the level that lent, so borrowing never leaves a
  // debt against the class's guaranteed rate.
  ClassState& s = classes_[c];
  if (!borrowing) s.tokens -= size;
  s.ctokens -= size;
  root_tokens_ -= size;
  if (Fifo(c)->GetNPackets() > 0) {
    s.deficit[borrowing ? 1 : 0] -= size;
  } else {
    s.deficit = {};  // an emptied class starts its next turns afresh
  }
  ++s.stats.sent_packets;
  s.stats.sent_bytes += size;
  if (borrowing) s.stats.borrowed_bytes += size;
  return item;
}

void HtbQueueDisc::ScheduleWakeUp() {
  // The earliest time a backlogged class may send: when its rate bucket holds its head packet,
  // or when both its ceil bucket and the root's do.
  double wait_s = std::numeric_limits<double>::infinity();
  for (int c = 0; c < kNumAppClasses; ++c) {
    const ClassState& s = classes_[c];
    if (!s.active) continue;
    ns3::Ptr<const ns3::QueueDiscItem> head = Fifo(c)->Peek();
    if (!head) continue;
    const double size = head->GetSize();
    const double own_s = (size - s.tokens) / (s.config.rate_bps / 8.0);
    const double borrow_s = std::max((size - s.ctokens) / (s.config.ceil_bps / 8.0),
                                     (size - root_tokens_) / (config_.link_rate_bps / 8.0));
    wait_s = std::min(wait_s, std::max(0.0, std::min(own_s, borrow_s)));
  }
  if (!std::isfinite(wait_s)) return;
  // At least a nanosecond, so that time (and the tokens) have moved on when the timer fires.
  const ns3::Time delay = std::max(ns3::Seconds(wait_s), ns3::NanoSeconds(1));
  if (watchdog_.IsRunning()) {
    if (ns3::Simulator::GetDelayLeft(watchdog_) <= delay) return;
    watchdog_.Cancel();
  }
  watchdog_ = ns3::Simulator::Schedule(delay, &QueueDisc::Run, this);
}

bool HtbQueueDisc::CheckConfig() {
  if (!configured_) {
    NS_LOG_UNCOND("HtbQueueDisc: Configure() must be called before the queue disc starts");
    return false;
  }
  if (GetNInternalQueues() > 0 || GetNPacketFilters() > 0) {
    NS_LOG_UNCOND("HtbQueueDisc: takes no internal queues or packet filters");
    return false;
  }
  if (GetNQueueDiscClasses() == 0) {
    // One leaf per application class (a FIFO or CoDel), the only children this queue disc
    // uses.
    for (int c = 0; c < kNumAppClasses; ++c) {
      ns3::Ptr<ns3::QueueDisc> leaf;
      if (codel_leaves_) {
        leaf = ns3::CreateObject<ns3::CoDelQueueDisc>();
      } else {
        leaf = ns3::CreateObject<ns3::FifoQueueDisc>();
      }
      leaf->SetMaxSize(ns3::QueueSize(ns3::QueueSizeUnit::PACKETS, config_.class_queue_packets));
      ns3::Ptr<ns3::QueueDiscClass> qd_class = ns3::CreateObject<ns3::QueueDiscClass>();
      qd_class->SetQueueDisc(leaf);
      AddQueueDiscClass(qd_class);
    }
  }
  if (GetNQueueDiscClasses() != kNumAppClasses) {
    NS_LOG_UNCOND("HtbQueueDisc: takes no queue disc classes but its own");
    return false;
  }
  return true;
}

void HtbQueueDisc::InitializeParams() { last_refill_ = ns3::Simulator::Now(); }

void HtbQueueDisc::DoDispose() {
  watchdog_.Cancel();
  ns3::QueueDisc::DoDispose();
}

}  // namespace linklab::sim
