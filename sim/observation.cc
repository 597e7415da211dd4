#include "sim/observation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/text.h"

namespace linklab::sim {

namespace {

// The features of one frame: name and scale, as the header documents them.
struct FeatureDoc {
  const char* name;
  const char* scale;
  float high;
};

constexpr float kMax = ObservationEncoder::kMaxFeature;

const FeatureDoc kLinkDocs[ObservationEncoder::kLinkFeatures] = {
    {"valid", "flag", 1.0f},
    {"mbps", "log10(1+Mbit/s) delivered", kMax},
    {"root_mbps", "log10(1+Mbit/s) htb root rate", kMax},
};

const FeatureDoc kClassDocs[ObservationEncoder::kClassFeatures] = {
    {"mbps", "log10(1+Mbit/s) delivered", kMax},
    {"share", "delivered/link delivered", 1.0f},
    {"loss", "drops/(drops+packets delivered)", 1.0f},
    {"backlog_kb", "log10(1+kB)", kMax},
    {"qdelay_ms", "log10(1+ms) backlog/service rate", kMax},
    {"rtt_p50_ms", "log10(1+ms), 0 without samples", kMax},
    {"rtt_p95_ms", "log10(1+ms), 0 without samples", kMax},
    {"rtt_valid", "flag", 1.0f},
    {"htb_rate_mbps", "log10(1+Mbit/s) configured", kMax},
    {"htb_ceil_mbps", "log10(1+Mbit/s) configured", kMax},
    {"htb_prio", "prio/7", 1.0f},
};

constexpr double kMaxQueueDelayMs = 1e5;

// x clamped to [0, high]; NaN becomes 0.
float Clamp(double x, float high) {
  if (std::isnan(x)) return 0.0f;
  return static_cast<float>(std::clamp(x, 0.0, static_cast<double>(high)));
}

// log10(1 + x) for x >= 0; NaN or negative inputs count as 0, +inf as the cap.
float Log(double x) {
  if (std::isnan(x) || x <= 0) return 0.0f;
  return Clamp(std::log10(1.0 + std::min(x, 1e30)), kMax);
}

}  // namespace

const HtbClassConfig* ServingClass(const HtbConfig& config, AppClass c) {
  const HtbClassConfig* fallback = nullptr;
  for (const HtbClassConfig& k : config.classes) {
    if (k.app_class == c) return &k;
    if (k.app_class == config.default_class) fallback = &k;
  }
  return fallback;
}

double DeliveredBps(const LinkSample& s) {
  return s.interval_s > 0 && std::isfinite(s.interval_s) ? s.bytes_delivered * 8.0 / s.interval_s
                                                         : 0.0;
}

double ImpliedQueueDelayMs(const LinkSample& s, const HtbConfig& shaping, AppClass c) {
  const double backlog = std::isfinite(s.backlog_bytes) ? std::max(0.0, s.backlog_bytes) : 0.0;
  if (backlog <= 0) return 0.0;
  const double bps = DeliveredBps(s);
  const HtbClassConfig* htb = ServingClass(shaping, c);
  const double service_bps = bps > 0 ? bps : htb ? htb->rate_bps : 0.0;
  return service_bps > 0 ? std::min(backlog * 8.0 / service_bps * 1e3, kMaxQueueDelayMs)
                         : kMaxQueueDelayMs;
}

ObservationEncoder::ObservationEncoder(ObservationSpec spec) : spec_(std::move(spec)) {
  if (spec_.classes.empty()) throw std::invalid_argument("observation: no classes to observe");
  if (spec_.window < 1 || spec_.window > 64) {
    throw std::invalid_argument("observation: window = " + std::to_string(spec_.window) +
                                ": must be in 1..64");
  }
  for (size_t i = 0; i < spec_.classes.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (spec_.classes[i] == spec_.classes[j]) {
        throw std::invalid_argument(std::string("observation: class ") +
                                    AppClassName(spec_.classes[i]) + " given twice");
      }
    }
  }
  frame_size_ = kLinkFeatures + spec_.classes.size() * kClassFeatures;
  std::vector<std::string> class_names;
  for (AppClass c : spec_.classes) class_names.push_back(AppClassName(c));
  spec_text_ = "linklab-obs/1;link=" + spec_.link + ";window=" + std::to_string(spec_.window) +
               ";classes=" + core::Join(class_names, ",") + ";clamp=[0," +
               core::FormatDouble(kMax) + "];frame=";
  for (const FeatureDoc& d : kLinkDocs) {
    spec_text_ += std::string("link.") + d.name + ":" + d.scale + ";";
  }
  for (const FeatureDoc& d : kClassDocs) {
    spec_text_ += std::string("<class>.") + d.name + ":" + d.scale + ";";
  }
  for (int k = 0; k < spec_.window; ++k) {
    const std::string t = "t" + std::to_string(k) + ".";
    for (const FeatureDoc& d : kLinkDocs) {
      names_.push_back(t + "link." + d.name);
      high_.push_back(d.high);
    }
    for (const std::string& c : class_names) {
      for (const FeatureDoc& d : kClassDocs) {
        names_.push_back(t + c + "." + d.name);
        high_.push_back(d.high);
      }
    }
  }
  low_.assign(names_.size(), 0.0);
  ring_.assign(size(), 0.0f);
  link_bps_.assign(spec_.window, 0.0);
}

