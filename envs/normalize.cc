// Normalisers on vector envs: RunningMeanStd, NormalizeObservation, ScaleReward (declared in
// envs/vector_env.h).

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "envs/vector_env.h"

namespace linklab::envs {

RunningMeanStd::RunningMeanStd(int64_t size) : mean_(size, 0.0), var_(size, 1.0) {}

void RunningMeanStd::Update(const float* batch, int64_t rows) {
  const size_t dim = mean_.size();
  if (rows <= 0 || dim == 0) return;
  std::vector<double> bmean(dim, 0.0), bvar(dim, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < dim; ++j) bmean[j] += batch[r * dim + j];
  }
  for (auto& m : bmean) m /= rows;
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < dim; ++j) {
      const double d = batch[r * dim + j] - bmean[j];
      bvar[j] += d * d;
    }
  }
  for (auto& v : bvar) v /= rows;
  const double total = count_ + rows;
  for (size_t j = 0; j < dim; ++j) {
    const double delta = bmean[j] - mean_[j];
    const double m2 = var_[j] * count_ + bvar[j] * rows + delta * delta * count_ * rows / total;
    mean_[j] += delta * rows / total;
    var_[j] = m2 / total;
  }
  count_ = total;
}

void RunningMeanStd::Write(core::ByteWriter& out) const {
  out.PutVector(mean_);
  out.PutVector(var_);
  out.Put(count_);
}

void RunningMeanStd::Read(core::ByteReader& in) {
  auto mean = in.GetVector<double>();
  auto var = in.GetVector<double>();
  const double count = in.Get<double>();
  if (mean.size() != mean_.size() || var.size() != var_.size()) {
    throw std::runtime_error("normaliser statistics have " + std::to_string(mean.size()) +
                             " elements, this env needs " + std::to_string(mean_.size()));
  }
  mean_ = std::move(mean);
  var_ = std::move(var);
  count_ = count;
}

NormalizeObservation::NormalizeObservation(std::unique_ptr<VectorEnv> env, double clip, double eps)
    : VectorWrapper(std::move(env)),
      rms_(env_->single_observation_space().size()),
      clip_(clip),
      eps_(eps) {}

void NormalizeObservation::Apply(float* obs, int64_t rows) const {
  const size_t dim = rms_.mean().size();
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t j = 0; j < dim; ++j) {
      double v = (obs[r * dim + j] - rms_.mean()[j]) / std::sqrt(rms_.var()[j] + eps_);
      obs[r * dim + j] = static_cast<float>(std::clamp(v, -clip_, clip_));
    }
  }
}

const VectorStep& NormalizeObservation::Transform(const VectorStep& raw) {
  out_ = raw;
  if (training_) rms_.Update(raw.obs.data(), num_envs());
  Apply(out_.obs.data(), num_envs());
  return out_;
}

std::string NormalizeObservation::SaveState() const {
  core::ByteWriter w;
  rms_.Write(w);
  w.Put(training_);
  w.PutString(env_->SaveState());
  return w.data();
}

void NormalizeObservation::LoadState(const std::string& data) {
  core::ByteReader r(data, "observation normaliser state");
  rms_.Read(r);
  training_ = r.Get<bool>();
  env_->LoadState(r.GetString());
  r.ExpectEnd();
}

const VectorStep& NormalizeObservation::Reset(std::optional<uint64_t> seed) {
  return Transform(env_->Reset(seed));
}

const VectorStep& NormalizeObservation::Step(const Array& actions) {
  return Transform(env_->Step(actions));
}

ScaleReward::ScaleReward(std::unique_ptr<VectorEnv> env, double gamma, double clip, double eps)
    : VectorWrapper(std::move(env)),
      rms_(1),
      gamma_(gamma),
      clip_(clip),
      eps_(eps),
      returns_(env_->num_envs(), 0.0),
      was_done_(env_->num_envs(), 0) {}

std::string ScaleReward::SaveState() const {
  core::ByteWriter w;
  rms_.Write(w);
  w.Put(training_);
  w.PutVector(returns_);
  w.PutVector(was_done_);
  w.PutString(env_->SaveState());
  return w.data();
}

void ScaleReward::LoadState(const std::string& data) {
  core::ByteReader r(data, "reward scaler state");
  rms_.Read(r);
  training_ = r.Get<bool>();
  returns_ = r.GetVector<double>();
  was_done_ = r.GetVector<uint8_t>();
  env_->LoadState(r.GetString());
  r.ExpectEnd();
}

const VectorStep& ScaleReward::Reset(std::optional<uint64_t> seed) {
  std::fill(returns_.begin(), returns_.end(), 0.0);
  std::fill(was_done_.begin(), was_done_.end(), 0);
  out_ = env_->Reset(seed);
  return out_;
}

const VectorStep& ScaleReward::Step(const Array& actions) {
  out_ = env_->Step(actions);
  const int n = num_envs();
  std::vector<float> batch(n);
  for (int i = 0; i < n; ++i) {
    returns_[i] = (was_done_[i] ? 0.0 : returns_[i] * gamma_) + out_.reward[i];
    was_done_[i] = out_.terminated[i] || out_.truncated[i];
    batch[i] = static_cast<float>(returns_[i]);
  }
  if (training_) rms_.Update(batch.data(), n);
  const double scale = 1.0 / std::sqrt(rms_.var()[0] + eps_);
  for (int i = 0; i < n; ++i) out_.reward[i] = std::clamp(out_.reward[i] * scale, -clip_, clip_);
  return out_;
}

}  // namespace linklab::envs
