#include "models/policy.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "core/files.h"
#include "core/serialize.h"

namespace linklab::models {

namespace {

const char* HeadName(ActionHead::Kind k) {
  switch (k) {
    case ActionHead::Kind::kCategorical:
      return "categorical";
    case ActionHead::Kind::kGaussianMean:
      return "Gaussian mean";
    case ActionHead::Kind::kConstant:
      return "constant";
  }
  return "unknown";
}

}  // namespace

std::string PolicyArtefact::Problem() const {
  const int64_t obs_size = observation_space.size();
  const int64_t act_size = action_space.size();
  if (head.kind != ActionHead::Kind::kCategorical && head.kind != ActionHead::Kind::kGaussianMean &&
      head.kind != ActionHead::Kind::kConstant) {
    return "unknown action head kind " + std::to_string(static_cast<uint32_t>(head.kind));
  }
  if (head.squash != ActionHead::Squash::kNone && head.squash != ActionHead::Squash::kTanh) {
    return "unknown squash " + std::to_string(static_cast<uint32_t>(head.squash));
  }
  if (head.squash != ActionHead::Squash::kNone && head.kind != ActionHead::Kind::kGaussianMean) {
    return std::string("squashing applies to a Gaussian head, not a ") + HeadName(head.kind) +
           " one";
  }
  if (head.kind != ActionHead::Kind::kConstant &&
      observation_space.kind() != envs::Space::Kind::kBox) {
    return "observation space " + observation_space.ToString() + " is not a Box";
  }
  if (normalizer) {
    const auto& n = *normalizer;
    if (static_cast<int64_t>(n.mean.size()) != obs_size ||
        static_cast<int64_t>(n.var.size()) != obs_size) {
      return "normaliser statistics have " + std::to_string(n.mean.size()) + " means and " +
             std::to_string(n.var.size()) + " variances for an observation of " +
             std::to_string(obs_size);
    }
    for (size_t i = 0; i < n.var.size(); ++i) {
      if (!(n.var[i] >= 0) || !std::isfinite(n.var[i]) || !std::isfinite(n.mean[i])) {
        return "normaliser statistics of element " + std::to_string(i) + " are not finite";
      }
    }
    if (!(n.clip > 0) || !(n.epsilon >= 0)) {
      return "normaliser clip must be > 0 and epsilon >= 0";
    }
  }
  if (head.kind == ActionHead::Kind::kConstant) {
    if (!network.sizes.empty() || !params.empty()) return "a constant policy has no network";
    if (!action_space.Contains(head.constant)) {
      return "constant action " + envs::ArrayText(head.constant) + " is not in " +
             action_space.ToString();
    }
  } else {
    if (network.sizes.size() < 2) return "the network needs at least input and output sizes";
    for (int64_t s : network.sizes) {
      if (s < 1 || s > 65536) return "layer size " + std::to_string(s) + " out of [1, 65536]";
    }
    if (network.input_size() != obs_size) {
      return "the network takes " + std::to_string(network.input_size()) +
             " inputs, the observation space has " + std::to_string(obs_size);
    }
    if (static_cast<int64_t>(params.size()) != network.num_params()) {
      return std::to_string(params.size()) + " parameters for a network of " +
             std::to_string(network.num_params());
    }
    if (head.kind == ActionHead::Kind::kCategorical) {
      if (!action_space.is_discrete()) {
        return "a categorical head needs a Discrete action space, not " + action_space.ToString();
      }
      if (network.output_size() != action_space.n()) {
        return "the network has " + std::to_string(network.output_size()) + " outputs for " +
               std::to_string(action_space.n()) + " actions";
      }
    } else {
      if (action_space.kind() != envs::Space::Kind::kBox) {
        return "a Gaussian head needs a Box action space, not " + action_space.ToString();
      }
      if (network.output_size() != act_size) {
        return "the network has " + std::to_string(network.output_size()) +
               " outputs for an action of " + std::to_string(act_size);
      }
      if (head.squash == ActionHead::Squash::kTanh) {
        for (int64_t k = 0; k < act_size; ++k) {
          if (!std::isfinite(action_space.low()[k]) || !std::isfinite(action_space.high()[k])) {
            return "tanh squashing needs finite action bounds";
          }
        }
      }
    }
  }
  if (!action_table.columns.empty() || !action_table.values.empty()) {
    if (!action_space.is_discrete()) return "an action table needs a Discrete action space";
    const size_t want = static_cast<size_t>(action_space.n()) * action_table.columns.size();
    if (action_table.values.size() != want) {
      return "action table has " + std::to_string(action_table.values.size()) + " values, " +
             std::to_string(action_space.n()) + " actions x " +
             std::to_string(action_table.columns.size()) + " columns need " + std::to_string(want);
    }
  }
  return "";
}

std::string EncodePolicy(const PolicyArtefact& a) {
  const std::string problem = a.Problem();
  if (!problem.empty()) throw std::invalid_argument("policy artefact: " + problem);
  core::ByteWriter w;
  for (int i = 0; i < 8; ++i) w.Put(kPolicyMagic[i]);
  w.Put(kPolicyFormatVersion);
  w.PutString(a.agent);
  w.PutString(a.observation_space.Encode());
  w.PutString(a.action_space.Encode());
  w.Put(static_cast<uint32_t>(a.network.activation));
  w.PutVector(a.network.sizes);
  w.PutVector(a.params);
  w.Put(static_cast<uint32_t>(a.head.kind));
  w.Put(static_cast<uint32_t>(a.head.squash));
  w.Put(static_cast<uint8_t>(a.head.clip_to_bounds));
  w.PutVector(a.head.constant);
  w.Put<uint64_t>(a.action_table.columns.size());
  for (const auto& c : a.action_table.columns) w.PutString(c);
  w.PutVector(a.action_table.values);
  w.Put(static_cast<uint8_t>(a.normalizer.has_value()));
  const ObsNormalizer none;
  const ObsNormalizer& n = a.normalizer ? *a.normalizer : none;
  w.PutVector(n.mean);
  w.PutVector(n.var);
  w.Put(n.clip);
  w.Put(n.epsilon);
  w.Put<uint64_t>(a.metadata.size());
  for (const auto& [k, v] : a.metadata) {
    w.PutString(k);
    w.PutString(v);
  }
  return w.data();
}

PolicyArtefact DecodePolicy(const std::string& data, const std::string& what) {
  const std::string where = "policy artefact " + what;
  if (data.size() < 8 || std::memcmp(data.data(), kPolicyMagic, 8) != 0) {
    throw std::runtime_error(where + ": not a linklab policy (no LLPOLICY magic)");
  }
  core::ByteReader r(data, where);
  for (int i = 0; i < 8; ++i) r.Get<char>();
  const auto version = r.Get<uint32_t>();
  if (version != kPolicyFormatVersion) {
    throw std::runtime_error(where + ": format version " + std::to_string(version) +
                             ", this build reads version " + std::to_string(kPolicyFormatVersion));
  }
  PolicyArtefact a;
  a.agent = r.GetString();
  auto space = [&](const char* which) {
    const std::string text = r.GetString();
    try {
      return envs::Space::Decode(text);
    } catch (const std::exception& e) {
      throw std::runtime_error(where + ": malformed " + which + " space: " + e.what());
    }
  };
  a.observation_space = space("observation");
  a.action_space = space("action");
  const auto activation = r.Get<uint32_t>();
  if (activation > static_cast<uint32_t>(Activation::kRelu)) {
    throw std::runtime_error(where + ": unknown activation " + std::to_string(activation));
  }
  a.network.activation = static_cast<Activation>(activation);
  a.network.sizes = r.GetVector<int64_t>();
  a.params = r.GetVector<float>();
  a.head.kind = static_cast<ActionHead::Kind>(r.Get<uint32_t>());
  a.head.squash = static_cast<ActionHead::Squash>(r.Get<uint32_t>());
  a.head.clip_to_bounds = r.Get<uint8_t>() != 0;
  a.head.constant = r.GetVector<float>();
  const auto columns = r.Get<uint64_t>();
  for (uint64_t i = 0; i < columns; ++i) a.action_table.columns.push_back(r.GetString());
  a.action_table.values = r.GetVector<float>();
  const bool has_normalizer = r.Get<uint8_t>() != 0;
  ObsNormalizer n;
  n.mean = r.GetVector<double>();
  n.var = r.GetVector<double>();
  n.clip = r.Get<double>();
  n.epsilon = r.Get<double>();
  if (has_normalizer) a.normalizer = std::move(n);
  const auto entries = r.Get<uint64_t>();
  for (uint64_t i = 0; i < entries; ++i) {
    std::string key = r.GetString();
    a.metadata[key] = r.GetString();
  }
  r.ExpectEnd();
  // Sizes (and everything else) must agree before anything runs on them.
  const std::string problem = a.Problem();
  if (!problem.empty()) throw std::runtime_error(where + ": " + problem);
  return a;
}

void WritePolicy(const std::string& path, const PolicyArtefact& a) {
  core::WriteFileAtomic(path, EncodePolicy(a));
}

PolicyArtefact ReadPolicy(const std::string& path) {
  return DecodePolicy(core::ReadFile(path), path);
}

Policy::Policy(PolicyArtefact artefact) : a_(std::move(artefact)) {
  const std::string problem = a_.Problem();
  if (!problem.empty()) throw std::invalid_argument("policy artefact: " + problem);
  obs_size_ = a_.observation_space.size();
  act_size_ = a_.action_space.size();
}

Policy Policy::Load(const std::string& path) { return Policy(ReadPolicy(path)); }

Array Policy::Act(const Array& obs, int rows) const {
  if (rows < 0 || static_cast<int64_t>(obs.size()) != rows * obs_size_) {
    throw std::invalid_argument("Policy::Act: " + std::to_string(obs.size()) +
                                " observation values for " + std::to_string(rows) + " rows of " +
                                std::to_string(obs_size_));
  }
  Array out(static_cast<size_t>(rows) * act_size_);
  if (a_.head.kind == ActionHead::Kind::kConstant) {
    for (int r = 0; r < rows; ++r) {
      std::copy(a_.head.constant.begin(), a_.head.constant.end(), out.begin() + r * act_size_);
    }
    return out;
  }
  // The same arithmetic as envs::NormalizeObservation::Apply, so actions match bit for bit.
  Array x = obs;
  if (a_.normalizer) {
    const ObsNormalizer& n = *a_.normalizer;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < obs_size_; ++j) {
        float& v = x[r * obs_size_ + j];
        const double z = (v - n.mean[j]) / std::sqrt(n.var[j] + n.epsilon);
        v = static_cast<float>(std::clamp(z, -n.clip, n.clip));
      }
    }
  }
  const int64_t width = a_.network.output_size();
  std::vector<float> y(static_cast<size_t>(rows) * width);
  MlpForward(a_.network, a_.params.data(), x.data(), rows, y.data());
  const auto& low = a_.action_space.low();
  const auto& high = a_.action_space.high();
  for (int64_t r = 0; r < rows; ++r) {
    const float* o = y.data() + r * width;
    if (a_.head.kind == ActionHead::Kind::kCategorical) {
      out[r] = static_cast<float>(std::max_element(o, o + width) - o);
      continue;
    }
    for (int64_t k = 0; k < act_size_; ++k) {
      double v = o[k];
      if (a_.head.squash == ActionHead::Squash::kTanh) {
        v = low[k] + (std::tanh(v) + 1.0) * 0.5 * (high[k] - low[k]);
      }
      if (a_.head.clip_to_bounds) v = std::clamp(v, low[k], high[k]);
      out[r * act_size_ + k] = static_cast<float>(v);
    }
  }
  return out;
}

std::vector<float> Policy::ActionValues(int64_t index) const {
  const size_t width = a_.action_table.columns.size();
  if (width == 0) throw std::invalid_argument("this policy has no action table");
  if (index < 0 || index >= a_.action_space.n()) {
    throw std::invalid_argument("action " + std::to_string(index) + " out of [0, " +
                                std::to_string(a_.action_space.n() - 1) + "]");
  }
  const auto begin = a_.action_table.values.begin() + index * width;
  return std::vector<float>(begin, begin + width);
}

}  // namespace linklab::models
