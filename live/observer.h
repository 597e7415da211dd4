#pragma once
// The live observer: turns what an interface gives (tc class counters of the shaping tree,
// link counters, the local TCP connections through INET_DIAG) into LinkSample records, one
// per application class and one "all" per interval, with only the [observable] fields set:
// the same records the sim's probes give the observation encoder.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "live/netlink.h"
#include "live/shaper.h"
#include "live/sockets.h"
#include "sim/link_sample.h"
#include "sim/shaping.h"

namespace linklab::live {

// The class a TCP connection belongs to under the classes file's matches (DSCP of its TOS,
// either port, proto:tcp), in the file's class order; the default class when none matches.
sim::AppClass ClassOfSocket(const sim::ShapingFile& classes, const TcpSocket& s);

// Fills the [truth] fields a data set's readers look for with what a live interface can
// stand in for them, for recordings and the predictor's inputs: capacity_mbps = the delivered
// rate (a lower bound of the capacity, equal while the link is saturated), delay_p50_ms and
// delay_p95_ms = half the RTT p50 and p95; the others stay NaN.
void SetLiveProxies(sim::LinkSample& s);

class Observer {
 public:
  // `link`: the name the samples carry; `direction`: which link counters count (rx for
  // ingress, tx for egress) in shadow mode.
  Observer(std::string link, sim::ShapingFile classes, Direction direction);

  // One interval's samples from the tree's counters, the classes of the tree in file order
  // then "all". Empty on the first call (no interval yet). `sockets` give the TCP RTTs; null:
  // not read this interval, the last read's RTTs hold.
  // `probe_rtts`: the RTT probe's replies in the interval (live/probe.h), samples of the class
  // ICMP belongs to (its proto:icmp match, else the default class).
  std::vector<sim::LinkSample> FromTree(const ShaperCounters& tree,
                                        const std::vector<TcpSocket>* sockets, double now_s,
                                        const std::vector<double>& probe_rtts = {});
  // The same without a tree of our own (shadow mode): each class's bytes from its TCP
  // connections, the default class the rest of the link's; no backlog or drops per class.
  std::vector<sim::LinkSample> FromLink(const LinkCounters& link,
                                        const std::vector<TcpSocket>& sockets, double now_s,
                                        const std::vector<double>& probe_rtts = {});

 private:
  sim::LinkSample Base(const std::string& app_class, double now_s) const;
  // Each class's RTT p50 and p95: its connections that moved data between the last two reads
  // of `sockets` (held while null) and the probe's replies.
  void SetRtt(std::vector<sim::LinkSample>& out, const std::vector<TcpSocket>* sockets,
              const std::vector<double>& probe_rtts);

  std::string link_;
  sim::ShapingFile classes_;
  Direction direction_;
  sim::AppClass icmp_class_;  // the class ICMP echoes belong to
  std::optional<double> last_s_;
  std::optional<ShaperCounters> last_tree_;
  std::optional<LinkCounters> last_link_;
  std::map<uint64_t, uint64_t> socket_bytes_;            // per connection, at the last call
  std::map<uint64_t, uint64_t> rtt_moved_;               // bytes sent + received, at the last read
  std::map<std::string, std::vector<double>> tcp_rtts_;  // per class, from the last read
};

}  // namespace linklab::live
