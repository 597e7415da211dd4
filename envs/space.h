#pragma once
// Observation and action spaces, as in Gymnasium: Box (shape, dtype, per-element bounds),
// Discrete(n) and MultiDiscrete(nvec). Values of every space travel as a flat Array of floats
// (a Discrete action is one element holding the index) so envs, vector envs and agents share
// one layout.

#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"

namespace linklab::envs {

using Array = std::vector<float>;

enum class DType { kFloat32, kFloat64, kInt64 };
const char* DTypeName(DType dtype);

class Space {
 public:
  enum class Kind { kBox, kDiscrete, kMultiDiscrete };

  Space() = default;
  // Box with per-element bounds; `shape` defaults to {low.size()}. Bounds may be infinite.
  static Space Box(std::vector<double> low, std::vector<double> high,
                   std::vector<int64_t> shape = {}, DType dtype = DType::kFloat32);
  // Box with one bound for every element.
  static Space Box(double low, double high, std::vector<int64_t> shape,
                   DType dtype = DType::kFloat32);
  static Space Discrete(int64_t n);
  static Space MultiDiscrete(std::vector<int64_t> nvec);

  Kind kind() const { return kind_; }
  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  // Number of float elements in one value of this space.
  int64_t size() const { return static_cast<int64_t>(low_.size()); }
  const std::vector<double>& low() const { return low_; }
  const std::vector<double>& high() const { return high_; }
  int64_t n() const;                                          // Discrete only
  const std::vector<int64_t>& nvec() const { return nvec_; }  // MultiDiscrete only
  bool is_discrete() const { return kind_ == Kind::kDiscrete; }

  bool Contains(const Array& x) const;
  // Why `x` is not in the space ("" when it is), for error messages.
  std::string Mismatch(const Array& x) const;
  // Uniform over bounded Box dimensions and discrete sets; a normal on unbounded dimensions
  // and a shifted exponential on half-bounded ones (Gymnasium's rule).
  Array Sample(core::Rng& rng) const;

  std::string ToString() const;
  // Exact one-line text form (used to pass spaces between processes); Decode throws
  // std::invalid_argument on malformed text.
  std::string Encode() const;
  static Space Decode(const std::string& text);
  bool operator==(const Space& other) const;
  bool operator!=(const Space& other) const { return !(*this == other); }

 private:
  Kind kind_ = Kind::kBox;
  DType dtype_ = DType::kFloat32;
  std::vector<int64_t> shape_;
  std::vector<double> low_, high_;  // Discrete: [0, n-1]; MultiDiscrete: [0, nvec-1]
  std::vector<int64_t> nvec_;
};

// "[0.1, -2, 3]" for messages.
std::string ArrayText(const Array& x, size_t max_items = 8);

}  // namespace linklab::envs
