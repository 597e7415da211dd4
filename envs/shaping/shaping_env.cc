#include "envs/shaping/shaping_env.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/text.h"
#include "sim/action.h"
#include "sim/capacity.h"
#include "sim/controllers.h"
#include "sim/observation.h"
#include "sim/reward.h"
#include "sim/scenario.h"

namespace linklab::envs::shaping {

namespace {

constexpr const char* kName = "shaping";
const std::string kWhere = "env shaping: ";

// A uniform range "lo,hi" (or "[lo,hi]"); empty text: none.
struct Range {
  bool set = false;
  double lo = 0.0, hi = 0.0;
};

Range ParseRange(const core::Params& p, const std::string& key) {
  const std::string& text = p.String(key);
  const std::vector<std::string> parts = core::ParseListValue(text);
  Range r;
  if (parts.empty()) return r;
  const std::string what = kWhere + key + " = '" + core::Printable(text) + "'";
  if (parts.size() != 2) throw std::invalid_argument(what + ": expected two numbers lo,hi");
  r.lo = core::ParseDouble(parts[0], what + " lo");
  r.hi = core::ParseDouble(parts[1], what + " hi");
  if (!std::isfinite(r.lo) || !std::isfinite(r.hi) || r.lo > r.hi || r.lo <= 0) {
    throw std::invalid_argument(what + ": needs 0 < lo <= hi");
  }
  r.set = true;
  return r;
}

std::string ClassNames(const std::vector<sim::AppClass>& classes) {
  std::vector<std::string> names;
  for (sim::AppClass c : classes) names.push_back(sim::AppClassName(c));
  return names.empty() ? "none" : core::Join(names, ", ");
}

bool SameShaping(const sim::HtbConfig& a, const sim::HtbConfig& b) {
  if (a.link_rate_bps != b.link_rate_bps || a.classes.size() != b.classes.size()) return false;
  for (size_t i = 0; i < a.classes.size(); ++i) {
    const auto &x = a.classes[i], &y = b.classes[i];
    if (x.app_class != y.app_class || x.rate_bps != y.rate_bps || x.ceil_bps != y.ceil_bps ||
        x.prio != y.prio || x.quantum_bytes != y.quantum_bytes) {
      return false;
    }
  }
  return a.default_class == b.default_class && a.class_queue_packets == b.class_queue_packets;
}

// The scenario spec and its resolved parameters.
struct ScenarioSpec {
  core::Spec spec;
  core::Params params;
};

ScenarioSpec ResolveScenario(const std::string& text) {
  ScenarioSpec s;
  s.spec = core::Spec::Parse(text, kWhere + "scenario");
  const auto& entry = sim::ScenarioRegistry().Find(s.spec.name());
  s.params =
      core::Params::Resolve(entry.params, s.spec.Values(), kWhere + "scenario " + s.spec.name());
  return s;
}

class ShapingEnv : public EnvBase {
 public:
  explicit ShapingEnv(const core::Params& p)
      : base_(ResolveScenario(p.String("scenario"))),
        point_(p.String("point")),
        step_s_(p.Double("step_s")),
        episode_s_(p.Double("episode_s")),
        random_offset_(p.Bool("random_offset")),
        rtt_range_(ParseRange(p, "rtt_ms_range")),
        buffer_range_(ParseRange(p, "buffer_range")),
        with_info_(p.Bool("info")),
        warmup_steps_(std::max(1, static_cast<int>(std::lround(p.Double("warmup_s") / step_s_)))) {
    CheckRandomisation(p);
    // A first scenario (not started) tells the classes, links and shaping points.
    core::Spec first = base_.spec;
    if (!traces_.empty()) first.Set("trace", traces_[0]);
    scenario_text_ = first.Text();
    scenario_ = sim::MakeScenario(scenario_text_);
    const sim::ScenarioInfo& info = scenario_->info();
    const std::string scenario_name = "scenario " + base_.spec.name();
    if (info.qdisc != "htb") {
      throw std::invalid_argument(kWhere + "scenario qdisc = " + info.qdisc +
                                  ": the shaping env needs qdisc = htb");
    }
    if (std::find(info.shaping_points.begin(), info.shaping_points.end(), point_) ==
        info.shaping_points.end()) {
      throw std::invalid_argument(kWhere + "point = '" + point_ + "': not a shaping point of " +
                                  scenario_name +
                                  " (points: " + core::Join(info.shaping_points, ", ") + ")");
    }
    link_ = p.String("link") == "auto" ? point_ : p.String("link");
    if (std::find(info.links.begin(), info.links.end(), link_) == info.links.end()) {
      throw std::invalid_argument(kWhere + "link = '" + p.String("link") + "'" +
                                  (p.String("link") == "auto" ? " (the point's name)" : "") +
                                  ": not a probed link of " + scenario_name +
                                  " (links: " + core::Join(info.links, ", ") + ")");
    }
    // Classes: the scenario's classes with traffic, or a subset of them.
    const std::string& classes_text = p.String("classes");
    if (classes_text == "auto") {
      classes_ = info.classes;
    } else {
      for (const std::string& name : core::ParseListValue(classes_text)) {
        const std::string what = kWhere + "classes = '" + core::Printable(classes_text) + "'";
        const sim::AppClass c = sim::ParseAppClass(name, what + ": class");
        if (std::find(info.classes.begin(), info.classes.end(), c) == info.classes.end()) {
          throw std::invalid_argument(what + ": class " + name +
                                      " has no traffic in the workload (classes with traffic: " +
                                      ClassNames(info.classes) + ")");
        }
        classes_.push_back(c);
      }
    }
    if (classes_.empty()) throw std::invalid_argument(kWhere + "no classes to shape");
    encoder_ = std::make_unique<sim::ObservationEncoder>(
        sim::ObservationSpec{link_, classes_, static_cast<int>(p.Int("window"))});
    sim::ActionSpec a;
    a.classes = classes_;
    a.mode = p.String("action");
    a.min_link_bps = p.Double("min_link_mbps") * 1e6;
    a.max_link_bps = p.Double("max_link_mbps") * 1e6;
    a.min_class_bps = p.Double("min_class_mbps") * 1e6;
    a.max_step = p.Double("max_step");
    a.class_queue_packets = static_cast<int>(p.Int("queue_packets"));
    a.Validate("env shaping");
    decoder_ = std::make_unique<sim::ActionDecoder>(a);
    sim::RewardSpec r;
    r.link = link_;
    r.classes = classes_;
    r.w_throughput = p.Double("w_throughput");
    r.w_delay = p.Double("w_delay");
    r.w_loss = p.Double("w_loss");
    r.w_efficiency = p.Double("w_efficiency");
    r.w_sla = p.Double("w_sla");
    r.delay_scale_ms = p.Double("delay_scale_ms");
    r.efficiency_from_capacity = p.String("efficiency") == "capacity";
    r.slas = sim::ParseSlas(p.String("sla"), kWhere + "sla", classes_);
    r.Validate("env shaping");
    reward_ = std::make_unique<sim::RewardCalculator>(r);
    for (const sim::Sla& sla : r.slas) {
      const std::string key = std::string(sim::AppClassName(sla.app_class)) + ".sla_viol";
      if (std::find(sla_keys_.begin(), sla_keys_.end(), key) == sla_keys_.end()) {
        sla_keys_.push_back(key);
        sla_classes_.push_back(sla.app_class);
      }
    }
    SetUpController(p, a);
    obs_space_ = Space::Box(encoder_->low(), encoder_->high());
    act_space_ = decoder_->discrete()
                     ? Space::Discrete(decoder_->num_actions())
                     : Space::Box(-1.0, 1.0, {static_cast<int64_t>(decoder_->continuous_size())});
    for (sim::AppClass c : classes_) {
      const std::string n = sim::AppClassName(c);
      keys_.push_back({c, n + ".mbps", n + ".delay95"});
    }
  }

