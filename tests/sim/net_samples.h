#pragma once
// Hand-made LinkSamples for the tests of the vocabulary library (encoder, decoder, reward).

#include <cmath>
#include <vector>

#include "core/rng.h"
#include "sim/link_sample.h"
#include "sim/shaping.h"

namespace linklab::testing {

// One sample of `c` on `link` over `interval_s`.
inline sim::LinkSample ClassSample(const std::string& link, const std::string& c,
                                   double interval_s) {
  sim::LinkSample s;
  s.link = link;
  s.app_class = c;
  s.interval_s = interval_s;
  s.time_s = interval_s;
  return s;
}

// Random samples of `classes` and "all" on "down" (and the same on "up", which encoders of
// "down" must ignore): every field filled, truth fields included; "all" sums the counters.
inline std::vector<sim::LinkSample> RandomSamples(const std::vector<sim::AppClass>& classes,
                                                  core::Rng& rng) {
  std::vector<sim::LinkSample> out;
  for (const char* link : {"down", "up"}) {
    sim::LinkSample all = ClassSample(link, "all", 0.1);
    for (sim::AppClass c : classes) {
      sim::LinkSample s = ClassSample(link, sim::AppClassName(c), 0.1);
      for (const std::string& f : sim::LinkSampleFields()) {
        if (f == "time_s" || f == "interval_s") continue;
        sim::SetLinkSampleField(s, f, rng.Uniform(0.0, 1000.0));
      }
      s.bytes_delivered = rng.UniformInt(200000);
      s.packets_delivered = s.bytes_delivered / 1500;
      s.drops = rng.UniformInt(20);
      s.backlog_bytes = rng.Uniform(0.0, 300000.0);
      s.rtt_p50_ms = rng.Uniform(20.0, 400.0);
      s.rtt_p95_ms = s.rtt_p50_ms + rng.Uniform(0.0, 300.0);
      all.bytes_delivered += s.bytes_delivered;
      all.packets_delivered += s.packets_delivered;
      all.drops += s.drops;
      all.backlog_bytes += s.backlog_bytes;
      out.push_back(s);
    }
    all.capacity_mbps = rng.Uniform(1.0, 50.0);
    out.push_back(all);
  }
  return out;
}

// A shaping config with every class of `classes` and "other".
inline sim::HtbConfig SomeShaping(const std::vector<sim::AppClass>& classes) {
  sim::HtbConfig h;
  h.link_rate_bps = 20e6;
  int prio = 0;
  for (sim::AppClass c : classes) h.classes.push_back({c, 2e6, 20e6, prio++ % 8});
  h.classes.push_back({sim::AppClass::kOther, 1e6, 20e6, 7});
  h.default_class = sim::AppClass::kOther;
  return h;
}

}  // namespace linklab::testing
