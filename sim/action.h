#pragma once
// The action decoder (DESIGN.md contract 4): one decoder turns an agent's action into the HTB
// config of a shaping point, the same commands the sim's HTB queue disc and the live runner's
// tc take. Every action is first a target (a total rate relative to the link's recent
// delivered rate, and per class a share of the total, a ceil as a fraction of the total and a
// prio), then bounded:
//   - the total within [min_link_bps, max_link_bps] (and at least the sum of the minimum rates),
//   - each class's rate at least min_class_bps, the rates summing to at most the total,
//   - each ceil within [rate, total],
//   - the total, every rate and every ceil moving by at most x max_step and x 1/max_step per
//     step (x1.25 / x0.8 by default), unless the bounds above force more.
// The classes configured are the observed ones; when "other" is not among them it is added as
// the default class (unclassified packets) with the minimum rate, ceil = total and prio 7.
//
// Modes:
//   discrete    one Discrete(n) action indexing a table (TableColumns / TableValues): row 0
//               "leave" keeps the current config; the other rows combine a total multiplier
//               (kMultipliers, times the link's recent delivered rate) with a profile:
//                 fair       equal shares, ceil = total, every prio 0 (a plain total limit)
//                 priority   equal shares, ceil = total, prio by latency rank (gaming, web,
//                            video, bulk, cross, other)
//                 protect    shares gaming 1 : web 2 : video 3 : bulk 2 (cross, other 1), prio by
//                            rank, bulk/cross/other ceil 0.6 of the total
//                 squeeze    shares gaming 1 : web 2 : video 4 : bulk 1 (cross, other 1), prio by
//                            rank, bulk/cross/other ceil 0.25 of the total
//   continuous  a Box [-1, 1]^(1 + 3 C) for C classes: a[0] the total multiplier 1 + a[0] / 2
//               (0.5..1.5 x the recent delivered rate); a[1..C] shares, softmax(2 a); a[C+1..2C]
//               ceils, share + (1 - share) (a + 1) / 2 of the total; a[2C+1..3C] a priority bit
//               per class (a > 0: prio 0, else prio 1).
// (Source 004's drop probability for the lowest class is not offered: the HTB queue discs have
// no such knob.)

#include <array>
#include <string>
#include <vector>

#include "sim/shaping.h"

namespace linklab::sim {

struct ActionSpec {
  std::vector<AppClass> classes;  // the shaped classes, in the action's order
  std::string mode = "discrete";  // discrete | continuous
  double min_link_bps = 0.5e6;    // the total rate's range
  double max_link_bps = 100e6;
  double min_class_bps = 0.05e6;  // every class's minimum rate
  double max_step = 1.25;         // per step change factor (> 1)
  int class_queue_packets = 200;  // each class's queue (packets)
  // Throws std::invalid_argument naming the key and value that cannot be met (mode, ranges,
  // the minimum rates summing above max_link_bps, a class twice, ...); `prefix` starts every
  // message ("env shaping").
  void Validate(const std::string& prefix = "action") const;
  // The spec as one line, "linklab-action/1;mode=discrete;classes=bulk,video;min_link_bps=..."
  // (exact decimal values): what an exported policy carries so that the live runner decodes
  // as training did.
  std::string Text() const;
  // Parses Text()'s format and validates; throws std::invalid_argument starting with `what`.
  static ActionSpec Parse(const std::string& text, const std::string& what);
};

class ActionDecoder {
 public:
  // Total multipliers of the discrete table (times the recent delivered rate).
  static constexpr std::array<double, 5> kMultipliers = {0.8, 0.9, 1.0, 1.1, 1.25};
  static constexpr int kProfiles = 4;

  explicit ActionDecoder(ActionSpec spec);  // validates `spec`

  const ActionSpec& spec() const { return spec_; }
  bool discrete() const { return discrete_; }
  // Discrete mode: the number of table rows; continuous: the Box's dimension.
  int num_actions() const;
  int continuous_size() const;
  // The discrete table, one row per action: columns "total_mult" (0: leave), then per class
  // "<class>.share", "<class>.ceil", "<class>.prio" (the target; ceil as a fraction of the
  // total). Values row-major.
  std::vector<std::string> TableColumns() const;
  std::vector<float> TableValues() const;
  // "leave", "x0.9 priority", ...
  std::string ActionName(int index) const;

  // Starts an episode: the total at max_link_bps, equal shares, ceil = total, prio 0; returns
  // that config (also current()).
  const HtbConfig& Reset();
  // Decodes `action` (discrete: one element, the index; continuous: continuous_size() elements,
  // clamped to [-1, 1]) given the link's recent delivered rate (bit/s) and returns the bounded
  // config (also current()). Throws std::invalid_argument for a wrong size, an index outside
  // the table or a NaN.
  const HtbConfig& Decode(const float* action, size_t size, double recent_link_bps);
  const HtbConfig& current() const { return current_; }

 private:
  struct Target {
    bool leave = false;
    double multiplier = 1.0;
    std::array<double, kNumAppClasses + 1> share{}, ceil{};  // per internal class
    std::array<int, kNumAppClasses + 1> prio{};
  };
  void TargetOfRow(int row, Target& t) const;
  void Apply(const Target& t, double recent_link_bps);

  ActionSpec spec_;
  bool discrete_ = true;
  std::vector<AppClass> shaped_;  // spec_.classes plus "other" when absent
  bool added_other_ = false;
  HtbConfig current_;
  Target scratch_;
};

}  // namespace linklab::sim