  const Space& observation_space() const override { return obs_space_; }
  const Space& action_space() const override { return act_space_; }
  EnvDescription Describe() const override {
    EnvDescription d;
    d.features = encoder_->feature_names();
    d.observation_spec = encoder_->spec_text();
    d.observation_spec_hash = encoder_->spec_hash();
    d.action_spec = decoder_->spec().Text();
    d.step_s = step_s_;
    if (decoder_->discrete()) {
      d.action_columns = decoder_->TableColumns();
      d.action_values = decoder_->TableValues();
      for (int i = 0; i < decoder_->num_actions(); ++i)
        d.action_names.push_back(decoder_->ActionName(i));
    }
    return d;
  }

 protected:
  ResetResult DoReset(core::Rng& rng) override {
    // This episode's scenario: the randomisation's draws, in a fixed order, then the seed.
    core::Spec spec = base_.spec;
    std::string trace = base_.params.Has("trace") ? base_.params.String("trace") : "";
    if (!traces_.empty()) {
      const size_t i = static_cast<size_t>(rng.UniformInt(traces_.size()));
      trace = traces_[i];
      spec.Set("trace", trace);
      if (random_offset_) {
        spec.Set("trace_offset_s",
                 core::FormatDouble(std::floor(rng.Uniform() * periods_[i] * 1e3) / 1e3));
      }
    } else if (random_offset_) {
      spec.Set("trace_offset_s",
               core::FormatDouble(std::floor(rng.Uniform() * periods_[0] * 1e3) / 1e3));
    }
    if (rtt_range_.set)
      spec.Set("rtt_ms", core::FormatDouble(rng.Uniform(rtt_range_.lo, rtt_range_.hi)));
    if (buffer_range_.set) {
      const auto lo = static_cast<uint64_t>(std::ceil(buffer_range_.lo));
      const auto hi = static_cast<uint64_t>(std::floor(buffer_range_.hi));
      spec.Set("buffer_packets", std::to_string(lo + rng.UniformInt(hi >= lo ? hi - lo + 1 : 1)));
    }
    const uint64_t seed = rng.NextU64();
    // SQM's shaper is the scenario's: FQ-CoDel under a token bucket at the controller's total.
    double sqm_bps = 0.0;
    if (!controller_name_.empty() && !sim::ControllerShapesWithHtb(controller_name_)) {
      sqm_bps = StaticRateBps(spec);
      spec.Set("qdisc", "fq_codel");
      spec.Set("htb_leaf", "pfifo");  // no HTB: its leaves do not apply
      spec.Set("shaper_" + point_ + "_mbps", core::FormatDouble(sqm_bps / 1e6));
    }
    const std::string text = spec.Text();
    if (!scenario_ || text != scenario_text_) {
      scenario_.reset();  // ns-3: the old simulation goes before the new one is built
      scenario_ = sim::MakeScenario(text);
      scenario_text_ = text;
    }
    scenario_->Start(seed);
    encoder_->Reset();
    reward_->Reset();
    applied_ = decoder_->Reset();
    if (!controller_name_.empty()) {
      controller_spec_.static_bps = sqm_bps > 0 ? sqm_bps : StaticRateBps(spec);
      controller_ = sim::MakeController(controller_name_, controller_spec_);
      applied_ = controller_->Reset();
      truth_capacity_ = sim::ControllerReadsTruth(controller_name_) ? TruthCapacity(spec) : nullptr;
    }
    if (sqm_bps == 0) scenario_->ApplyShaping(point_, applied_);
    // Warm-up steps under the initial shaping (at least one), so that the first observation is
    // a real one, with the applications started.
    sim::RewardTerms terms;
    for (int k = 0; k < warmup_steps_; ++k) {
      samples_ = scenario_->Advance(step_s_);
      encoder_->Push(samples_, applied_);
      terms = reward_->Compute(samples_, applied_);
    }
    ResetResult r;
    r.obs = encoder_->Encode();
    if (with_info_) FillInfo(terms, r.info);
    return r;
  }