std::string ObservationEncoder::spec_hash() const {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx",
                static_cast<unsigned long long>(core::Fnv1a64(spec_text_)));
  return text;
}

void ObservationEncoder::Reset() {
  std::fill(ring_.begin(), ring_.end(), 0.0f);
  std::fill(link_bps_.begin(), link_bps_.end(), 0.0);
  head_ = 0;
  frames_ = 0;
}

void ObservationEncoder::Push(const std::vector<LinkSample>& samples, const HtbConfig& shaping) {
  const LinkSamples picked = SelectLinkSamples(samples, spec_.link, spec_.classes, "observation");
  const LinkSample* all = picked.all;
  const auto& mine = picked.classes;
  const size_t n = spec_.classes.size();
  float* f = ring_.data() + static_cast<size_t>(head_) * frame_size_;
  const double link_bps = DeliveredBps(*all);
  link_bps_[head_] = link_bps;
  *f++ = 1.0f;
  *f++ = Log(link_bps / 1e6);
  *f++ = Log(shaping.link_rate_bps / 1e6);
  for (size_t k = 0; k < n; ++k) {
    const LinkSample& s = *mine[k];
    const HtbClassConfig* htb = ServingClass(shaping, spec_.classes[k]);
    const double bps = DeliveredBps(s);
    const double decided = static_cast<double>(s.drops) + static_cast<double>(s.packets_delivered);
    const double backlog = std::isfinite(s.backlog_bytes) ? std::max(0.0, s.backlog_bytes) : 0.0;
    const double htb_rate = htb ? htb->rate_bps : 0.0;
    const double qdelay_ms = ImpliedQueueDelayMs(s, shaping, spec_.classes[k]);
    const bool rtt_valid = std::isfinite(s.rtt_p50_ms) && std::isfinite(s.rtt_p95_ms);
    *f++ = Log(bps / 1e6);
    *f++ = all->bytes_delivered > 0
               ? Clamp(static_cast<double>(s.bytes_delivered) / all->bytes_delivered, 1.0f)
               : 0.0f;
    *f++ = decided > 0 ? Clamp(s.drops / decided, 1.0f) : 0.0f;
    *f++ = Log(backlog / 1e3);
    *f++ = Log(qdelay_ms);
    *f++ = rtt_valid ? Log(s.rtt_p50_ms) : 0.0f;
    *f++ = rtt_valid ? Log(s.rtt_p95_ms) : 0.0f;
    *f++ = rtt_valid ? 1.0f : 0.0f;
    *f++ = Log(htb_rate / 1e6);
    *f++ = htb ? Log(htb->ceil_bps / 1e6) : 0.0f;
    *f++ = htb ? Clamp(htb->prio / 7.0, 1.0f) : 0.0f;
  }
  head_ = (head_ + 1) % spec_.window;
  frames_ = std::min(frames_ + 1, spec_.window);
}

void ObservationEncoder::Encode(float* out) const {
  // Newest first: the frame before head_, then older ones; missing frames are zeros.
  for (int k = 0; k < spec_.window; ++k) {
    float* dst = out + static_cast<size_t>(k) * frame_size_;
    if (k >= frames_) {
      std::fill(dst, dst + frame_size_, 0.0f);
      continue;
    }
    const int slot = (head_ - 1 - k + 2 * spec_.window) % spec_.window;
    const float* src = ring_.data() + static_cast<size_t>(slot) * frame_size_;
    std::copy(src, src + frame_size_, dst);
  }
}

std::vector<float> ObservationEncoder::Encode() const {
  std::vector<float> out(size());
  Encode(out.data());
  return out;
}

double ObservationEncoder::RecentLinkRateBps() const {
  if (frames_ == 0) return 0.0;
  double sum = 0.0;
  for (int k = 0; k < frames_; ++k) {
    sum += link_bps_[(head_ - 1 - k + 2 * spec_.window) % spec_.window];
  }
  return sum / frames_;
}

}  // namespace linklab::sim
