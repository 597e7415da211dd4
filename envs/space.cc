#include "envs/space.h"

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

#include "core/text.h"

namespace linklab::envs {

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kInt64:
      return "int64";
  }
  return "?";
}

static double ToFloat32(double v) {
  if (std::isinf(v)) return v;
  return static_cast<double>(static_cast<float>(v));
}

Space Space::Box(std::vector<double> low, std::vector<double> high, std::vector<int64_t> shape,
                 DType dtype) {
  if (low.size() != high.size() || low.empty()) {
    throw std::invalid_argument("Box: low and high must be non-empty and the same length");
  }
  if (shape.empty()) shape = {static_cast<int64_t>(low.size())};
  int64_t count = 1;
  for (auto d : shape) count *= d;
  if (count != static_cast<int64_t>(low.size())) {
    throw std::invalid_argument("Box: shape does not match the number of bounds");
  }
  Space s;
  s.kind_ = Kind::kBox;
  s.dtype_ = dtype;
  s.shape_ = std::move(shape);
  for (size_t i = 0; i < low.size(); ++i) {
    if (std::isnan(low[i]) || std::isnan(high[i]) || low[i] > high[i]) {
      throw std::invalid_argument("Box: bound " + std::to_string(i) + " has low > high or NaN");
    }
    if (dtype == DType::kFloat32) {
      low[i] = ToFloat32(low[i]);
      high[i] = ToFloat32(high[i]);
    }
  }
  s.low_ = std::move(low);
  s.high_ = std::move(high);
  return s;
}

Space Space::Box(double low, double high, std::vector<int64_t> shape, DType dtype) {
  int64_t count = 1;
  for (auto d : shape) count *= d;
  return Box(std::vector<double>(count, low), std::vector<double>(count, high), shape, dtype);
}

Space Space::Discrete(int64_t n) {
  if (n < 1) throw std::invalid_argument("Discrete: n must be >= 1, got " + std::to_string(n));
  Space s;
  s.kind_ = Kind::kDiscrete;
  s.dtype_ = DType::kInt64;
  s.shape_ = {};
  s.low_ = {0.0};
  s.high_ = {static_cast<double>(n - 1)};
  s.nvec_ = {n};
  return s;
}

Space Space::MultiDiscrete(std::vector<int64_t> nvec) {
  if (nvec.empty()) throw std::invalid_argument("MultiDiscrete: nvec must not be empty");
  Space s;
  s.kind_ = Kind::kMultiDiscrete;
  s.dtype_ = DType::kInt64;
  s.shape_ = {static_cast<int64_t>(nvec.size())};
  for (auto n : nvec) {
    if (n < 1) throw std::invalid_argument("MultiDiscrete: every n must be >= 1");
    s.low_.push_back(0.0);
    s.high_.push_back(static_cast<double>(n - 1));
  }
  s.nvec_ = std::move(nvec);
  return s;
}

int64_t Space::n() const {
  if (kind_ != Kind::kDiscrete) throw std::logic_error("Space::n() on " + ToString());
  return nvec_[0];
}

std::string Space::Mismatch(const Array& x) const {
  if (static_cast<int64_t>(x.size()) != size()) {
    return "has " + std::to_string(x.size()) + " elements, " + ToString() + " needs " +
           std::to_string(size());
  }
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    if (std::isnan(v)) return "element " + std::to_string(i) + " is NaN";
    if (kind_ != Kind::kBox && v != std::floor(v)) {
      return "element " + std::to_string(i) + " = " + core::FormatDouble(v) + " is not an integer";
    }
    if (v < low_[i] || v > high_[i]) {
      return "element " + std::to_string(i) + " = " + core::FormatDouble(v) + " is outside [" +
             core::FormatDouble(low_[i]) + ", " + core::FormatDouble(high_[i]) + "]";
    }
  }
  return "";
}

bool Space::Contains(const Array& x) const {
  if (static_cast<int64_t>(x.size()) != size()) return false;
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    // NaN fails both comparisons below.
    if (!(v >= low_[i] && v <= high_[i])) return false;
    if (kind_ != Kind::kBox && v != std::floor(v)) return false;
  }
  return true;
}