  StepResult DoStep(const Array& action) override {
    // A controller decides from the last step's samples; the action is ignored then. One that
    // reads truth (the oracle) is told the coming step's true capacity where the link's
    // capacity process is known (a trace or a constant rate).
    if (controller_ && truth_capacity_) {
      const double t = scenario_->now_s();
      controller_->SetNextCapacityBps(truth_scale_ * truth_capacity_->MeanRateBps(t, t + step_s_));
    }
    const sim::HtbConfig& config =
        controller_ ? (controlled_ = controller_->Next(samples_, applied_))
                    : decoder_->Decode(action.data(), action.size(), encoder_->RecentLinkRateBps());
    if (!SameShaping(config, applied_)) {
      applied_ = config;
      scenario_->ApplyShaping(point_, applied_);
    }
    samples_ = scenario_->Advance(step_s_);
    encoder_->Push(samples_, applied_);
    const sim::RewardTerms terms = reward_->Compute(samples_, applied_);
    StepResult r;
    r.obs.resize(encoder_->size());
    encoder_->Encode(r.obs.data());
    r.reward = terms.total;
    r.truncated = episode_s_ > 0 && scenario_->now_s() >= episode_s_ - 1e-9;
    if (with_info_) FillInfo(terms, r.info);
    return r;
  }

