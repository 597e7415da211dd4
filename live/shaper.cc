#include "live/shaper.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/files.h"
#include "core/text.h"

namespace linklab::live {

namespace fs = std::filesystem;

namespace {

constexpr uint32_t kRootClassMinor = 1;
constexpr uint32_t kR2q = 10;

std::string IfbName(int ifindex) { return "llifb" + std::to_string(ifindex); }

// This network namespace's id (the inode of /proc/self/ns/net): interface names repeat
// across namespaces, state files must not.
std::string NetnsId() {
  struct stat st {};
  if (stat("/proc/self/ns/net", &st) != 0) return "0";
  return std::to_string(static_cast<unsigned long long>(st.st_ino));
}

std::string StateFile(const std::string& dir, const std::string& iface, Direction d) {
  return dir + "/" + NetnsId() + "-" + iface + "-" + DirectionName(d);
}

// key=value lines of a state file.
std::map<std::string, std::string> ReadState(const std::string& path) {
  std::map<std::string, std::string> kv;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

// Whether process `pid` runs linklab-live.
bool LiveRunnerAlive(long pid) {
  if (pid <= 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM)) return false;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return core::StartsWith(name, "linklab-live");
}

HtbClassParams Params(double rate_bps, double ceil_bps, int prio, double quantum) {
  HtbClassParams p;
  p.rate_bps = static_cast<uint64_t>(std::llround(rate_bps));
  p.ceil_bps = static_cast<uint64_t>(std::llround(ceil_bps));
  p.prio = static_cast<uint32_t>(prio);
  p.quantum_bytes = static_cast<uint32_t>(std::llround(quantum));
  p.burst_bytes = static_cast<uint32_t>(std::llround(sim::HtbBurstBytes(rate_bps)));
  p.cburst_bytes = static_cast<uint32_t>(std::llround(sim::HtbBurstBytes(ceil_bps)));
  return p;
}

// u32 keys of one match, for IPv4 or IPv6 (words of the network header, host order; a
// transport header right after a 20-byte IPv4 or the 40-byte IPv6 header: packets with IPv4
// options or IPv6 extension headers fall into the default class). Each inner list is one
// filter whose keys must all match.
std::vector<std::vector<U32Key>> Keys(const sim::PacketMatch& m, bool ipv6) {
  const auto v = static_cast<uint32_t>(m.value);
  auto proto = [ipv6](uint32_t p) {
    return ipv6 ? U32Key{p << 8, 0xFF00u, 4} : U32Key{p << 16, 0xFFu << 16, 8};
  };
  switch (m.kind) {
    case sim::PacketMatch::Kind::kDscp:
      return {{ipv6 ? U32Key{v << 22, 0x3Fu << 22, 0} : U32Key{v << 18, 0xFCu << 16, 0}}};
    case sim::PacketMatch::Kind::kProto:
      return {{proto(ipv6 && v == 1 ? 58 : v)}};  // proto:icmp is ICMPv6 over IPv6
    case sim::PacketMatch::Kind::kPort: {
      // Source or destination port of TCP or UDP: four filters.
      const int off = ipv6 ? 40 : 20;
      std::vector<std::vector<U32Key>> out;
      for (uint32_t p : {6u, 17u}) {
        out.push_back({proto(p), U32Key{v << 16, 0xFFFF0000u, off}});
        out.push_back({proto(p), U32Key{v, 0xFFFFu, off}});
      }
      return out;
    }
  }
  return {};
}

}  // namespace

const char* DirectionName(Direction d) { return d == Direction::kEgress ? "egress" : "ingress"; }

uint32_t TcShaper::ClassHandle(sim::AppClass c) {
  return TcHandle(kHtbMajor, 0x10 + static_cast<uint32_t>(c));
}

std::vector<std::string> TcShaper::RemoveLeftovers(Netlink& nl, const std::string& iface,
                                                   const std::string& state_dir) {
  std::vector<std::string> removed;
  const int ifindex = nl.IfIndex(iface);
  bool ours[2] = {false, false};  // a direction this run shapes already
  for (Direction d : {Direction::kEgress, Direction::kIngress}) {
    const std::string path = StateFile(state_dir, iface, d);
    if (!fs::exists(path)) continue;
    const auto kv = ReadState(path);
    const long pid = kv.count("pid") ? std::strtol(kv.at("pid").c_str(), nullptr, 10) : 0;
    if (pid == getpid()) {  // another shaping point of this run
      ours[static_cast<int>(d)] = true;
      continue;
    }
    if (LiveRunnerAlive(pid)) {
      throw std::runtime_error("--iface " + iface + ": linklab-live (pid " + std::to_string(pid) +
                               ") shapes its " + DirectionName(d) + " already (state file " + path +
                               ")");
    }
    if (ifindex > 0 && d == Direction::kEgress) {
      for (const QdiscInfo& q : nl.Qdiscs(ifindex)) {
        if (q.parent == kTcRoot && (q.handle >> 16) == kHtbMajor) {
          nl.DeleteQdisc(ifindex, kTcRoot, q.handle);
          removed.push_back("the htb root of a run that died (pid " + std::to_string(pid) +
                            ") on " + iface);
        }
      }
    }
    if (d == Direction::kIngress) {
      if (ifindex > 0 && kv.count("ingress") && kv.at("ingress") == "ours") {
        nl.DeleteQdisc(ifindex, kTcIngress, TcHandle(0xFFFF, 0));
        removed.push_back("the ingress qdisc of a run that died (pid " + std::to_string(pid) +
                          ") on " + iface);
      }
      if (kv.count("ifb") && nl.IfIndex(kv.at("ifb")) > 0) {
        nl.DeleteLink(kv.at("ifb"));
        removed.push_back("ifb device " + kv.at("ifb") + " of a run that died");
      }
    }
    fs::remove(path);
  }
  // Leftovers without a state file (its folder was cleared): our handle says whose they are.
  if (ifindex > 0 && !ours[static_cast<int>(Direction::kEgress)]) {
    for (const QdiscInfo& q : nl.Qdiscs(ifindex)) {
      if (q.parent == kTcRoot && (q.handle >> 16) == kHtbMajor) {
        nl.DeleteQdisc(ifindex, kTcRoot, q.handle);
        removed.push_back("an htb root " + TcHandleText(q.handle) + " left on " + iface);
      }
    }
  }
  if (ifindex > 0 && !ours[static_cast<int>(Direction::kIngress)]) {
    if (nl.IfIndex(IfbName(ifindex)) > 0) {
      nl.DeleteQdisc(ifindex, kTcIngress, TcHandle(0xFFFF, 0));
      nl.DeleteLink(IfbName(ifindex));
      removed.push_back("ifb device " + IfbName(ifindex) + " and the ingress qdisc of " + iface);
    }
  }
  return removed;
}

TcShaper::TcShaper(Netlink& nl, std::string iface, Direction direction, sim::ShapingFile classes,
                   std::string leaf, std::string state_dir)
    : nl_(nl),
      iface_(std::move(iface)),
      direction_(direction),
      classes_(std::move(classes)),
      leaf_(std::move(leaf)),
      state_dir_(std::move(state_dir)) {
  ifindex_ = nl_.IfIndex(iface_);
  if (ifindex_ <= 0) throw std::invalid_argument("--iface " + iface_ + ": no such interface");
  if (iface_.size() > 15) throw std::invalid_argument("--iface " + iface_ + ": name too long");
  state_file_ = StateFile(state_dir_, iface_, direction_);
  for (const std::string& line : RemoveLeftovers(nl_, iface_, state_dir_)) {
    std::fprintf(stderr, "linklab-live: removed %s\n", line.c_str());
  }
  for (const QdiscInfo& q : nl_.Qdiscs(ifindex_)) {
    const bool root = q.parent == kTcRoot;
    const bool ingress = q.parent == kTcIngress || q.kind == "ingress" || q.kind == "clsact";
    if (direction_ == Direction::kEgress && root && (q.handle >> 16) != 0) {
      throw std::runtime_error("--iface " + iface_ + ": its root qdisc " + q.kind + " " +
                               TcHandleText(q.handle) +
                               " was configured by someone; linklab-live replaces only the "
                               "kernel's default (remove it: tc qdisc del dev " +
                               iface_ + " root)");
    }
    if (direction_ == Direction::kIngress && ingress) {
      throw std::runtime_error("--iface " + iface_ + ": it has an " + q.kind +
                               " qdisc already; linklab-live's ingress shaping needs its own "
                               "(remove it: tc qdisc del dev " +
                               iface_ + " " + q.kind + ")");
    }
  }
  shaped_dev_ = direction_ == Direction::kEgress ? iface_ : IfbName(ifindex_);
}

TcShaper::~TcShaper() { Restore(); }

void TcShaper::WriteState() {
  std::error_code ec;
  fs::create_directories(state_dir_, ec);
  std::ostringstream s;
  s << "pid=" << getpid() << "\niface=" << iface_ << "\ndirection=" << DirectionName(direction_)
    << "\n";
  if (direction_ == Direction::kIngress) s << "ifb=" << shaped_dev_ << "\ningress=ours\n";
  try {
    core::WriteFileAtomic(state_file_, s.str());
  } catch (const std::exception& e) {
    throw std::runtime_error("cannot write the state file that lets a later run undo this one: " +
                             std::string(e.what()));
  }
}

void TcShaper::AddFilters(int ifindex) {
  const uint32_t parent = TcHandle(kHtbMajor, 0);
  for (size_t i = 0; i < classes_.config.classes.size(); ++i) {
    const uint32_t classid = ClassHandle(classes_.config.classes[i].app_class);
    for (const sim::PacketMatch& m : classes_.matches[i]) {
      for (bool ipv6 : {false, true}) {
        for (const std::vector<U32Key>& keys : Keys(m, ipv6)) {
          U32Filter f;
          f.parent = parent;
          f.prio = ipv6 ? 2 : 1;
          f.ipv6 = ipv6;
          f.keys = keys;
          f.classid = classid;
          nl_.AddU32(ifindex, f);
        }
      }
    }
  }
}

void TcShaper::Install(const sim::HtbConfig& initial) {
  initial.Validate();
  WriteState();
  touched_ = true;
  try {
    if (direction_ == Direction::kIngress) {
      shaped_index_ = nl_.AddIfb(shaped_dev_);
    } else {
      shaped_index_ = ifindex_;
    }
    const uint32_t root = TcHandle(kHtbMajor, 0);
    const uint32_t total = TcHandle(kHtbMajor, kRootClassMinor);
    nl_.AddHtbRoot(shaped_index_, root, ClassHandle(initial.default_class) & 0xFFFF, kR2q);
    installed_ = true;
    nl_.SetHtbClass(shaped_index_, root, total,
                    Params(initial.link_rate_bps, initial.link_rate_bps, 0, 0), true);
    for (const sim::HtbClassConfig& c : initial.classes) {
      const uint32_t h = ClassHandle(c.app_class);
      nl_.SetHtbClass(shaped_index_, total, h,
                      Params(c.rate_bps, c.ceil_bps, c.prio, c.quantum_bytes), true);
      nl_.AddLeaf(shaped_index_, h, TcHandle(h & 0xFFFF, 0), leaf_,
                  static_cast<uint32_t>(initial.class_queue_packets));
    }
    AddFilters(shaped_index_);
    if (direction_ == Direction::kIngress) {
      nl_.AddIngressQdisc(ifindex_);
      for (bool ipv6 : {false, true}) {
        U32Filter f;
        f.parent = TcHandle(0xFFFF, 0);
        f.prio = ipv6 ? 2 : 1;
        f.ipv6 = ipv6;
        f.redirect_ifindex = shaped_index_;
        nl_.AddU32(ifindex_, f);
      }
    }
  } catch (...) {
    Restore();
    throw;
  }
  in_force_ = initial;
}

void TcShaper::Apply(const sim::HtbConfig& config) {
  if (!installed_) throw std::logic_error("TcShaper::Apply before Install");
  config.Validate();
  const uint32_t total = TcHandle(kHtbMajor, kRootClassMinor);
  if (config.link_rate_bps != in_force_.link_rate_bps) {
    nl_.SetHtbClass(shaped_index_, TcHandle(kHtbMajor, 0), total,
                    Params(config.link_rate_bps, config.link_rate_bps, 0, 0), false);
  }
  for (const sim::HtbClassConfig& c : config.classes) {
    const sim::HtbClassConfig* old = nullptr;
    for (const sim::HtbClassConfig& o : in_force_.classes) {
      if (o.app_class == c.app_class) old = &o;
    }
    if (!old) {
      throw std::invalid_argument(std::string("linklab-live: class ") +
                                  sim::AppClassName(c.app_class) + " is not in the classes file");
    }
    if (old->rate_bps == c.rate_bps && old->ceil_bps == c.ceil_bps && old->prio == c.prio &&
        old->quantum_bytes == c.quantum_bytes) {
      continue;
    }
    nl_.SetHtbClass(shaped_index_, total, ClassHandle(c.app_class),
                    Params(c.rate_bps, c.ceil_bps, c.prio, c.quantum_bytes), false);
  }
  in_force_.link_rate_bps = config.link_rate_bps;
  for (sim::HtbClassConfig& o : in_force_.classes) {
    for (const sim::HtbClassConfig& c : config.classes) {
      if (o.app_class == c.app_class) o = c;
    }
  }
}

bool TcShaper::Restore() noexcept {
  if (!touched_) return true;
  bool clean = true;
  auto attempt = [&](const char* what, auto&& op) {
    try {
      op();
    } catch (const std::exception& e) {
      clean = false;
      std::fprintf(stderr, "linklab-live: could not remove %s: %s\n", what, e.what());
    }
  };
  if (direction_ == Direction::kIngress) {
    attempt("the ingress qdisc",
            [&] { nl_.DeleteQdisc(ifindex_, kTcIngress, TcHandle(0xFFFF, 0)); });
    attempt("the ifb device", [&] { nl_.DeleteLink(shaped_dev_); });
  } else {
    attempt("the htb root", [&] { nl_.DeleteQdisc(ifindex_, kTcRoot, TcHandle(kHtbMajor, 0)); });
  }
  // The state file goes only once everything is gone: a later start retries what failed.
  if (clean) {
    std::error_code ec;
    fs::remove(state_file_, ec);
  }
  installed_ = false;
  touched_ = !clean;  // a later call retries
  return clean;
}

ShaperCounters TcShaper::Read() {
  ShaperCounters out;
  const std::map<uint32_t, TcCounters> all = nl_.ClassCounters(shaped_index_);
  const auto total = all.find(TcHandle(kHtbMajor, kRootClassMinor));
  if (total == all.end()) {
    throw TreeGone("tc: the htb tree on " + shaped_dev_ + " is gone (someone removed it)");
  }
  out.total = total->second;
  for (const sim::HtbClassConfig& c : in_force_.classes) {
    const auto it = all.find(ClassHandle(c.app_class));
    if (it == all.end()) {
      throw TreeGone(std::string("tc: class ") + sim::AppClassName(c.app_class) + " is gone from " +
                     shaped_dev_);
    }
    out.classes[c.app_class] = it->second;
  }
  return out;
}

}  // namespace linklab::live