Array Space::Sample(core::Rng& rng) const {
  Array out(low_.size());
  for (size_t i = 0; i < low_.size(); ++i) {
    if (kind_ != Kind::kBox) {
      out[i] = static_cast<float>(rng.UniformInt(static_cast<uint64_t>(high_[i]) + 1));
      continue;
    }
    const bool lo = std::isfinite(low_[i]), hi = std::isfinite(high_[i]);
    double v;
    if (lo && hi)
      v = rng.Uniform(low_[i], high_[i]);
    else if (lo)
      v = low_[i] + rng.Exponential();
    else if (hi)
      v = high_[i] - rng.Exponential();
    else
      v = rng.Normal();
    if (dtype_ == DType::kInt64) v = std::floor(v);
    // Rounding to float must not step outside the bounds.
    float f = static_cast<float>(v);
    if (f < low_[i]) f = static_cast<float>(low_[i]);
    if (f > high_[i]) f = static_cast<float>(high_[i]);
    out[i] = f;
  }
  return out;
}

std::string Space::ToString() const {
  switch (kind_) {
    case Kind::kDiscrete:
      return "Discrete(" + std::to_string(nvec_[0]) + ")";
    case Kind::kMultiDiscrete: {
      std::vector<std::string> parts;
      for (auto n : nvec_) parts.push_back(std::to_string(n));
      return "MultiDiscrete([" + core::Join(parts, ", ") + "])";
    }
    case Kind::kBox: {
      std::vector<std::string> dims;
      for (auto d : shape_) dims.push_back(std::to_string(d));
      bool uniform = true;
      for (size_t i = 1; i < low_.size(); ++i) {
        uniform = uniform && low_[i] == low_[0] && high_[i] == high_[0];
      }
      const std::string bounds =
          uniform ? core::FormatDouble(low_[0]) + ", " + core::FormatDouble(high_[0]) : "low, high";
      return "Box(" + bounds + ", (" + core::Join(dims, ", ") + (dims.size() == 1 ? ",)" : ")") +
             ", " + DTypeName(dtype_) + ")";
    }
  }
  return "?";
}

std::string Space::Encode() const {
  std::string out = std::to_string(static_cast<int>(kind_)) + " " +
                    std::to_string(static_cast<int>(dtype_)) + " " + std::to_string(shape_.size());
  for (auto d : shape_) out += " " + std::to_string(d);
  out += " " + std::to_string(low_.size());
  char buf[64];
  for (size_t i = 0; i < low_.size(); ++i) {
    std::snprintf(buf, sizeof buf, " %a %a", low_[i], high_[i]);
    out += buf;
  }
  out += " " + std::to_string(nvec_.size());
  for (auto n : nvec_) out += " " + std::to_string(n);
  return out;
}

Space Space::Decode(const std::string& text) {
  std::istringstream in(text);
  auto next = [&]() {
    std::string tok;
    if (!(in >> tok)) throw std::invalid_argument("malformed space text '" + text + "'");
    return tok;
  };
  auto next_int = [&]() { return core::ParseInt(next(), "space text"); };
  Space s;
  s.kind_ = static_cast<Kind>(next_int());
  s.dtype_ = static_cast<DType>(next_int());
  s.shape_.resize(next_int());
  for (auto& d : s.shape_) d = next_int();
  const int64_t count = next_int();
  for (int64_t i = 0; i < count; ++i) {
    s.low_.push_back(std::strtod(next().c_str(), nullptr));
    s.high_.push_back(std::strtod(next().c_str(), nullptr));
  }
  s.nvec_.resize(next_int());
  for (auto& n : s.nvec_) n = next_int();
  return s;
}

bool Space::operator==(const Space& o) const {
  return kind_ == o.kind_ && dtype_ == o.dtype_ && shape_ == o.shape_ && low_ == o.low_ &&
         high_ == o.high_ && nvec_ == o.nvec_;
}

std::string ArrayText(const Array& x, size_t max_items) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < x.size() && i < max_items; ++i) parts.push_back(core::FormatDouble(x[i]));
  if (x.size() > max_items) parts.push_back("...");
  return "[" + core::Join(parts, ", ") + "]";
}

}  // namespace linklab::envs
