#include "models/mlp.h"

#include <Eigen/Core>
#include <stdexcept>

#include "core/text.h"

namespace linklab::models {

Activation ParseActivation(const std::string& text, const std::string& what) {
  if (text == "tanh") return Activation::kTanh;
  if (text == "relu") return Activation::kRelu;
  throw std::invalid_argument(what + " = '" + text + "': must be tanh or relu");
}

const char* ActivationName(Activation a) { return a == Activation::kTanh ? "tanh" : "relu"; }

int64_t MlpSpec::num_params() const {
  int64_t n = 0;
  for (size_t i = 0; i + 1 < sizes.size(); ++i) n += sizes[i] * sizes[i + 1] + sizes[i + 1];
  return n;
}

std::vector<int64_t> ParseHiddenSizes(const std::string& text, const std::string& what) {
  std::vector<int64_t> out;
  if (core::Trim(text).empty()) return out;
  for (const auto& part : core::Split(text, ',')) {
    const int64_t v = core::ParseInt(part, what);
    if (v < 1 || v > 65536) {
      throw std::invalid_argument(what + " = '" + text + "': layer sizes must be in [1, 65536]");
    }
    out.push_back(v);
  }
  return out;
}

void MlpForward(const MlpSpec& spec, const float* params, const float* in, int64_t rows,
                float* out) {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ConstMap = Eigen::Map<const Matrix>;
  Matrix x = ConstMap(in, rows, spec.sizes[0]);
  const float* p = params;
  const size_t layers = spec.sizes.size() - 1;
  for (size_t l = 0; l < layers; ++l) {
    const int64_t n_in = spec.sizes[l], n_out = spec.sizes[l + 1];
    ConstMap w(p, n_out, n_in);
    Eigen::Map<const Eigen::RowVectorXf> b(p + n_out * n_in, n_out);
    p += n_out * n_in + n_out;
    Matrix y = x * w.transpose();
    y.rowwise() += b;
    if (l + 1 < layers) {
      if (spec.activation == Activation::kTanh)
        y = y.array().tanh();
      else
        y = y.array().max(0.0f);
    }
    x = std::move(y);
  }
  Eigen::Map<Matrix>(out, rows, spec.sizes.back()) = x;
}

}  // namespace linklab::models
