#pragma once
// What decides the shaping in linklab-live: a learned policy (an exported ONNX file run by the
// torch-free runtime, with the same observation encoder and action decoder as the shaping env
// it was trained in) or a built-in baseline by name, so that one binary compares them live.

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "sim/link_sample.h"
#include "sim/shaping.h"

namespace linklab::live {

// One decision.
struct PolicyStep {
  sim::HtbConfig config;
  std::string action;         // for people: "x0.9 priority", "[0.12, -0.3, ...]", "cut"
  double confidence = NAN;    // a categorical head's top probability; NaN for others
  double inference_us = NAN;  // time in the model (learned policies)
};

// Limits of the baselines (a learned policy keeps those it was trained with).
struct BaselineLimits {
  double min_link_bps = 0.5e6;
  double max_link_bps = 0.0;  // 0: the classes file's link_mbps
  double min_class_bps = 0.05e6;
};

class LivePolicy {
 public:
  virtual ~LivePolicy() = default;
  virtual std::string name() const = 0;  // "learned(P.onnx)", "autorate", "static"
  // The link name its samples must carry, and the classes it observes.
  virtual const std::string& link() const = 0;
  // The step it was trained at (s), 0 for any.
  virtual double step_s() const { return 0.0; }
  // The first config (what training started an episode with).
  virtual sim::HtbConfig Reset() = 0;
  // The config for the next interval from this interval's samples and the config in force.
  // Throws std::runtime_error when the model fails (a non-finite output, say).
  virtual PolicyStep Next(const std::vector<sim::LinkSample>& samples,
                          const sim::HtbConfig& in_force) = 0;
};

// The names MakeLivePolicy takes besides a path: static (the classes file's config, held),
// none, static_htb, autorate.
const std::vector<std::string>& LiveBaselineNames();

// `policy`: a baseline name or an ONNX file (exported by `linklab export` from a shaping-env
// run). `classes` (read from `classes_path`) gives the tree; its default class must be
// "other" (the action decoder's). Throws std::invalid_argument naming the file or option: an
// unknown name, a missing or corrupt file, a predictor instead of a policy, an unsupported
// op, a model whose observation-spec hash does not match the classes file's classes.
std::unique_ptr<LivePolicy> MakeLivePolicy(const std::string& policy,
                                           const sim::ShapingFile& classes,
                                           const std::string& classes_path,
                                           const BaselineLimits& limits, const std::string& link);

}  // namespace linklab::live
