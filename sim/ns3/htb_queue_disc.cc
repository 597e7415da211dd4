#include "sim/ns3/htb_queue_disc.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "ns3/fifo-queue-disc.h"
#include "ns3/ipv4-queue-disc-item.h"
#include "ns3/log.h"
#include "ns3/simulator.h"

namespace linklab::sim {

namespace {
constexpr double kMtuBytes = 1600.0;   // the MTU term of Linux's default burst
constexpr double kBurstTimeS = 0.001;  // ... plus one timer tick of rate (1 ms)
constexpr double kR2q = 10.0;          // quantum = rate (bytes/s) / r2q
constexpr double kMinQuantum = 1000.0, kMaxQuantum = 200000.0;
}  // namespace

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
  if (configured_) Refill();
  for (int c = 0; c < kNumAppClasses; ++c) {
    ClassState& s = classes_[c];
    const bool was_active = s.active;
    s.active = false;
    for (const HtbClassConfig& cc : config.classes) {
      if (static_cast<int>(cc.app_class) != c) continue;
      s.active = true;
      s.config = cc;
      s.burst = cc.rate_bps / 8.0 * kBurstTimeS + kMtuBytes;
      s.cburst = cc.ceil_bps / 8.0 * kBurstTimeS + kMtuBytes;
      s.quantum = std::clamp(cc.rate_bps / 8.0 / kR2q, kMinQuantum, kMaxQuantum);
      // New classes start with full buckets; existing ones keep theirs, clamped.
      s.tokens = was_active ? std::min(s.tokens, s.burst) : s.burst;
      s.ctokens = was_active ? std::min(s.ctokens, s.cburst) : s.cburst;
    }
    if (!s.active) s.deficit = 0.0;
  }
  root_burst_ = config.link_rate_bps / 8.0 * kBurstTimeS + kMtuBytes;
  root_tokens_ = configured_ ? std::min(root_tokens_, root_burst_) : root_burst_;
  config_ = config;
  configured_ = true;
  if (GetNQueueDiscClasses() == kNumAppClasses) {
    for (int c = 0; c < kNumAppClasses; ++c) {
      ns3::Ptr<ns3::QueueDisc> child = GetQueueDiscClass(c)->GetQueueDisc();
      child->SetMaxSize(ns3::QueueSize(ns3::QueueSizeUnit::PACKETS, config.class_queue_packets));
      // Packets of a class that is no longer configured are dropped.
      while (!classes_[c].active && child->GetNPackets() > 0) {
        ns3::Ptr<ns3::QueueDiscItem> item = child->Dequeue();
        DropAfterDequeue(item, "class removed");
      }
    }
    // New rates may let a waiting packet go now.
    if (watchdog_.IsRunning()) {
      watchdog_.Cancel();
      Run();
    }
  }
}

HtbQueueDisc::ClassStats HtbQueueDisc::GetClassStats(AppClass c) const {
  ClassStats out;
  const int i = static_cast<int>(c);
  if (GetNQueueDiscClasses() != kNumAppClasses) return out;
  ns3::Ptr<ns3::QueueDisc> child = GetQueueDiscClass(i)->GetQueueDisc();
  const ns3::QueueDisc::Stats& st = child->GetStats();
  out.enqueued_packets = st.nTotalEnqueuedPackets;
  out.enqueued_bytes = st.nTotalEnqueuedBytes;
  out.sent_packets = st.nTotalDequeuedPackets;
  out.sent_bytes = st.nTotalDequeuedBytes;
  out.dropped_packets = st.nTotalDroppedPackets;
  out.backlog_packets = child->GetNPackets();
  out.backlog_bytes = child->GetNBytes();
  out.borrowed_bytes = classes_[i].borrowed_bytes;
  return out;
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
  // A full class queue drops in the child, which reports to this queue disc's drop traces.
  return GetQueueDiscClass(ClassIndexOf(item))->GetQueueDisc()->Enqueue(item);
}

void HtbQueueDisc::Refill() {
  const ns3::Time now = ns3::Simulator::Now();
  const double dt = (now - last_refill_).GetSeconds();
  last_refill_ = now;
  if (dt <= 0) return;
  for (ClassState& s : classes_) {
    if (!s.active) continue;
    s.tokens = std::min(s.burst, s.tokens + s.config.rate_bps / 8.0 * dt);
    s.ctokens = std::min(s.cburst, s.ctokens + s.config.ceil_bps / 8.0 * dt);
  }
  root_tokens_ = std::min(root_burst_, root_tokens_ + config_.link_rate_bps / 8.0 * dt);
}

