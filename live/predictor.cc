#include "live/predictor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/json.h"
#include "core/text.h"
#include "models/onnx_runtime.h"

namespace linklab::live {

namespace {

// The value of column `c` in sample `s` (a rate where the column is a counter).
double ColumnValue(const sim::SeriesFeatureColumn& c, const sim::LinkSample& s) {
  const auto& fields = sim::LinkSampleFields();
  const size_t i =
      static_cast<size_t>(std::find(fields.begin(), fields.end(), c.column) - fields.begin());
  const double v = sim::LinkSampleValues(s)[i];
  return v * c.scale / (c.per_second ? s.interval_s : 1.0);
}

}  // namespace

LivePredictor::~LivePredictor() = default;

LivePredictor::LivePredictor(const std::string& path) : path_(path) {
  if (!std::filesystem::exists(path)) {
    throw std::invalid_argument("--predictor " + path + ": no such file");
  }
  try {
    runtime_ = std::make_unique<models::OnnxRuntime>(models::OnnxRuntime::Load(path));
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("--predictor ") + e.what());
  }
  const auto& meta = runtime_->metadata();
  auto need = [&](const std::string& key) -> const std::string& {
    const auto it = meta.find(key);
    if (it == meta.end()) {
      throw std::invalid_argument(path + ": no metadata " + key + " (export a predictor run)");
    }
    return it->second;
  };
  if (need("linklab.kind") != "predictor") {
    throw std::invalid_argument(path + ": a " + need("linklab.kind") +
                                ", not a predictor (--predictor)");
  }
  try {
    features_ = core::ParseJson(need("linklab.features"), path).get<std::vector<std::string>>();
    targets_ = core::ParseJson(need("linklab.targets"), path).get<std::vector<std::string>>();
    horizons_s_ = core::ParseJson(need("linklab.horizons_s"), path).get<std::vector<double>>();
    const core::Json scaler = core::ParseJson(need("linklab.scaler"), path);
    mean_ = scaler.at("mean").get<std::vector<double>>();
    std_ = scaler.at("std").get<std::vector<double>>();
    const core::Json calibration = core::ParseJson(need("linklab.calibration"), path);
    interval_s_ = std::stod(need("linklab.interval_s"));
    window_ = std::stoll(need("linklab.window"));
    change_ = need("linklab.target") == "change";
    for (double h : horizons_s_) {
      for (const std::string& t : targets_) {
        const std::string key = "model/" + t + "/" + core::FormatDouble(h);
        calibration_.push_back(calibration.contains(key)
                                   ? calibration[key].get<std::vector<double>>()
                                   : std::vector<double>{});
      }
    }
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::invalid_argument(path + ": malformed predictor metadata: " + e.what());
  }
  if (features_.empty() || mean_.size() != features_.size() || std_.size() != features_.size() ||
      targets_.empty() || horizons_s_.empty() || window_ < 1 || !(interval_s_ > 0)) {
    throw std::invalid_argument(path +
                                ": inconsistent predictor metadata (features, scaler, "
                                "targets, horizons, window, interval)");
  }
  for (size_t f = 0; f < features_.size(); ++f) {
    if (!(std_[f] > 0) || !std::isfinite(std_[f]) || !std::isfinite(mean_[f])) {
      throw std::invalid_argument(path + ": scaler of feature " + features_[f] +
                                  " is not finite > 0");
    }
  }
  const auto& columns = sim::SeriesFeatureColumns();
  for (const std::string& f : features_) {
    if (f == "jitter") {
      throw std::invalid_argument(path +
                                  ": feature jitter (one-way delay variation) is not one "
                                  "an interface gives");
    }
    const auto it = std::find_if(columns.begin(), columns.end(),
                                 [&](const sim::SeriesFeatureColumn& c) { return c.feature == f; });
    if (it == columns.end()) {
      throw std::invalid_argument(path + ": feature " + f + " is not one linklab-live can give");
    }
    feature_column_.push_back(static_cast<size_t>(it - columns.begin()));
  }
  for (const std::string& t : targets_) {
    const auto it = std::find(features_.begin(), features_.end(), t);
    if (it == features_.end())
      throw std::invalid_argument(path + ": target " + t + " is no feature");
    target_feature_.push_back(static_cast<size_t>(it - features_.begin()));
  }
  if (runtime_->input_size() != window_ * static_cast<int64_t>(features_.size()) ||
      runtime_->output_size(runtime_->OutputIndex("output")) !=
          static_cast<int64_t>(targets_.size() * horizons_s_.size())) {
    throw std::invalid_argument(path + ": its input or output size does not match its metadata");
  }
  for (double h : horizons_s_) {
    horizon_steps_.push_back(std::max<int64_t>(1, std::llround(h / interval_s_)));
    for (const std::string& t : targets_) forecasts_.push_back({t, h, NAN, 0.0});
  }
  recent_.resize(forecasts_.size());
  sum_.assign(features_.size(), 0.0);
  last_.assign(features_.size(), NAN);
  count_.assign(features_.size(), 0);
  held_.assign(features_.size(), 0.0);
  input_.resize(static_cast<size_t>(runtime_->input_size()));
}

