#pragma once
// A small C++ face of libnl-route-3 (Debian's libnl-route-3-dev): the link, qdisc, HTB class
// and u32 filter operations linklab-live needs, and their statistics. libnl stays inside
// netlink.cc. Every failure throws std::runtime_error naming the operation, the device and
// libnl's reason; a missing permission says so ("run as root or with CAP_NET_ADMIN").

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

struct nl_sock;  // libnl's

namespace linklab::live {

// tc handles "major:minor" as the kernel stores them.
constexpr uint32_t TcHandle(uint32_t major, uint32_t minor) { return (major << 16) | minor; }
constexpr uint32_t kTcRoot = 0xFFFFFFFFu;     // TC_H_ROOT
constexpr uint32_t kTcIngress = 0xFFFFFFF1u;  // TC_H_INGRESS
std::string TcHandleText(uint32_t handle);    // "4c4c:10", "root", "ingress"

struct LinkCounters {
  uint64_t rx_bytes = 0, rx_packets = 0, rx_dropped = 0;
  uint64_t tx_bytes = 0, tx_packets = 0, tx_dropped = 0;
  bool up = false;
};

struct QdiscInfo {
  std::string kind;
  uint32_t handle = 0, parent = 0;
};

// Counters of a qdisc or class (tc -s): cumulative bytes and packets sent, drops; the queue
// now.
struct TcCounters {
  uint64_t bytes = 0, packets = 0, drops = 0, overlimits = 0;
  uint64_t qlen = 0, backlog_bytes = 0;
};

struct HtbClassParams {
  uint64_t rate_bps = 0, ceil_bps = 0;   // bit/s
  uint32_t prio = 0, quantum_bytes = 0;  // quantum 0: the kernel's rate / r2q
  uint32_t burst_bytes = 0, cburst_bytes = 0;
};

// One u32 key: `value` under `mask` at byte `offset` of the network header (4-byte aligned
// words, as u32 matches them).
struct U32Key {
  uint32_t value = 0, mask = 0;
  int offset = 0;
};
struct U32Filter {
  uint32_t parent = 0;       // the qdisc the filter hangs on
  uint16_t prio = 1;         // order among filters (lower first)
  bool ipv6 = false;         // ETH_P_IPV6 instead of ETH_P_IP
  std::vector<U32Key> keys;  // all must match (none: every packet)
  uint32_t classid = 0;      // the class it sends packets to (0: none)
  int redirect_ifindex = 0;  // > 0: mirred egress redirect to this device (and stolen)
};

// The kernel does not know a qdisc kind (not built, module not loadable).
class QdiscUnsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The kernel lacks the leaf qdisc asked for (fq_codel, say).
class LeafUnsupported : public QdiscUnsupported {
 public:
  using QdiscUnsupported::QdiscUnsupported;
};

class Netlink {
 public:
  Netlink();  // a NETLINK_ROUTE socket
  ~Netlink();
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;

  // The device's index, 0 when there is none.
  int IfIndex(const std::string& name);
  LinkCounters ReadLink(const std::string& name);

  std::vector<QdiscInfo> Qdiscs(int ifindex);
  // Every class of the device by handle.
  std::map<uint32_t, TcCounters> ClassCounters(int ifindex);
  // `default_minor`: the minor of the class unclassified packets go to.
  void AddHtbRoot(int ifindex, uint32_t handle, uint32_t default_minor, uint32_t r2q);
  // Adds (create) or changes a class of an HTB qdisc.
  void SetHtbClass(int ifindex, uint32_t parent, uint32_t handle, const HtbClassParams& p,
                   bool create);
  // A leaf qdisc under a class: "pfifo" or "fq_codel", `limit` packets. Throws
  // LeafUnsupported when the kernel lacks the kind.
  void AddLeaf(int ifindex, uint32_t parent, uint32_t handle, const std::string& kind,
               uint32_t limit);
  void AddIngressQdisc(int ifindex);
  void AddU32(int ifindex, const U32Filter& f);
  // Deletes the qdisc (and everything under it); quiet when it is not there.
  void DeleteQdisc(int ifindex, uint32_t parent, uint32_t handle);

  // Creates an ifb device named `name`, sets it up and returns its index.
  int AddIfb(const std::string& name);
  // Deletes device `name`; quiet when it is not there.
  void DeleteLink(const std::string& name);

 private:
  ::nl_sock* sock_ = nullptr;
  std::string Name(int ifindex);
};

}  // namespace linklab::live
