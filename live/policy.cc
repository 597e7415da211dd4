#include "live/policy.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "core/text.h"
#include "models/onnx_runtime.h"
#include "sim/action.h"
#include "sim/controllers.h"
#include "sim/observation.h"

namespace linklab::live {

namespace {

// The classes the policy observes: the file's, in its order, without the default "other".
std::vector<sim::AppClass> ObservedClasses(const sim::ShapingFile& f) {
  std::vector<sim::AppClass> out;
  for (const sim::HtbClassConfig& c : f.config.classes) {
    if (c.app_class != f.config.default_class) out.push_back(c.app_class);
  }
  return out;
}

std::string ClassList(const std::vector<sim::AppClass>& classes) {
  std::vector<std::string> names;
  for (sim::AppClass c : classes) names.push_back(sim::AppClassName(c));
  return core::Join(names, ",");
}

// The value of `key=` in a ';'-separated spec text; "" when absent.
std::string SpecField(const std::string& text, const std::string& key) {
  for (const std::string& part : core::Split(text, ';')) {
    if (core::StartsWith(part, key + "=")) return part.substr(key.size() + 1);
  }
  return "";
}

class FileConfigPolicy : public LivePolicy {
 public:
  FileConfigPolicy(sim::HtbConfig config, std::string link)
      : config_(std::move(config)), link_(std::move(link)) {}
  std::string name() const override { return "static"; }
  const std::string& link() const override { return link_; }
  sim::HtbConfig Reset() override { return config_; }
  PolicyStep Next(const std::vector<sim::LinkSample>&, const sim::HtbConfig&) override {
    return {config_, "hold", NAN, NAN};
  }

 private:
  sim::HtbConfig config_;
  std::string link_;
};

class ControllerPolicy : public LivePolicy {
 public:
  ControllerPolicy(const std::string& name, const sim::ControllerSpec& spec)
      : name_(name), link_(spec.link), controller_(sim::MakeController(name, spec)) {
    autorate_ = dynamic_cast<sim::AutorateController*>(controller_.get());
  }
  std::string name() const override { return name_; }
  const std::string& link() const override { return link_; }
  sim::HtbConfig Reset() override { return controller_->Reset(); }
  PolicyStep Next(const std::vector<sim::LinkSample>& samples,
                  const sim::HtbConfig& in_force) override {
    PolicyStep s;
    s.config = controller_->Next(samples, in_force);
    s.action = autorate_ ? autorate_->last_move() : "rule";
    return s;
  }

 private:
  std::string name_, link_;
  std::unique_ptr<sim::ShapingController> controller_;
  sim::AutorateController* autorate_ = nullptr;
};

class LearnedPolicy : public LivePolicy {
 public:
  LearnedPolicy(const std::string& path, const sim::ShapingFile& classes,
                const std::string& classes_path)
      : path_(path), runtime_(Load(path)) {
    const auto& meta = runtime_.metadata();
    auto need = [&](const std::string& key) -> const std::string& {
      const auto it = meta.find(key);
      if (it == meta.end()) {
        throw std::invalid_argument(
            path + ": no metadata " + key +
            " (export a policy trained in the shaping env with this version of linklab)");
      }
      return it->second;
    };
    const std::string& kind = need("linklab.kind");
    if (kind != "policy") {
      throw std::invalid_argument(path + ": a " + kind + ", not a shaping policy (--policy)");
    }
    const std::string& spec_text = need("linklab.observation.spec");
    const std::string& spec_hash = need("linklab.observation.spec_hash");
    link_ = SpecField(spec_text, "link");
    const long window = std::strtol(SpecField(spec_text, "window").c_str(), nullptr, 10);
    const std::vector<sim::AppClass> observed = ObservedClasses(classes);
    if (observed.empty()) {
      throw std::invalid_argument(classes_path + ": no class but the default to shape");
    }
    encoder_ = std::make_unique<sim::ObservationEncoder>(
        sim::ObservationSpec{link_, observed, static_cast<int>(std::clamp(window, 1L, 64L))});
    if (encoder_->spec_hash() != spec_hash) {
      throw std::invalid_argument(path + ": its observation spec (hash " + spec_hash + ": link " +
                                  link_ + ", window " + std::to_string(window) + ", classes " +
                                  SpecField(spec_text, "classes") +
                                  ") does not match classes file " + classes_path + " (hash " +
                                  encoder_->spec_hash() + ", classes " + ClassList(observed) + ")");
    }
    if (static_cast<int64_t>(encoder_->size()) != runtime_.input_size()) {
      throw std::invalid_argument(path + ": input of " + std::to_string(runtime_.input_size()) +
                                  " values, the observation has " +
                                  std::to_string(encoder_->size()));
    }
    sim::ActionSpec a = sim::ActionSpec::Parse(need("linklab.action.spec"),
                                               path + ": metadata linklab.action.spec");
    if (a.classes != observed) {
      throw std::invalid_argument(path + ": its actions shape " + ClassList(a.classes) +
                                  ", the classes file " + classes_path + " has " +
                                  ClassList(observed));
    }
    a.class_queue_packets = classes.config.class_queue_packets;
    decoder_ = std::make_unique<sim::ActionDecoder>(a);
    action_out_ = runtime_.OutputIndex("action");
    const int64_t want = decoder_->discrete() ? 1 : decoder_->continuous_size();
    if (runtime_.output_size(action_out_) != want) {
      throw std::invalid_argument(path + ": output 'action' has " +
                                  std::to_string(runtime_.output_size(action_out_)) +
                                  " values per row, the decoder takes " + std::to_string(want));
    }
    for (size_t i = 0; i < runtime_.num_outputs(); ++i) {
      if (runtime_.output_name(i) == "probs") probs_out_ = static_cast<int>(i);
    }
    const auto step = meta.find("linklab.env.step_s");
    if (step != meta.end()) step_s_ = std::strtod(step->second.c_str(), nullptr);
    obs_.resize(encoder_->size());
  }

