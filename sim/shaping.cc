#include "sim/shaping.h"

#include <stdexcept>

#include "core/text.h"

namespace linklab::sim {

void HtbConfig::Validate() const {
  if (!(link_rate_bps > 0)) {
    throw std::invalid_argument("shaping: link rate " + core::FormatDouble(link_rate_bps) +
                                " bit/s must be > 0");
  }
  if (class_queue_packets < 1) throw std::invalid_argument("shaping: class queue must be >= 1");
  bool has_default = false;
  for (size_t i = 0; i < classes.size(); ++i) {
    const HtbClassConfig& c = classes[i];
    const std::string what = std::string("shaping class ") + AppClassName(c.app_class);
    if (!(c.rate_bps > 0)) {
      throw std::invalid_argument(what + ": rate " + core::FormatDouble(c.rate_bps) +
                                  " bit/s must be > 0");
    }
    if (!(c.ceil_bps >= c.rate_bps)) {
      throw std::invalid_argument(what + ": ceil " + core::FormatDouble(c.ceil_bps) +
                                  " bit/s is below its rate " + core::FormatDouble(c.rate_bps));
    }
    if (c.prio < 0 || c.prio > 7) {
      throw std::invalid_argument(what + ": prio " + std::to_string(c.prio) + " is outside 0..7");
    }
    for (size_t j = 0; j < i; ++j) {
      if (classes[j].app_class == c.app_class) throw std::invalid_argument(what + " given twice");
    }
    has_default = has_default || c.app_class == default_class;
  }
  if (!has_default) {
    throw std::invalid_argument(std::string("shaping: no class for the default class ") +
                                AppClassName(default_class));
  }
}

HtbConfig TransparentHtb(double link_rate_bps) {
  HtbConfig c;
  c.link_rate_bps = link_rate_bps;
  for (int i = 0; i < kNumAppClasses; ++i) {
    c.classes.push_back(
        {static_cast<AppClass>(i), link_rate_bps / kNumAppClasses, link_rate_bps, 0});
  }
  c.default_class = AppClass::kOther;
  return c;
}

HtbConfig ScaledHtb(HtbConfig config, double scale) {
  config.link_rate_bps *= scale;
  for (auto& c : config.classes) {
    c.rate_bps *= scale;
    c.ceil_bps *= scale;
  }
  return config;
}

}  // namespace linklab::sim