 private:
  // The `controller` parameter: a rule-based baseline (sim/controllers.h) in place of the
  // decoder, with the decoder's bounds.
  void SetUpController(const core::Params& p, const sim::ActionSpec& a) {
    const std::string& name = p.String("controller");
    if (name == "agent") return;
    controller_name_ = name;
    controller_mbps_ = p.Double("controller_mbps");
    controller_fraction_ = p.Double("controller_fraction");
    sim::ControllerSpec& c = controller_spec_;
    c.link = link_;
    c.classes = classes_;
    c.min_link_bps = a.min_link_bps;
    c.max_link_bps = a.max_link_bps;
    c.min_class_bps = a.min_class_bps;
    c.class_queue_packets = a.class_queue_packets;
    c.static_bps = a.max_link_bps;
    const std::string what = kWhere + "controller = " + name;
    if (controller_mbps_ > 0) {
      c.static_bps = controller_mbps_ * 1e6;
      if (c.static_bps < a.min_link_bps || c.static_bps > a.max_link_bps) {
        throw std::invalid_argument(kWhere +
                                    "controller_mbps = " + core::FormatDouble(controller_mbps_) +
                                    ": outside [min_link_mbps, max_link_mbps] = [" +
                                    core::FormatDouble(a.min_link_bps / 1e6) + ", " +
                                    core::FormatDouble(a.max_link_bps / 1e6) + "]");
      }
    } else if (UsesMeanCapacity(name) &&
               (!base_.params.Has("capacity") || (base_.params.String("capacity") != "trace" &&
                                                  base_.params.String("capacity") != "constant"))) {
      throw std::invalid_argument(
          what + ": controller_mbps = 0 takes the link's mean capacity, which scenario " +
          base_.spec.name() + " does not know (capacity " +
          (base_.params.Has("capacity") ? "= " + base_.params.String("capacity") : "not set") +
          "); give controller_mbps");
    }
    c.Validate(what);
    const std::string shaper_key = "shaper_" + point_ + "_mbps";
    if (!sim::ControllerShapesWithHtb(name) && !base_.params.Has(shaper_key)) {
      throw std::invalid_argument(what + ": scenario " + base_.spec.name() + " has no " +
                                  shaper_key +
                                  " (the token-bucket shaper sqm puts FQ-CoDel under)");
    }
  }

