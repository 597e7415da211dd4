#pragma once
// Shaping commands with Linux HTB semantics (DESIGN.md contract 4): one class per application
// class with a guaranteed rate, a ceiling it may borrow up to, and a priority (0 first). The
// sim applies them to its HTB queue disc; the live runner applies them with tc.

#include <string>
#include <vector>

#include "sim/app_class.h"

namespace linklab::sim {

struct HtbClassConfig {
  AppClass app_class = AppClass::kOther;
  double rate_bps = 1e6;  // guaranteed rate
  double ceil_bps = 1e6;  // may borrow up to this (>= rate); ceil == rate: no borrowing
  int prio = 0;           // 0..7, lower is served (and lends) first
  // Bytes per deficit-round-robin turn among classes of one prio, and so each class's share of
  // what the root lends; 0: Linux's default, rate / r2q (10) clamped to 1000..200000 bytes.
  double quantum_bytes = 0.0;
};

// The quantum `c` uses (its own, or Linux's default from its rate).
double HtbQuantumBytes(const HtbClassConfig& c);
// A token bucket's depth (bytes) for `rate_bps`: one millisecond at the rate plus one MTU
// (1600 bytes), tc's default burst with a 1 ms timer. The sim's HTB uses it for every class's
// burst (rate) and cburst (ceil); the kernel check passes the same to tc.
double HtbBurstBytes(double rate_bps);

struct HtbConfig {
  double link_rate_bps = 10e6;  // the root class: total rate shared by the children
  std::vector<HtbClassConfig> classes;
  AppClass default_class = AppClass::kOther;  // where unclassified packets go
  int class_queue_packets = 1000;             // each class's FIFO limit
  // Throws std::invalid_argument naming the offending class and value (rate <= 0, ceil < rate,
  // prio outside 0..7, a class twice, no class for the default).
  void Validate() const;
};

// A shaping file: the HTB config of one shaping point, as `linklab simulate --shaping` and the
// live runner read it. INI, one section per application class:
//
//   [shaping]
//   point = down          ; the scenario's shaping point (down, up, hosts)
//   link_mbps = 8         ; the root's rate
//   default = other       ; the class of unclassified packets (needs a section)
//   queue_packets = 1000  ; each class's queue limit
//   [bulk]
//   rate_mbps = 2         ; guaranteed
//   ceil_mbps = 8         ; may borrow up to (default: the rate, no borrowing)
//   prio = 1              ; 0..7, 0 first
//   quantum = 0           ; bytes; 0: rate / 10, clamped to 1000..200000
//   match = port:5201, dscp:8, proto:icmp
//                         ; the packets the class takes on a real interface (the live
//                         ; runner's u32 filters); default: dscp:<the class's mark>
//                         ; (sim/app_class.h). The sim classifies by DSCP and ignores it.
//
// Throws std::invalid_argument naming file:line, section, key and value (also for a match
// two classes share: filters must not overlap).
struct PacketMatch {
  enum class Kind { kDscp, kPort, kProto };
  Kind kind = Kind::kDscp;
  int value = 0;  // DSCP 0..63; port 1..65535 (source or destination); IP protocol number
  std::string Text() const;  // "dscp:46", "port:5201", "proto:icmp"
  bool operator==(const PacketMatch& o) const { return kind == o.kind && value == o.value; }
};
// Parses one "kind:value" (proto: icmp, tcp, udp or a number); throws std::invalid_argument
// starting with `what`.
PacketMatch ParsePacketMatch(const std::string& text, const std::string& what);

struct ShapingFile {
  std::string point;
  HtbConfig config;
  // Per class of `config` (same order): the packets it takes.
  std::vector<std::vector<PacketMatch>> matches;
};
ShapingFile ReadShapingFile(const std::string& path);

// The steady rates (bit/s, one per class of `config`, in its order) that Linux HTB gives
// classes whose traffic never runs out (`busy`; the others get 0): each busy class its rate,
// then what the root has left (link rate minus the rates) lent by prio, lowest number first,
// and within a prio in proportion to the quanta, each class up to its ceil (what a class cannot
// take goes to the others). Validates `config`.
std::vector<double> HtbExpectedRates(const HtbConfig& config, const std::vector<AppClass>& busy);

// An HTB config that shapes nothing: one class per application class, each guaranteed an
// equal share of `link_rate_bps` and allowed all of it.
HtbConfig TransparentHtb(double link_rate_bps);
// `config` with every rate multiplied by `scale` (the scenarios' scale knob).
HtbConfig ScaledHtb(HtbConfig config, double scale);

}  // namespace linklab::sim
