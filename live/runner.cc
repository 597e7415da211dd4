#include "live/runner.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/files.h"
#include "core/json.h"
#include "core/machine.h"
#include "core/metrics.h"
#include "core/text.h"
#include "datasets/metrics_file.h"
#include "live/control.h"
#include "live/netlink.h"
#include "live/observer.h"
#include "live/policy.h"
#include "live/predictor.h"
#include "live/probe.h"
#include "live/server.h"
#include "live/shaper.h"
#include "live/sockets.h"
#include "sim/observation.h"

namespace linklab::live {

namespace {

using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_stop = 0;
extern "C" void OnStop(int sig) { g_stop = sig; }

void InstallSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// `next` with every total, rate and ceil within x max_step of `prev`'s.
sim::HtbConfig Bounded(const sim::HtbConfig& prev, sim::HtbConfig next, double max_step) {
  auto bound = [max_step](double to, double from) {
    return std::clamp(to, from / max_step, from * max_step);
  };
  next.link_rate_bps = bound(next.link_rate_bps, prev.link_rate_bps);
  for (sim::HtbClassConfig& c : next.classes) {
    for (const sim::HtbClassConfig& p : prev.classes) {
      if (p.app_class != c.app_class) continue;
      c.rate_bps = bound(c.rate_bps, p.rate_bps);
      c.ceil_bps = bound(c.ceil_bps, p.ceil_bps);
    }
  }
  for (sim::HtbClassConfig& c : next.classes) {
    c.rate_bps = std::min(c.rate_bps, next.link_rate_bps);
    c.ceil_bps = std::clamp(c.ceil_bps, c.rate_bps, next.link_rate_bps);
  }
  return next;
}

// The QoS floors on `next` (every path: policy, fallback, adaptive off): each class at least
// its min_mbps; the total grows toward the floors' sum by at most x max_step per interval from
// `prev`'s, and the rates are then held within it (a floor cannot unshape the link at once).
sim::HtbConfig WithFloors(const sim::HtbConfig& prev, sim::HtbConfig next, double max_step,
                          const std::map<sim::AppClass, QosRequirement>& qos) {
  if (qos.empty()) return next;
  double floors = 0.0;
  for (sim::HtbClassConfig& c : next.classes) {
    const auto q = qos.find(c.app_class);
    if (q != qos.end()) c.rate_bps = std::max(c.rate_bps, q->second.min_mbps * 1e6);
    floors += c.rate_bps;
  }
  next.link_rate_bps =
      std::max(next.link_rate_bps, std::min(floors, prev.link_rate_bps * max_step));
  for (sim::HtbClassConfig& c : next.classes) {
    c.rate_bps = std::min(c.rate_bps, next.link_rate_bps);
    c.ceil_bps = std::clamp(c.ceil_bps, c.rate_bps, next.link_rate_bps);
  }
  return next;
}

// The family helpers: one gauge per (point, class).
prometheus::Family<prometheus::Gauge>& Gauges(prometheus::Registry& r, const std::string& name,
                                              const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}
prometheus::Family<prometheus::Counter>& Counters(prometheus::Registry& r, const std::string& name,
                                                  const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

struct Metrics {
  explicit Metrics(prometheus::Registry& r)
      : class_rate(
            Gauges(r, "linklab_live_class_rate_bps", "HTB rate (guarantee) in force, bit/s")),
        class_ceil(Gauges(r, "linklab_live_class_ceil_bps", "HTB ceil in force, bit/s")),
        class_prio(Gauges(r, "linklab_live_class_prio", "HTB prio in force (0 first)")),
        class_delivered(Gauges(r, "linklab_live_class_delivered_bps",
                               "bit/s the class delivered over the last interval")),
        class_qdelay(Gauges(r, "linklab_live_class_queue_delay_ms",
                            "queueing delay the class's backlog implies, ms")),
        class_backlog(Gauges(r, "linklab_live_class_backlog_bytes", "bytes queued in the class")),
        class_rtt_p50(Gauges(r, "linklab_live_class_rtt_p50_ms",
                             "median RTT of the class's TCP connections (INET_DIAG), ms")),
        class_rtt_p95(Gauges(r, "linklab_live_class_rtt_p95_ms",
                             "95th percentile RTT of the class's TCP connections, ms")),
        class_loss(Gauges(r, "linklab_live_class_loss_ratio",
                          "drops / (drops + delivered packets) over the last interval")),
        link_rate(Gauges(r, "linklab_live_link_rate_bps", "the HTB root's rate in force, bit/s")),
        link_delivered(
            Gauges(r, "linklab_live_link_delivered_bps", "bit/s delivered over the last interval")),
        confidence(Gauges(r, "linklab_live_policy_confidence",
                          "the policy's confidence in its last decision (top probability)")),
        prediction(Gauges(r, "linklab_live_prediction", "the predictor's forecast")),
        prediction_confidence(Gauges(r, "linklab_live_prediction_confidence",
                                     "the predictor's calibrated confidence, 0..1")),
        adaptive(Gauges(r, "linklab_live_adaptive", "1 while adaptive shaping is on").Add({})),
        shadow(Gauges(r, "linklab_live_shadow", "1 in shadow mode (nothing applied)").Add({})),
        decisions(Counters(r, "linklab_live_decisions_total", "decisions taken")),
        fallbacks(
            Counters(r, "linklab_live_fallbacks_total", "intervals on the static safe config")),
        qos_violations(Counters(r, "linklab_live_qos_violations_total",
                                "intervals a class's QoS bound was exceeded")),
        inference(prometheus::BuildHistogram()
                      .Name("linklab_live_inference_seconds")
                      .Help("time in the policy's model per decision")
                      .Register(r)
                      .Add({}, prometheus::Histogram::BucketBoundaries{1e-6, 2e-6, 5e-6, 1e-5, 2e-5,
                                                                       5e-5, 1e-4, 1e-3, 1e-2})),
        loop(prometheus::BuildHistogram()
                 .Name("linklab_live_loop_seconds")
                 .Help("time of one interval's work (read, decide, apply)")
                 .Register(r)
                 .Add({}, prometheus::Histogram::BucketBoundaries{1e-4, 3e-4, 1e-3, 3e-3, 1e-2,
                                                                  3e-2, 0.1})) {}
  prometheus::Family<prometheus::Gauge>&class_rate, &class_ceil, &class_prio, &class_delivered,
      &class_qdelay, &class_backlog, &class_rtt_p50, &class_rtt_p95, &class_loss, &link_rate,
      &link_delivered, &confidence, &prediction, &prediction_confidence;
  prometheus::Gauge &adaptive, &shadow;
  prometheus::Family<prometheus::Counter>&decisions, &fallbacks, &qos_violations;
  prometheus::Histogram &inference, &loop;
};

// One shaping point: a direction of the interface, its policy, tree and observer.
struct Point {
  Direction direction = Direction::kEgress;
  std::string label;  // "egress", "ingress"
  std::unique_ptr<LivePolicy> policy;
  std::unique_ptr<TcShaper> shaper;  // null in shadow mode
  std::unique_ptr<Observer> observer;
  sim::HtbConfig in_force;  // applied (or, in shadow mode, what the policy believes)
  int model_failures = 0, read_failures = 0;
  std::vector<sim::LinkSample> last;
};

double Finite(double v) { return std::isfinite(v) ? v : NAN; }

core::Json ConfigJson(const sim::HtbConfig& c) {
  core::Json classes = core::Json::array();
  for (const sim::HtbClassConfig& k : c.classes) {
    classes.push_back({{"class", sim::AppClassName(k.app_class)},
                       {"rate_bps", k.rate_bps},
                       {"ceil_bps", k.ceil_bps},
                       {"prio", k.prio}});
  }
  return {{"link_rate_bps", c.link_rate_bps},
          {"default", sim::AppClassName(c.default_class)},
          {"classes", classes}};
}

class Runner {
 public:
  explicit Runner(const LiveOptions& o) : o_(o) {
    classes_ = sim::ReadShapingFile(o_.classes);
    classes_text_ = core::ReadFile(o_.classes);
    if (o_.direction != "egress" && o_.direction != "ingress" && o_.direction != "both") {
      throw std::invalid_argument("--direction " + o_.direction + ": egress, ingress or both");
    }
    if (!(o_.max_step > 1.0)) {
      throw std::invalid_argument("--max-step " + core::FormatDouble(o_.max_step) +
                                  ": must be > 1");
    }
    if (o_.leaf != "pfifo" && o_.leaf != "fq_codel" && o_.leaf != "auto") {
      throw std::invalid_argument("--leaf " + o_.leaf + ": pfifo, fq_codel or auto");
    }
    if (!o_.predictor.empty()) predictor_ = std::make_unique<LivePredictor>(o_.predictor);
    BaselineLimits limits;
    limits.min_link_bps = o_.min_link_mbps * 1e6;
    limits.max_link_bps = o_.max_link_mbps * 1e6;
    std::vector<Direction> dirs;
    if (o_.direction != "ingress") dirs.push_back(Direction::kEgress);
    if (o_.direction != "egress") dirs.push_back(Direction::kIngress);
    for (Direction d : dirs) {
      Point p;
      p.direction = d;
      p.label = DirectionName(d);
      p.policy = MakeLivePolicy(o_.policy, classes_, o_.classes, limits,
                                d == Direction::kIngress ? "down" : "up");
      p.observer = std::make_unique<Observer>(p.policy->link(), classes_, d);
      points_.push_back(std::move(p));
    }
    const double trained_s = points_[0].policy->step_s();
    interval_s_ = o_.interval_ms > 0 ? o_.interval_ms / 1000.0 : trained_s > 0 ? trained_s : 0.1;
    if (!(interval_s_ >= 0.01 && interval_s_ <= 60.0)) {
      throw std::invalid_argument("--interval-ms " + core::FormatDouble(o_.interval_ms) +
                                  ": must be 10..60000");
    }
    if (trained_s > 0 && std::fabs(trained_s - interval_s_) > 1e-9) {
      Log("note: the policy was trained at a step of " + core::FormatDouble(trained_s * 1000) +
          " ms, it runs every " + core::FormatDouble(interval_s_ * 1000) + " ms");
    }
    if (predictor_) predictor_->SetLiveInterval(interval_s_);
    if (!(o_.tcp_rtt_ms >= 0)) {
      throw std::invalid_argument("--tcp-rtt-ms " + core::FormatDouble(o_.tcp_rtt_ms) +
                                  ": must be >= 0");
    }
    if (!(o_.min_confidence >= 0 && o_.min_confidence <= 1)) {
      throw std::invalid_argument("--min-confidence " + core::FormatDouble(o_.min_confidence) +
                                  ": must be in [0, 1]");
    }
    if (!o_.record.empty()) {
      const std::string dir = std::filesystem::path(o_.record).parent_path().string();
      if (!dir.empty() && !std::filesystem::is_directory(dir)) {
        throw std::invalid_argument("--record " + o_.record + ": no folder " + dir);
      }
    }
    std::vector<sim::AppClass> shaped;
    for (const sim::HtbClassConfig& c : classes_.config.classes) shaped.push_back(c.app_class);
    state_ = std::make_unique<ControlState>(shaped);
    metrics_ = std::make_unique<Metrics>(state_->registry());
    metrics_->shadow.Set(o_.shadow ? 1 : 0);
    if (!o_.probe.empty()) probe_ = std::make_unique<IcmpProbe>(o_.probe);
    // Every point's counters from the start, at 0 (a family without series is not exposed).
    for (const Point& p : points_) {
      for (const char* reason : {"stale", "model_failure", "low_confidence"}) {
        metrics_->fallbacks.Add({{"point", p.label}, {"reason", reason}});
      }
      metrics_->decisions.Add({{"point", p.label}, {"source", p.policy->name()}});
      metrics_->decisions.Add({{"point", p.label}, {"source", "fallback"}});
    }
  }

  int Run() {
    InstallSignals();
    if (o_.listen != "off" && !o_.listen.empty()) {
      ServerOptions so = ParseListen(o_.listen);
      so.token = o_.token;
      // The server's threads inherit this mask: SIGINT and SIGTERM reach the loop's thread
      // (and interrupt its sleep), not theirs.
      sigset_t stop, old_mask;
      sigemptyset(&stop);
      for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop, sig);
      pthread_sigmask(SIG_BLOCK, &stop, &old_mask);
      try {
        server_ = std::make_unique<ControlServer>(*state_, so);
      } catch (...) {
        pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
        throw;
      }
      pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
      Log("serving /metrics and /api on " + so.address + ":" + std::to_string(server_->port()));
    }
    if (!o_.shadow) {
      nl_ = std::make_unique<Netlink>();
      std::string leaf = o_.leaf == "auto" ? "fq_codel" : o_.leaf;
      try {
        for (Point& p : points_) {
          p.shaper =
              std::make_unique<TcShaper>(*nl_, o_.iface, p.direction, classes_, leaf, o_.state_dir);
        }
        for (Point& p : points_) {
          const sim::HtbConfig first = p.policy->Reset();
          try {
            p.shaper->Install(first);
          } catch (const LeafUnsupported& e) {
            if (o_.leaf != "auto") throw;
            Log(std::string("fq_codel leaves: ") + e.what() + "; the leaves are pfifo");
            leaf = "pfifo";
            for (Point& q : points_) {
              if (!q.shaper->installed()) {
                q.shaper = std::make_unique<TcShaper>(*nl_, o_.iface, q.direction, classes_, leaf,
                                                      o_.state_dir);
              }
            }
            p.shaper->Install(first);
          }
          p.in_force = first;
          Log(std::string("shaping ") + p.label + " of " + o_.iface + " on " +
              p.shaper->shaped_device() + " (htb, " + p.shaper->leaf() + " leaves), policy " +
              p.policy->name());
        }
      } catch (...) {
        RestoreAll();  // what the points before the failing one installed
        throw;
      }
    } else {
      nl_ = std::make_unique<Netlink>();
      if (nl_->IfIndex(o_.iface) <= 0) {
        throw std::invalid_argument("--iface " + o_.iface + ": no such interface");
      }
      for (Point& p : points_) p.in_force = p.policy->Reset();
      Log("shadow mode on " + o_.iface + ": deciding with " + points_[0].policy->name() +
          ", applying nothing");
    }
    int code = 0;
    try {
      Loop();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "linklab-live: error: %s\n", e.what());
      code = 1;
    }
    if (!RestoreAll()) {
      std::fprintf(stderr, "linklab-live: error: %s is not as it was found (see above)\n",
                   o_.iface.c_str());
      code = 1;
    } else if (!o_.shadow) {
      Log("restored " + o_.iface);
    }
    try {
      WriteRecording();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "linklab-live: error: %s\n", e.what());
      code = 1;
    }
    return code;
  }