  // Whether controller `name`'s total is controller_fraction x the link's mean capacity when
  // controller_mbps is 0.
  static bool UsesMeanCapacity(const std::string& name) {
    return name == "static_htb" || name == "autorate" || name == "sqm";
  }

  // static_htb's total and autorate's base: controller_mbps, or controller_fraction x the mean
  // capacity of the episode's link (its whole trace, as a speed test would find it; or the
  // constant rate), clamped to the decoder's range.
  double StaticRateBps(const core::Spec& spec) const {
    if (controller_mbps_ > 0) return controller_mbps_ * 1e6;
    if (!UsesMeanCapacity(controller_name_)) return controller_spec_.max_link_bps;
    const core::Params sp = core::Params::Resolve(sim::ScenarioRegistry().Find(spec.name()).params,
                                                  spec.Values(), kWhere + "scenario");
    double mean_bps = 0.0;
    if (sp.String("capacity") == "constant") {
      mean_bps = ConstantRateBps(sp);
    } else {
      auto cap = sim::LoadTraceCapacity(sim::FindTrace(sp.String("trace")));
      mean_bps = cap->MeanRateBps(0.0, cap->PeriodS());
    }
    if (sp.Has("scale")) mean_bps *= sp.Double("scale");
    return std::clamp(controller_fraction_ * mean_bps, controller_spec_.min_link_bps,
                      controller_spec_.max_link_bps);
  }

  // The downlink rate of a scenario with capacity = constant: tethered's constant_mbps, the
  // internet family's base_mbps.
  static double ConstantRateBps(const core::Params& sp) {
    return (sp.Has("constant_mbps") ? sp.Double("constant_mbps") : sp.Double("base_mbps")) * 1e6;
  }

  // The episode's downlink capacity process (trace from its offset, or constant), the true
  // capacity the oracle may read ahead; null where the scenario's capacity is another process.
  std::unique_ptr<sim::CapacityProcess> TruthCapacity(const core::Spec& spec) {
    const core::Params sp = core::Params::Resolve(sim::ScenarioRegistry().Find(spec.name()).params,
                                                  spec.Values(), kWhere + "scenario");
    truth_scale_ = sp.Has("scale") ? sp.Double("scale") : 1.0;
    if (!sp.Has("capacity") || point_ != "down") return nullptr;
    if (sp.String("capacity") == "constant") {
      return sim::ConstantCapacity(ConstantRateBps(sp));
    }
    if (sp.String("capacity") != "trace") return nullptr;
    auto trace = sim::LoadTraceCapacity(sim::FindTrace(sp.String("trace")));
    const double offset = sp.Has("trace_offset_s") ? sp.Double("trace_offset_s") : 0.0;
    return offset > 0 ? sim::OffsetCapacity(std::move(trace), offset) : std::move(trace);
  }

