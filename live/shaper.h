#pragma once
// The tc actuator of linklab-live: installs an HTB hierarchy for the classes file on one
// shaping point and changes its classes as decisions come, over netlink.
//
//   egress   the interface's root:  htb 4c4c: -> class 4c4c:1 (the total) -> one class
//            4c4c:<10 + class index> per application class -> a leaf (pfifo, or fq_codel where
//            the kernel has it and it is asked for); u32 filters by port, DSCP or protocol
//            (IPv4 and IPv6) send packets to their class, the rest to the default class
//   ingress  the same tree on an ifb device (llifb<ifindex>); the interface's ingress qdisc
//            redirects every IP packet to it (u32 match-all + mirred), as cake-autorate does
//
// The interface is left as it was found: before touching anything the shaper writes a state
// file (/run/linklab-live/<netns>-<iface>-<direction>), Restore() deletes everything it made
// and the file; a later start finds the file of a run that died (SIGKILL) and removes its
// leftovers first. It refuses an interface whose root (egress) or ingress qdisc somebody
// configured, since it could not put that back.

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "live/netlink.h"
#include "sim/shaping.h"

namespace linklab::live {

enum class Direction { kEgress, kIngress };
const char* DirectionName(Direction d);  // "egress", "ingress"

constexpr uint32_t kHtbMajor = 0x4c4c;  // our qdiscs' handle ("LL")

// Counters of the tree: the root class (the total) and each application class.
struct ShaperCounters {
  TcCounters total;
  std::map<sim::AppClass, TcCounters> classes;
};

// The shaping tree is no longer on the device (someone removed it).
class TreeGone : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class TcShaper {
 public:
  // Checks the interface (std::invalid_argument "--iface X: no such interface" when missing),
  // removes leftovers of a dead run, and refuses (std::runtime_error) a configured root or
  // ingress qdisc or a live run on the same point. Touches nothing else.
  TcShaper(Netlink& nl, std::string iface, Direction direction, sim::ShapingFile classes,
           std::string leaf = "pfifo", std::string state_dir = "/run/linklab-live");
  ~TcShaper();  // Restore()
  TcShaper(const TcShaper&) = delete;
  TcShaper& operator=(const TcShaper&) = delete;

  // Installs the tree with `initial` in force; on a failure removes what it made and throws.
  void Install(const sim::HtbConfig& initial);
  // Changes the classes (only what differs from what is in force). `config` must have the
  // classes the tree was installed with.
  void Apply(const sim::HtbConfig& config);
  // Deletes everything Install made and the state file; never throws (says on stderr what
  // it could not remove, keeps the state file then and returns false). Safe to call twice.
  bool Restore() noexcept;
  // Throws TreeGone when the tree or a class was removed behind our back, std::runtime_error
  // for a failed read.
  ShaperCounters Read();

  bool installed() const { return installed_; }
  const std::string& iface() const { return iface_; }
  Direction direction() const { return direction_; }
  const std::string& shaped_device() const { return shaped_dev_; }  // iface or the ifb
  const std::string& leaf() const { return leaf_; }
  const sim::HtbConfig& in_force() const { return in_force_; }

  // The class handle of application class `c`.
  static uint32_t ClassHandle(sim::AppClass c);
  // Removes the leftovers of dead runs on `iface` in this network namespace (both
  // directions); returns what it removed, one line each. Throws when a live run holds it.
  static std::vector<std::string> RemoveLeftovers(Netlink& nl, const std::string& iface,
                                                  const std::string& state_dir);

 private:
  void WriteState();
  void AddFilters(int ifindex);

  Netlink& nl_;
  std::string iface_;
  Direction direction_;
  sim::ShapingFile classes_;
  std::string leaf_, state_dir_, state_file_;
  std::string shaped_dev_;
  int ifindex_ = 0, shaped_index_ = 0;
  bool installed_ = false, touched_ = false;
  sim::HtbConfig in_force_;
};

}  // namespace linklab::live