int HtbQueueDisc::Pick(bool borrowing) {
  for (int prio = 0; prio < 8; ++prio) {
    // Classes of this prio that may send their head packet now.
    std::array<int, kNumAppClasses> ready;
    int n = 0;
    for (int c = 0; c < kNumAppClasses; ++c) {
      const ClassState& s = classes_[c];
      if (!s.active || s.config.prio != prio) continue;
      ns3::Ptr<const ns3::QueueDiscItem> head = GetQueueDiscClass(c)->GetQueueDisc()->Peek();
      if (!head) continue;
      const double size = head->GetSize();
      const bool ok = borrowing ? s.ctokens >= size && root_tokens_ >= size : s.tokens >= size;
      if (ok) ready[n++] = c;
    }
    if (n == 0) continue;
    if (n == 1) return ready[0];
    // Deficit round robin among them, from where the last turn stopped.
    for (;;) {
      for (int k = 0; k < n; ++k) {
        const int c = ready[(next_in_prio_[prio] + k) % n];
        ClassState& s = classes_[c];
        const double size = GetQueueDiscClass(c)->GetQueueDisc()->Peek()->GetSize();
        if (s.deficit >= size) {
          next_in_prio_[prio] = (next_in_prio_[prio] + k) % n;
          return c;
        }
        s.deficit += s.quantum;
      }
    }
  }
  return -1;
}

ns3::Ptr<ns3::QueueDiscItem> HtbQueueDisc::DoDequeue() {
  if (!configured_) return nullptr;
  Refill();
  bool borrowing = false;
  int c = Pick(false);
  if (c < 0) {
    c = Pick(true);
    borrowing = true;
  }
  if (c < 0) {
    ScheduleWakeUp();
    return nullptr;
  }
  ClassState& s = classes_[c];
  ns3::Ptr<ns3::QueueDiscItem> item = GetQueueDiscClass(c)->GetQueueDisc()->Dequeue();
  const double size = item->GetSize();
  s.tokens -= size;
  s.ctokens -= size;
  root_tokens_ -= size;
  s.deficit = std::max(0.0, s.deficit - size);
  if (GetQueueDiscClass(c)->GetQueueDisc()->GetNPackets() == 0) s.deficit = 0.0;
  if (borrowing) s.borrowed_bytes += static_cast<uint64_t>(size);
  return item;
}

void HtbQueueDisc::ScheduleWakeUp() {
  double wait = std::numeric_limits<double>::infinity();
  for (int c = 0; c < kNumAppClasses; ++c) {
    const ClassState& s = classes_[c];
    if (!s.active) continue;
    ns3::Ptr<const ns3::QueueDiscItem> head = GetQueueDiscClass(c)->GetQueueDisc()->Peek();
    if (!head) continue;
    const double size = head->GetSize();
    const double own = (size - s.tokens) / (s.config.rate_bps / 8.0);
    const double borrow = std::max((size - s.ctokens) / (s.config.ceil_bps / 8.0),
                                   (size - root_tokens_) / (config_.link_rate_bps / 8.0));
    wait = std::min(wait, std::max(0.0, std::min(own, borrow)));
  }
  if (!std::isfinite(wait)) return;
  // At least a nanosecond later, so that the tokens have grown when the timer fires.
  const ns3::Time delay = std::max(ns3::Seconds(wait), ns3::NanoSeconds(1));
  if (watchdog_.IsRunning()) {
    if (ns3::Simulator::GetDelayLeft(watchdog_) <= delay) return;
    watchdog_.Cancel();
  }
  watchdog_ = ns3::Simulator::Schedule(delay, &QueueDisc::Run, this);
}

bool HtbQueueDisc::CheckConfig() {
  if (GetNInternalQueues() > 0 || GetNPacketFilters() > 0) return false;
  if (GetNQueueDiscClasses() == 0) {
    for (int c = 0; c < kNumAppClasses; ++c) {
      ns3::Ptr<ns3::FifoQueueDisc> fifo = ns3::CreateObject<ns3::FifoQueueDisc>();
      fifo->SetMaxSize(ns3::QueueSize(ns3::QueueSizeUnit::PACKETS,
                                      configured_ ? config_.class_queue_packets : 1000));
      ns3::Ptr<ns3::QueueDiscClass> qdc = ns3::CreateObject<ns3::QueueDiscClass>();
      qdc->SetQueueDisc(fifo);
      AddQueueDiscClass(qdc);
    }
  }
  return GetNQueueDiscClasses() == kNumAppClasses && configured_;
}

void HtbQueueDisc::InitializeParams() { last_refill_ = ns3::Simulator::Now(); }

void HtbQueueDisc::DoDispose() {
  watchdog_.Cancel();
  ns3::QueueDisc::DoDispose();
}

}  // namespace linklab::sim