  // Checks the per-episode randomisation against the scenario's parameters.
  void CheckRandomisation(const core::Params& p) {
    const core::Params& sp = base_.params;
    const std::string scenario = "scenario " + base_.spec.name();
    const bool trace_capacity = sp.Has("capacity") && sp.String("capacity") == "trace";
    const std::string& traces_text = p.String("traces");
    traces_ = core::ParseListValue(traces_text);
    if (!traces_.empty() && (!sp.Has("trace") || !trace_capacity)) {
      throw std::invalid_argument(kWhere + "traces = '" + core::Printable(traces_text) +
                                  "': needs a scenario with capacity = trace (" + scenario +
                                  (sp.Has("capacity") ? " has capacity = " + sp.String("capacity")
                                                      : " has no capacity key") +
                                  ")");
    }
    if (random_offset_ && (!trace_capacity || !sp.Has("trace_offset_s"))) {
      throw std::invalid_argument(
          kWhere +
          "random_offset = true: needs a scenario with capacity = "
          "trace (" +
          scenario + " has " +
          (sp.Has("capacity") ? "capacity = " + sp.String("capacity") : "no capacity key") + ")");
    }
    // Every trace exists and parses (and its period is known for random offsets).
    std::vector<std::string> names = traces_;
    if (names.empty() && trace_capacity) names.push_back(sp.String("trace"));
    for (const std::string& t : names) {
      std::string path;
      try {
        path = sim::FindTrace(t);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(kWhere + (traces_.empty() ? "scenario trace" : "traces") +
                                    " = '" + t + "': " + e.what());
      }
      periods_.push_back(random_offset_ ? sim::LoadTraceCapacity(path)->PeriodS() : 0.0);
    }
    if (rtt_range_.set && !sp.Has("rtt_ms")) {
      throw std::invalid_argument(kWhere + "rtt_ms_range = '" + p.String("rtt_ms_range") +
                                  "': " + scenario + " has no rtt_ms");
    }
    if (buffer_range_.set) {
      if (!sp.Has("buffer_packets")) {
        throw std::invalid_argument(kWhere + "buffer_range = '" + p.String("buffer_range") +
                                    "': " + scenario + " has no buffer_packets");
      }
      if (std::ceil(buffer_range_.lo) > std::floor(buffer_range_.hi)) {
        throw std::invalid_argument(kWhere + "buffer_range = '" + p.String("buffer_range") +
                                    "': holds no whole number of packets");
      }
    }
  }

  // The step's truth for evaluation (never part of the observation) and the reward's terms.
  // Keys are short (no allocation per key): <class>.mbps, <class>.delay95 (one-way delay p95,
  // ms), video.kbps, video.stall_s, gaming.rtt95, gaming.loss, web.fct_ms, link.mbps,
  // link.cap_mbps, link.util (delivered / capacity), shaping.mbps (the HTB root rate), and
  // r.tput, r.delay, r.loss, r.eff, r.sla. NaN where the interval had nothing to measure.
  void FillInfo(const sim::RewardTerms& terms, Info& info) const {
    const sim::LinkSample* all = nullptr;
    for (const sim::LinkSample& s : samples_) {
      if (s.link != link_) continue;
      if (s.app_class == "all") {
        all = &s;
        continue;
      }
      for (const Keys& k : keys_) {
        if (s.app_class != sim::AppClassName(k.c)) continue;
        info.Set(k.mbps, sim::DeliveredBps(s) / 1e6);
        info.Set(k.delay95, s.delay_p95_ms);
        switch (k.c) {
          case sim::AppClass::kVideo:
            info.Set("video.kbps", s.video_bitrate_kbps);
            info.Set("video.stall_s", s.video_stall_s);
            break;
          case sim::AppClass::kGaming:
            info.Set("gaming.rtt95", s.rtt_p95_ms);
            info.Set("gaming.loss", s.game_loss_rate);
            break;
          case sim::AppClass::kWeb:
            info.Set("web.fct_ms", s.fct_ms);
            break;
          default:
            break;
        }
      }
    }
    if (all) {
      const double mbps = sim::DeliveredBps(*all) / 1e6;
      info.Set("link.mbps", mbps);
      info.Set("link.cap_mbps", all->capacity_mbps);
      info.Set("link.util", all->capacity_mbps > 0 ? mbps / all->capacity_mbps : std::nan(""));
    }
    info.Set("shaping.mbps", applied_.link_rate_bps / 1e6);
    for (size_t i = 0; i < sla_keys_.size(); ++i) {
      info.Set(sla_keys_[i], terms.class_violated[static_cast<int>(sla_classes_[i])] ? 1.0 : 0.0);
    }
    info.Set("r.tput", terms.throughput);
    info.Set("r.delay", terms.delay);
    info.Set("r.loss", terms.loss);
    info.Set("r.eff", terms.efficiency);
    info.Set("r.sla", terms.sla_violations);
  }