 private:
  // Restores every point; false when something could not be removed.
  bool RestoreAll() noexcept {
    bool clean = true;
    for (Point& p : points_) {
      if (p.shaper) clean = p.shaper->Restore() && clean;
    }
    return clean;
  }

  void Log(const std::string& line) const {
    if (!o_.quiet) std::fprintf(stderr, "linklab-live: %s\n", line.c_str());
  }

  void Loop() {
    start_ = Clock::now();
    Clock::time_point next = start_;
    Clock::time_point last_tick = start_;
    const auto interval =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_s_));
    Clock::time_point last_log = start_, last_save = start_;
    for (uint64_t tick = 0;; ++tick) {
      // One sleep to the next tick; a stop signal interrupts it (EINTR).
      for (Clock::time_point now = Clock::now(); !g_stop && now < next; now = Clock::now()) {
        const double left = Seconds(next - now);
        timespec ts{static_cast<time_t>(left), static_cast<long>((left - std::floor(left)) * 1e9)};
        nanosleep(&ts, nullptr);
      }
      if (g_stop) {
        Log("stopping on signal " + std::to_string(static_cast<int>(g_stop)));
        return;
      }
      const Clock::time_point now = Clock::now();
      const double now_s = Seconds(now - start_);
      if (o_.duration_s > 0 && now_s >= o_.duration_s) {
        Log("ran " + core::FormatDouble(o_.duration_s) + " s");
        return;
      }
      const bool late = tick > 1 && Seconds(now - last_tick) > o_.stale_factor * interval_s_;
      last_tick = now;
      Step(now_s, late);
      metrics_->loop.Observe(Seconds(Clock::now() - now));
      next += interval;
      if (next < Clock::now()) next = Clock::now() + interval;  // fell behind: no catching up
      if (!o_.quiet && Seconds(now - last_log) >= 10.0) {
        last_log = now;
        Progress(now_s);
      }
      if (!o_.record.empty() && Seconds(now - last_save) >= 30.0) {
        last_save = now;
        WriteRecording();
      }
    }
  }

  void Step(double now_s, bool late) {
    // The TCP connections: every interval in shadow mode (they count its classes' bytes),
    // else every tcp_rtt_ms (a dump walks the kernel's whole connection table, about 2 ms of
    // CPU for IPv4 and IPv6 on this machine kind; the probe gives the delay every interval).
    std::vector<TcpSocket> sockets;
    bool read_sockets = o_.shadow || now_s - last_sockets_s_ >= o_.tcp_rtt_ms / 1000.0 - 1e-9;
    std::string stale;
    if (read_sockets) {
      last_sockets_s_ = now_s;
      try {
        sockets = ListTcpSockets();
      } catch (const std::exception& e) {
        stale = std::string("no RTT (") + e.what() + ")";
        read_sockets = false;
      }
    }
    if (late) stale = "the loop fell behind";
    std::vector<double> probe_rtts;
    if (probe_) {
      probe_rtts = probe_->Collect();
      probe_->Send();
    }
    const bool adaptive = state_->adaptive();
    metrics_->adaptive.Set(adaptive ? 1 : 0);
    const auto qos = state_->qos();
    for (Point& p : points_) {
      std::vector<sim::LinkSample> samples;
      try {
        samples = p.shaper
                      ? p.observer->FromTree(p.shaper->Read(), read_sockets ? &sockets : nullptr,
                                             now_s, probe_rtts)
                      : p.observer->FromLink(nl_->ReadLink(o_.iface), sockets, now_s, probe_rtts);
        p.read_failures = 0;
      } catch (const TreeGone&) {
        throw;
      } catch (const std::runtime_error& e) {
        ReadFailed(p, now_s, e.what(), qos);
        continue;
      }
      if (samples.empty()) continue;  // the first read: no interval yet
      p.last = samples;
      Observe(p, samples, qos);
      Decide(p, samples, now_s, stale, adaptive, qos);
      // The predictor reads the link the runner shapes (the downlink of `both`).
      if (predictor_ && (&p == &points_.back())) Predict(samples.back(), now_s);
    }
    // The status document is for people and tools: twice a second is enough.
    if (now_s - last_status_s_ >= 0.5) {
      last_status_s_ = now_s;
      SetStatus(now_s);
    }
  }

  void Observe(Point& p, const std::vector<sim::LinkSample>& samples,
               const std::map<sim::AppClass, QosRequirement>& qos) {
    for (const sim::LinkSample& s : samples) {
      const prometheus::Labels l = {{"point", p.label}, {"class", s.app_class}};
      const double bps = sim::DeliveredBps(s);
      if (s.app_class == "all") {
        metrics_->link_delivered.Add({{"point", p.label}}).Set(bps);
      } else {
        const sim::AppClass c = sim::ParseAppClass(s.app_class, "sample");
        metrics_->class_delivered.Add(l).Set(bps);
        metrics_->class_qdelay.Add(l).Set(sim::ImpliedQueueDelayMs(s, p.in_force, c));
        metrics_->class_backlog.Add(l).Set(s.backlog_bytes);
        metrics_->class_rtt_p50.Add(l).Set(Finite(s.rtt_p50_ms));
        metrics_->class_rtt_p95.Add(l).Set(Finite(s.rtt_p95_ms));
        metrics_->class_loss.Add(l).Set(s.loss_rate);
        const auto q = qos.find(c);
        if (q != qos.end()) {
          if (s.rtt_p95_ms > q->second.max_rtt_ms) {
            metrics_->qos_violations.Add({{"class", s.app_class}, {"bound", "rtt"}}).Increment();
          }
          if (s.loss_rate > q->second.max_loss) {
            metrics_->qos_violations.Add({{"class", s.app_class}, {"bound", "loss"}}).Increment();
          }
        }
      }
      if (!o_.record.empty()) {
        sim::LinkSample r = s;
        SetLiveProxies(r);
        core::Row row;
        const auto& fields = sim::LinkSampleFields();
        const auto values = sim::LinkSampleValues(r);
        for (size_t i = 0; i < fields.size(); ++i) row.emplace_back(fields[i], values[i]);
        record_.Add("links/" + s.link + "/" + s.app_class, row);
      }
    }
  }

  void Decide(Point& p, const std::vector<sim::LinkSample>& samples, double now_s,
              const std::string& stale, bool adaptive,
              const std::map<sim::AppClass, QosRequirement>& qos) {
    Decision d;
    d.time_s = now_s;
    d.source = p.policy->name();
    PolicyStep step;
    std::string fallback = stale;
    try {
      step = p.policy->Next(samples, p.in_force);
      p.model_failures = 0;
      d.action = step.action;
      d.confidence = step.confidence;
      d.inference_us = step.inference_us;
      if (std::isfinite(step.inference_us)) metrics_->inference.Observe(step.inference_us * 1e-6);
      if (std::isfinite(step.confidence)) {
        metrics_->confidence.Add({{"point", p.label}}).Set(step.confidence);
        if (step.confidence < o_.min_confidence && fallback.empty()) {
          fallback = "low confidence (" + core::FormatDouble(step.confidence) + ")";
        }
      }
    } catch (const std::runtime_error& e) {
      if (++p.model_failures >= o_.max_model_failures) {
        throw std::runtime_error(std::string("the model failed ") +
                                 std::to_string(p.model_failures) + " times in a row: " + e.what());
      }
      fallback = std::string("model failure: ") + e.what();
    }
    sim::HtbConfig next;
    if (!fallback.empty()) {
      d.source = "fallback";
      d.reason = fallback;
      next = classes_.config;
      metrics_->fallbacks.Add({{"point", p.label}, {"reason", Reason(fallback)}}).Increment();
    } else if (!adaptive) {
      d.reason = "adaptive shaping off";
      next = classes_.config;
    } else {
      next = Bounded(p.in_force, step.config, o_.max_step);
    }
    next = WithFloors(p.in_force, next, o_.max_step, qos);
    d.config = next;
    // Whether the policy's own decision took effect.
    d.applied = !o_.shadow && adaptive && fallback.empty();
    if (p.shaper) p.shaper->Apply(next);
    // In shadow mode the policy observes as if its decisions were in force.
    p.in_force = next;
    metrics_->decisions.Add({{"point", p.label}, {"source", d.source}}).Increment();
    metrics_->link_rate.Add({{"point", p.label}}).Set(next.link_rate_bps);
    for (const sim::HtbClassConfig& c : next.classes) {
      const prometheus::Labels l = {{"point", p.label}, {"class", sim::AppClassName(c.app_class)}};
      metrics_->class_rate.Add(l).Set(c.rate_bps);
      metrics_->class_ceil.Add(l).Set(c.ceil_bps);
      metrics_->class_prio.Add(l).Set(c.prio);
    }
    if (!o_.record.empty()) {
      core::Row row = {{"time_s", now_s},
                       {"applied", d.applied ? 1.0 : 0.0},
                       {"fallback", fallback.empty() ? 0.0 : 1.0},
                       {"adaptive", adaptive ? 1.0 : 0.0},
                       {"confidence", d.confidence},
                       {"inference_us", d.inference_us},
                       {"link_rate_bps", next.link_rate_bps}};
      for (const sim::HtbClassConfig& c : next.classes) {
        const std::string n = sim::AppClassName(c.app_class);
        row.emplace_back(n + ".rate_bps", c.rate_bps);
        row.emplace_back(n + ".ceil_bps", c.ceil_bps);
        row.emplace_back(n + ".prio", c.prio);
      }
      record_.Add("decisions/" + p.label, row);
    }
    if (!fallback.empty()) ++fallbacks_;
    state_->AddDecision(std::move(d));
  }

  void Predict(sim::LinkSample all, double now_s) {
    SetLiveProxies(all);
    if (!predictor_->Add(all)) return;
    core::Row row = {{"time_s", now_s}, {"inference_us", predictor_->inference_us()}};
    for (const Forecast& f : predictor_->forecasts()) {
      const prometheus::Labels l = {{"target", f.target},
                                    {"horizon_s", core::FormatDouble(f.horizon_s)}};
      metrics_->prediction.Add(l).Set(f.value);
      metrics_->prediction_confidence.Add(l).Set(f.confidence);
      const std::string name = f.target + "@" + core::FormatDouble(f.horizon_s) + "s";
      row.emplace_back(name, f.value);
      row.emplace_back(name + ".confidence", f.confidence);
    }
    if (!o_.record.empty()) record_.Add("predictions", row);
  }

  // No observation this interval (a netlink read failed): the static safe config, a decision
  // that says why; after max_model_failures in a row the run stops.
  void ReadFailed(Point& p, double now_s, const std::string& why,
                  const std::map<sim::AppClass, QosRequirement>& qos) {
    if (++p.read_failures >= o_.max_model_failures) {
      throw std::runtime_error("reading " + p.label + " failed " + std::to_string(p.read_failures) +
                               " times in a row: " + why);
    }
    Decision d;
    d.time_s = now_s;
    d.source = "fallback";
    d.reason = "stale observation: " + why;
    d.config = WithFloors(p.in_force, classes_.config, o_.max_step, qos);
    if (p.shaper) p.shaper->Apply(d.config);
    p.in_force = d.config;
    metrics_->fallbacks.Add({{"point", p.label}, {"reason", "stale"}}).Increment();
    metrics_->decisions.Add({{"point", p.label}, {"source", "fallback"}}).Increment();
    ++fallbacks_;
    state_->AddDecision(std::move(d));
  }

  // A label value for a fallback's reason (its first words).
  static std::string Reason(const std::string& why) {
    if (core::StartsWith(why, "model failure")) return "model_failure";
    if (core::StartsWith(why, "low confidence")) return "low_confidence";
    return "stale";
  }

  void SetStatus(double now_s) {
    core::Json points = core::Json::array();
    for (const Point& p : points_) {
      core::Json classes = core::Json::object();
      for (const sim::LinkSample& s : p.last) {
        classes[s.app_class] = {{"delivered_bps", sim::DeliveredBps(s)},
                                {"backlog_bytes", s.backlog_bytes},
                                {"loss", s.loss_rate},
                                {"rtt_p50_ms", Finite(s.rtt_p50_ms)},
                                {"rtt_p95_ms", Finite(s.rtt_p95_ms)}};
      }
      points.push_back({{"direction", p.label},
                        {"device", p.shaper ? p.shaper->shaped_device() : o_.iface},
                        {"leaf", p.shaper ? p.shaper->leaf() : ""},
                        {"link", p.policy->link()},
                        {"policy", p.policy->name()},
                        {"in_force", ConfigJson(p.in_force)},
                        {"last_interval", classes}});
    }
    core::Json forecasts = core::Json::array();
    if (predictor_) {
      for (const Forecast& f : predictor_->forecasts()) {
        forecasts.push_back({{"target", f.target},
                             {"horizon_s", f.horizon_s},
                             {"value", Finite(f.value)},
                             {"confidence", f.confidence}});
      }
    }
    core::Json status = {{"iface", o_.iface},
                         {"predictor", o_.predictor},
                         {"predictions", forecasts},
                         {"shadow", o_.shadow},
                         {"interval_ms", interval_s_ * 1000},
                         {"uptime_s", now_s},
                         {"decisions", state_->decisions_total()},
                         {"fallbacks", fallbacks_},
                         {"points", points}};
    state_->SetStatusJson(core::DumpJson(status));
  }

  void Progress(double now_s) {
    for (const Point& p : points_) {
      double mbps = 0.0, rtt = NAN;
      for (const sim::LinkSample& s : p.last) {
        if (s.app_class == "all") {
          mbps = sim::DeliveredBps(s) / 1e6;
          rtt = s.rtt_p95_ms;
        }
      }
      std::fprintf(
          stderr,
          "linklab-live: t=%.0fs %s decisions=%llu total=%.2f Mbit/s delivered=%.2f "
          "Mbit/s rtt_p95=%.1f ms fallbacks=%llu\n",
          now_s, p.label.c_str(), static_cast<unsigned long long>(state_->decisions_total()),
          p.in_force.link_rate_bps / 1e6, mbps, rtt, static_cast<unsigned long long>(fallbacks_));
    }
  }

  void WriteRecording() {
    if (o_.record.empty() || record_.tables().empty()) return;
    datasets::Attributes a;
    a.text = {{"source", "live:" + o_.iface},
              {"config", "linklab-live --iface " + o_.iface + " --policy " + o_.policy +
                             " --direction " + o_.direction + "\n" + classes_text_},
              {"git_commit", core::GitCommit()},
              {"interval_s", core::FormatDouble(interval_s_)},
              {"policy", points_[0].policy->name()}};
    a.ints = {{"seed", 0}};
    datasets::WriteTables(o_.record, datasets::kDatasetFile, record_, a);
  }

  LiveOptions o_;
  sim::ShapingFile classes_;
  std::string classes_text_;
  double interval_s_ = 0.1;
  std::unique_ptr<Netlink> nl_;  // before points_: their shapers use it when destroyed
  std::vector<Point> points_;
  std::unique_ptr<ControlState> state_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<ControlServer> server_;
  std::unique_ptr<IcmpProbe> probe_;
  std::unique_ptr<LivePredictor> predictor_;
  core::MetricsLog record_;
  uint64_t fallbacks_ = 0;
  double last_sockets_s_ = -1e18, last_status_s_ = -1e18;
  Clock::time_point start_;
};

}  // namespace

int RunLive(const LiveOptions& options) {
  Runner runner(options);
  return runner.Run();
}

}  // namespace linklab::live