void LivePredictor::SetLiveInterval(double live_interval_s) {
  const double k = interval_s_ / live_interval_s;
  if (std::llround(k) < 1 || std::fabs(k - std::llround(k)) > 1e-6) {
    throw std::invalid_argument(path_ + ": its interval " + core::FormatDouble(interval_s_) +
                                " s is not a whole number of decision intervals (" +
                                core::FormatDouble(live_interval_s) + " s)");
  }
  per_interval_ = std::llround(k);
}

bool LivePredictor::Add(const sim::LinkSample& all) {
  const auto& columns = sim::SeriesFeatureColumns();
  for (size_t f = 0; f < features_.size(); ++f) {
    const double v = ColumnValue(columns[feature_column_[f]], all);
    if (!std::isfinite(v)) continue;
    sum_[f] += v;
    ++count_[f];
    last_[f] = v;
  }
  if (per_interval_ < 1) throw std::logic_error("LivePredictor::Add before SetLiveInterval");
  if (++pending_ < per_interval_) return false;
  pending_ = 0;
  // Close the interval as data sets do: the mean of the finite values (the clock's last); an
  // interval without one holds the previous value.
  std::vector<double> x(features_.size());
  for (size_t f = 0; f < features_.size(); ++f) {
    const bool clock = features_[f] == "hour" || features_[f] == "day";
    if (clock && std::isfinite(last_[f])) {
      held_[f] = last_[f];
    } else if (!clock && count_[f] > 0) {
      held_[f] = sum_[f] / static_cast<double>(count_[f]);
    }
    x[f] = held_[f];
    sum_[f] = 0.0;
    count_[f] = 0;
    last_[f] = NAN;
  }
  ++step_;
  history_.push_back(x);
  const size_t keep = static_cast<size_t>(window_) + 1;  // the window (the forecasts need no more)
  while (history_.size() > keep) history_.pop_front();
  // Forecasts whose time has come meet their actual.
  while (!due_.empty() && due_.front().step <= step_) {
    const Due d = due_.front();
    due_.pop_front();
    if (d.step != step_) continue;
    const double actual = x[target_feature_[d.index % targets_.size()]];
    if (actual > 0) recent_[d.index].Add(models::Within20(d.value, actual));
  }
  if (history_.size() < static_cast<size_t>(window_)) return true;
  // The window, oldest first, each step's features scaled.
  size_t i = 0;
  for (size_t k = history_.size() - static_cast<size_t>(window_); k < history_.size(); ++k) {
    for (size_t f = 0; f < features_.size(); ++f) {
      input_[i++] = static_cast<float>((history_[k][f] - mean_[f]) / std_[f]);
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  runtime_->Run(input_.data(), 1);
  inference_us_ =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  const float* out = runtime_->output(runtime_->OutputIndex("output"));
  for (size_t h = 0; h < horizons_s_.size(); ++h) {
    for (size_t k = 0; k < targets_.size(); ++k) {
      const size_t idx = h * targets_.size() + k, f = target_feature_[k];
      double v = out[idx];
      if (change_) v += (x[f] - mean_[f]) / std_[f];
      Forecast& fc = forecasts_[idx];
      fc.value = std::isfinite(v) ? v * std_[f] + mean_[f] : NAN;
      fc.confidence = models::Calibrated(calibration_[idx], recent_[idx].Share());
      if (std::isfinite(fc.value)) due_.push_back({step_ + horizon_steps_[h], idx, fc.value});
    }
  }
  std::sort(due_.begin(), due_.end(), [](const Due& a, const Due& b) { return a.step < b.step; });
  return true;
}

}  // namespace linklab::live
