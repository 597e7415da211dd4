#pragma once
// Rule-based shaping controllers: baselines that turn what a shaping point can see into HTB
// configs, step by step, with no learning. They run inside the shaping env (its `controller`
// parameter) and, since they read only [observable] LinkSample fields (the oracle excepted),
// in the live runner too. Deterministic: the same samples give the same configs.
//
//   none        the HTB root at the decoder's upper bound (max_link_bps), equal shares, every
//               prio 0: nothing is shaped while the link is slower than that (the queue stays
//               in the bottleneck's buffer)
//   sqm         SQM as people deploy it: a token-bucket shaper at a fixed total (static_bps)
//               with FQ-CoDel under it. The scenario holds it (qdisc = fq_codel under
//               shaper_down_mbps, set by the shaping env); the controller only reports it, as
//               one flat HTB config (equal guaranteed shares, prio 0), for the observation and
//               the reward (ControllerShapesWithHtb: false)
//   static_htb  a fixed total (static_bps); half of it guaranteed as the classes' rates, in
//               shares gaming 1 : web 2 : video 3 : bulk 2 (cross, other 1), the other half lent
//               by prio (latency rank: gaming, web, video, bulk); ceil = total: what an
//               operator configures once
//   autorate    after cake-autorate (github.com/lynxthecat/cake-autorate, v3 defaults): the
//               total follows the link from the RTT and the load it observes, with the
//               static_htb classes under it (see AutorateParams)
//   oracle      the total at oracle_fraction x the true capacity of the coming step
//               (SetNextCapacityBps), or of the step that just ended where nobody tells it
//               (a [truth] field: an upper reference, not a competitor), classes as static_htb
//
// Library linklab_net: links neither ns-3 nor libtorch.

#include <memory>
#include <string>
#include <vector>

#include "sim/link_sample.h"
#include "sim/shaping.h"

namespace linklab::sim {

// cake-autorate's rate control (its v3 defaults, per env step instead of per ping).
struct AutorateParams {
  double bloat_delay_ms = 30.0;     // delay over the baseline that counts as bufferbloat
  double max_cut_delay_ms = 60.0;   // delay over the baseline at which the cut is the deepest
  double cut_min = 0.99;            // cut factor at bloat_delay_ms ...
  double cut_max = 0.75;            // ... down to this one (the most a step cuts)
  double raise_max = 1.04;          // raise factor at no delay, falling to 1 at bloat_delay_ms
  double high_load = 0.75;          // delivered / rate above which the load is high
  double bloat_refractory_s = 0.3;  // after a cut, no cut and no raise for this long
  double decay_refractory_s = 1.0;  // between steps of the decay toward the base rate
  double decay_down = 0.99;         // low load: rate above the base x this, below x decay_up
  double decay_up = 1.01;
  double baseline_alpha_up = 0.01;   // per step: the baseline follows rises slowly ...
  double baseline_alpha_down = 0.9;  // ... and falls fast
};

struct ControllerSpec {
  std::string link = "down";      // the probed link read
  std::vector<AppClass> classes;  // the shaped classes; "other" is added as the default class
  double min_link_bps = 0.5e6;    // the total's range (as the action decoder's)
  double max_link_bps = 100e6;
  double min_class_bps = 0.05e6;  // every class's minimum rate
  int class_queue_packets = 200;  // each class's queue
  double static_bps = 10e6;       // static_htb's total; autorate's base (and starting) rate
  double oracle_fraction = 0.95;  // oracle: the total as a fraction of the true capacity
  // static_htb, autorate, oracle: the part of the total the classes' rates guarantee; the
  // rest is lent by prio (gaming first), so that a small class of high prio is not held to
  // its share when the others are busy (HTB lends only what the rates leave unused).
  double guaranteed_fraction = 0.5;
  AutorateParams autorate;
  // Throws std::invalid_argument naming the key and value (no classes, ranges, static_bps
  // outside [min_link_bps, max_link_bps], ...); `prefix` starts every message.
  void Validate(const std::string& prefix = "controller") const;
};

// An HTB config for `classes` (plus "other" as the default class at the minimum rate, ceil =
// total, when absent): `guaranteed_fraction` of the total split in proportion to `weights`
// (one per class) as the rates,
// each rate at least `min_class_bps` (the total raised to their sum when it is smaller), ceil =
// total; prio by latency rank (other 7) when `prio_by_rank`, else 0 for every class.
HtbConfig ClassHtb(const std::vector<AppClass>& classes, double total_bps,
                   const std::vector<double>& weights, double guaranteed_fraction,
                   bool prio_by_rank, double min_class_bps, int class_queue_packets);

class ShapingController {
 public:
  virtual ~ShapingController() = default;
  // Starts an episode (forgets all state); returns the config to apply first.
  virtual HtbConfig Reset() = 0;
  // The config for the next step from the step's samples (per class and "all"; other links
  // ignored) and the config in force.
  virtual HtbConfig Next(const std::vector<LinkSample>& samples, const HtbConfig& current) = 0;
  // [truth] The true mean capacity (bit/s) of the step the next config will be in force for,
  // where the caller knows it (a trace-driven or constant link); called before Next. Only
  // controllers that read truth use it (the oracle); the others ignore it.
  virtual void SetNextCapacityBps(double) {}
};

// Autorate's state is visible for tests and logs.
class AutorateController : public ShapingController {
 public:
  explicit AutorateController(ControllerSpec spec);  // validates `spec`
  HtbConfig Reset() override;
  HtbConfig Next(const std::vector<LinkSample>& samples, const HtbConfig& current) override;

  double rate_bps() const { return rate_bps_; }
  double baseline_ms() const { return baseline_ms_; }  // NaN before the first RTT
  // The delay over the baseline of the last step (0 without an RTT sample).
  double delta_ms() const { return delta_ms_; }
  // What the last Next did: "cut", "raise", "decay", "hold".
  const std::string& last_move() const { return last_move_; }

 private:
  ControllerSpec spec_;
  double rate_bps_ = 0.0;
  double baseline_ms_ = 0.0;
  double delta_ms_ = 0.0;
  double now_s_ = 0.0;
  double last_cut_s_ = -1e18, last_decay_s_ = -1e18;
  std::string last_move_ = "hold";
};

// The names MakeController knows: none, sqm, static_htb, autorate, oracle.
const std::vector<std::string>& ControllerNames();
// Whether controller `name` reads [truth] fields (the oracle does).
bool ControllerReadsTruth(const std::string& name);
// Whether controller `name`'s configs are applied to an HTB shaping point (all but sqm, whose
// shaper is the scenario's own).
bool ControllerShapesWithHtb(const std::string& name);
// Controller `name` (validates `spec`); throws std::invalid_argument for an unknown name,
// listing the known ones.
std::unique_ptr<ShapingController> MakeController(const std::string& name,
                                                  const ControllerSpec& spec);

// The observable delay signal autorate reads: the smallest transport RTT p50 (ms) among the
// classes of `link` with an RTT sample in `samples` (the class least queued at the shaper, so
// mostly the bottleneck's queue); NaN when none has one.
double MinClassRttMs(const std::vector<LinkSample>& samples, const std::string& link);

}  // namespace linklab::sim