  struct Keys {
    sim::AppClass c;
    std::string mbps, delay95;
  };

  ScenarioSpec base_;
  std::string point_, link_;
  double step_s_, episode_s_;
  std::vector<std::string> traces_;
  std::vector<double> periods_;  // of traces_ (or of the scenario's trace), for offsets
  bool random_offset_;
  Range rtt_range_, buffer_range_;
  bool with_info_;
  int warmup_steps_;  // steps run by Reset before the first observation
  std::vector<sim::AppClass> classes_;
  std::unique_ptr<sim::Scenario> scenario_;
  std::string scenario_text_;  // the spec scenario_ was made from
  std::unique_ptr<sim::ObservationEncoder> encoder_;
  std::unique_ptr<sim::ActionDecoder> decoder_;
  std::unique_ptr<sim::RewardCalculator> reward_;
  sim::HtbConfig applied_;  // in force at the shaping point
  std::vector<sim::LinkSample> samples_;
  std::vector<Keys> keys_;
  std::vector<std::string> sla_keys_;  // "<class>.sla_viol" per class with an SLA
  std::vector<sim::AppClass> sla_classes_;
  Space obs_space_, act_space_;
  // The controller in place of the decoder ("" for agent).
  std::string controller_name_;
  double controller_mbps_ = 0.0, controller_fraction_ = 0.85;
  sim::ControllerSpec controller_spec_;
  std::unique_ptr<sim::ShapingController> controller_;
  sim::HtbConfig controlled_;                             // the controller's last config
  std::unique_ptr<sim::CapacityProcess> truth_capacity_;  // for controllers that read truth
  double truth_scale_ = 1.0;
};

std::vector<core::ParamSpec> ShapingParams() {
  using core::BoolParam;
  using core::DoubleParam;
  using core::IntParam;
  using core::StringParam;
  return {
      StringParam("scenario", "tethered(backend=fluid)",
                  "the network: a scenario spec (tethered, internet, datacenter; backend=ns3 or "
                  "fluid), e.g. tethered(capacity=trace,trace=ATT-LTE-driving.down,backend=fluid)"),
      StringParam("classes", "auto",
                  "classes observed and shaped, e.g. [bulk,video,gaming,web]; auto: every class "
                  "with traffic in the scenario's workload"),
      StringParam("point", "down", "the shaping point the actions configure (down, up, hosts)"),
      StringParam("link", "auto", "the probed link observed and rewarded; auto: the point's name"),
      DoubleParam("step_s", 0.1, "simulated seconds per env step", 0.001, 3600.0),
      DoubleParam("warmup_s", 1.0,
                  "simulated seconds a reset runs under the initial shaping before the first "
                  "observation (at least one step; the applications start within the first "
                  "second)",
                  0.0, 3600.0),
      DoubleParam("episode_s", 0.0,
                  "simulated seconds per episode (truncation); 0: only max_episode_steps", 0.0,
                  1e9),
      StringParam("action", "discrete",
                  "discrete: one index into a table of total multipliers x class profiles (DQN); "
                  "continuous: Box [-1,1]^(1+3 classes) (PPO)",
                  {"discrete", "continuous"}),
      IntParam("window", 4, "steps of LinkSamples in the observation", 1, 64),
      DoubleParam("min_link_mbps", 0.5, "the HTB total's lower bound", 1e-6, 1e6),
      DoubleParam("max_link_mbps", 100.0, "the HTB total's upper bound (and its start)", 1e-6, 1e6),
      DoubleParam("min_class_mbps", 0.05, "every class's minimum guaranteed rate", 1e-6, 1e6),
      DoubleParam("max_step", 1.25,
                  "largest change factor of the total, rates and ceils per step (x f, x 1/f)",
                  1.0001, 100.0),
      IntParam("queue_packets", 200,
               "each HTB class's queue limit (Linux's pfifo default, 1000, lets one backlogged "
               "TCP class queue seconds at a few Mbit/s)",
               1, 1000000),
      DoubleParam("w_throughput", 1.0, "reward weight of throughput (mean log2(1 + Mbit/s))", 0.0),
      DoubleParam("w_delay", 1.0, "reward weight of delay (mean RTT p95 / delay_scale_ms)", 0.0),
      DoubleParam("w_loss", 1.0, "reward weight of loss (mean loss rate)", 0.0),
      DoubleParam("w_efficiency", 0.5,
                  "reward weight of efficiency (delivered / the HTB root rate, at most 1)", 0.0),
      DoubleParam("w_sla", 1.0, "penalty per class with a violated SLA", 0.0),
      DoubleParam("delay_scale_ms", 100.0, "the delay term's unit", 1e-3, 1e6),
      StringParam("efficiency", "shaped",
                  "efficiency against the shaped rate (observable) or the true capacity (truth)",
                  {"shaped", "capacity"}),
      StringParam("sla", "",
                  "service levels, e.g. [gaming.rtt_p95_ms<80,video.mbps>2.5]; metrics mbps, "
                  "rtt_p50_ms, rtt_p95_ms, qdelay_ms, loss"),
      StringParam("traces", "",
                  "training traces, one drawn per episode, e.g. [ATT-LTE-driving.down,"
                  "TMobile-LTE-driving.down] (capacity = trace)"),
      BoolParam("random_offset", false,
                "start each episode at a uniform random point of its trace (capacity = trace)"),
      StringParam("rtt_ms_range", "", "per-episode base RTT drawn uniformly from lo,hi (ms)"),
      StringParam("buffer_range", "",
                  "per-episode bottleneck buffer drawn uniformly from lo,hi (packets)"),
      BoolParam("info", true, "report the per-class truth metrics and reward terms in the info"),
      StringParam("controller", "agent",
                  "who shapes: agent (the action, decoded) or a rule-based baseline that ignores "
                  "the action (sim/controllers.h): none (transparent at max_link_mbps), sqm "
                  "(FQ-CoDel under a static shaper), static_htb, autorate (after "
                  "cake-autorate), oracle (true capacity x 0.95; a reference)",
                  {"agent", "none", "sqm", "static_htb", "autorate", "oracle"}),
      DoubleParam(
          "controller_mbps", 0.0,
          "sqm's and static_htb's total, autorate's base rate; 0: controller_fraction x the "
          "mean capacity of the episode's trace (or constant rate)",
          0.0, 1e6),
      DoubleParam("controller_fraction", 0.85,
                  "the fraction of the mean capacity controller_mbps = 0 takes", 0.01, 1.0),
  };
}

}  // namespace

void RegisterShapingEnv(EnvRegistryType& registry) {
  if (registry.Has(kName)) return;
  // No snapshots (a running scenario has none); ns-3 needs a process of its own. A step costs
  // the scenario's simulated step_s plus the encoder, decoder and reward (a few microseconds).
  auto traits = [](const core::Params& p) {
    const ScenarioSpec s = ResolveScenario(p.String("scenario"));
    const core::EntryTraits st = sim::ScenarioRegistry().Find(s.spec.name()).Traits(s.params);
    core::EntryTraits t;
    t.snapshot = false;
    t.own_process = st.own_process;
    t.cost_us_per_step = st.cost_us_per_step * p.Double("step_s") + 5.0;
    return t;
  };
  RegisterEnv(
      registry, kName,
      "HTB shaping of a shared bottleneck's traffic classes (any scenario, ns-3 or fluid): "
      "observable per-class counters in, HTB rates/ceils/prios out",
      ShapingParams(), 300,
      [](const core::Params& p) -> std::unique_ptr<Env> { return std::make_unique<ShapingEnv>(p); },
      traits);
}

}  // namespace linklab::envs::shaping