  std::string name() const override {
    return "learned(" + std::filesystem::path(path_).filename().string() + ")";
  }
  const std::string& link() const override { return link_; }
  double step_s() const override { return step_s_; }
  sim::HtbConfig Reset() override {
    encoder_->Reset();
    return decoder_->Reset();
  }
  PolicyStep Next(const std::vector<sim::LinkSample>& samples,
                  const sim::HtbConfig& in_force) override {
    encoder_->Push(samples, in_force);
    encoder_->Encode(obs_.data());
    PolicyStep s;
    const auto t0 = std::chrono::steady_clock::now();
    runtime_.Run(obs_.data(), 1);
    s.inference_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    const float* a = runtime_.output(action_out_);
    const auto n = static_cast<size_t>(runtime_.output_size(action_out_));
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(a[i])) {
        throw std::runtime_error(path_ + ": the model gave a non-finite action");
      }
    }
    if (probs_out_ >= 0) {
      const float* p = runtime_.output(static_cast<size_t>(probs_out_));
      s.confidence =
          *std::max_element(p, p + runtime_.output_size(static_cast<size_t>(probs_out_)));
    }
    try {
      s.config = decoder_->Decode(a, n, encoder_->RecentLinkRateBps());
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(path_ + ": its action cannot be decoded: " + e.what());
    }
    if (decoder_->discrete()) {
      s.action = decoder_->ActionName(static_cast<int>(a[0]));
    } else {
      std::vector<std::string> v;
      for (size_t i = 0; i < n; ++i) v.push_back(core::FormatDouble(std::round(a[i] * 100) / 100));
      s.action = "[" + core::Join(v, ", ") + "]";
    }
    return s;
  }

 private:
  static models::OnnxRuntime Load(const std::string& path) {
    if (!std::filesystem::exists(path)) {
      throw std::invalid_argument("--policy " + path + ": no such file (or a baseline: " +
                                  core::Join(LiveBaselineNames(), ", ") + ")");
    }
    try {
      return models::OnnxRuntime::Load(path);
    } catch (const std::exception& e) {
      throw std::invalid_argument(std::string("--policy ") + e.what());
    }
  }

  std::string path_, link_;
  models::OnnxRuntime runtime_;
  std::unique_ptr<sim::ObservationEncoder> encoder_;
  std::unique_ptr<sim::ActionDecoder> decoder_;
  size_t action_out_ = 0;
  int probs_out_ = -1;
  double step_s_ = 0.0;
  std::vector<float> obs_;
};

}  // namespace

const std::vector<std::string>& LiveBaselineNames() {
  static const std::vector<std::string> names = {"static", "none", "static_htb", "autorate"};
  return names;
}

std::unique_ptr<LivePolicy> MakeLivePolicy(const std::string& policy,
                                           const sim::ShapingFile& classes,
                                           const std::string& classes_path,
                                           const BaselineLimits& limits, const std::string& link) {
  if (classes.config.default_class != sim::AppClass::kOther) {
    throw std::invalid_argument(
        classes_path + ": [shaping] default = " + sim::AppClassName(classes.config.default_class) +
        ": linklab-live's policies send unclassified packets to other");
  }
  const auto& names = LiveBaselineNames();
  if (std::find(names.begin(), names.end(), policy) == names.end()) {
    if (policy.size() < 5 || policy.substr(policy.size() - 5) != ".onnx") {
      throw std::invalid_argument("--policy " + policy +
                                  ": neither an .onnx file nor a baseline (" +
                                  core::Join(names, ", ") + ")");
    }
    return std::make_unique<LearnedPolicy>(policy, classes, classes_path);
  }
  if (policy == "static") return std::make_unique<FileConfigPolicy>(classes.config, link);
  sim::ControllerSpec spec;
  spec.link = link;
  spec.classes = ObservedClasses(classes);
  spec.min_link_bps = limits.min_link_bps;
  spec.max_link_bps = limits.max_link_bps > 0 ? limits.max_link_bps : classes.config.link_rate_bps;
  spec.min_class_bps = limits.min_class_bps;
  spec.class_queue_packets = classes.config.class_queue_packets;
  spec.static_bps = std::clamp(classes.config.link_rate_bps, spec.min_link_bps, spec.max_link_bps);
  spec.Validate("--policy " + policy);
  return std::make_unique<ControllerPolicy>(policy, spec);
}

}  // namespace linklab::live
