#include "models/onnx_runtime.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>
#include <stdexcept>

#include "core/files.h"
#include "core/text.h"
#include "models/kernels.h"

namespace linklab::models {

namespace {

constexpr int64_t kBatch = -1;                      // the batch dimension in a shape
constexpr int64_t kMaxElements = int64_t{1} << 26;  // per row, and per initializer
constexpr int64_t kMaxTotal = int64_t{1} << 27;     // floats of all buffers (one row) and weights

enum class Op {
  kIdentity,
  kGemm,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMax,
  kMin,
  kRelu,
  kTanh,
  kSigmoid,
  kClip,
  kSoftmax,
  kArgMax,
  kCast,
  kTranspose,
  kSqueeze,
  kConcat,
  kBatchNorm,
  kLstm,
  kGru
};

struct OpInfo {
  Op op;
  int min_inputs, max_inputs, max_outputs;
  std::set<std::string> attributes;  // the attributes it accepts (values checked later)
};

const std::map<std::string, OpInfo>& Ops() {
  static const std::map<std::string, OpInfo> ops = {
      {"Identity", {Op::kIdentity, 1, 1, 1, {}}},
      {"Gemm", {Op::kGemm, 2, 3, 1, {"alpha", "beta", "transA", "transB"}}},
      {"MatMul", {Op::kGemm, 2, 2, 1, {}}},
      {"Add", {Op::kAdd, 2, 2, 1, {}}},
      {"Sub", {Op::kSub, 2, 2, 1, {}}},
      {"Mul", {Op::kMul, 2, 2, 1, {}}},
      {"Div", {Op::kDiv, 2, 2, 1, {}}},
      {"Max", {Op::kMax, 2, 2, 1, {}}},
      {"Min", {Op::kMin, 2, 2, 1, {}}},
      {"Relu", {Op::kRelu, 1, 1, 1, {}}},
      {"Tanh", {Op::kTanh, 1, 1, 1, {}}},
      {"Sigmoid", {Op::kSigmoid, 1, 1, 1, {}}},
      {"Clip", {Op::kClip, 1, 3, 1, {}}},
      {"Softmax", {Op::kSoftmax, 1, 1, 1, {"axis"}}},
      {"ArgMax", {Op::kArgMax, 1, 1, 1, {"axis", "keepdims", "select_last_index"}}},
      {"Cast", {Op::kCast, 1, 1, 1, {"to"}}},
      {"Transpose", {Op::kTranspose, 1, 1, 1, {"perm"}}},
      {"Squeeze", {Op::kSqueeze, 2, 2, 1, {}}},
      {"Concat", {Op::kConcat, 1, 64, 1, {"axis"}}},
      {"BatchNormalization", {Op::kBatchNorm, 5, 5, 1, {"epsilon", "momentum", "training_mode"}}},
      {"LSTM",
       {Op::kLstm, 3, 8, 3, {"hidden_size", "direction", "activations", "input_forget", "layout"}}},
      {"GRU",
       {Op::kGru,
        3,
        6,
        2,
        {"hidden_size", "direction", "activations", "linear_before_reset", "layout"}}},
  };
  return ops;
}

struct Value {
  std::string name;
  std::vector<int64_t> dims;  // kBatch marks the batch dimension (at most one)
  bool constant = false;
  bool int64 = false;         // element type int64 (activations hold the values as floats)
  std::vector<float> data;    // a constant's values, or an activation's buffer
  std::vector<int64_t> ints;  // an int64 constant's values
};

// Elements of `dims` with the batch `rows` long.
int64_t Count(const std::vector<int64_t>& dims, int64_t rows) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d == kBatch ? rows : d;
  return n;
}

std::string ShapeText(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) {
    s += (i ? ", " : "") + (dims[i] == kBatch ? std::string("batch") : std::to_string(dims[i]));
  }
  return s + "]";
}

struct Step {
  Op op;
  std::vector<int> in, out;  // value indices; -1: an omitted optional one
  // Gemm: weights [n, k] and bias [n]; LSTM: W [4H, I], bias Wb + Rb, R [4H, H];
  // GRU: W [3H, I], bias Wb, R [3H, H], bias2 Rb; BatchNorm: per channel scale and shift.
  std::vector<float> w, bias, r, bias2;
  int64_t k = 0, n = 0, hidden = 0, steps = 0;
  // Binary ops: 0 same shape, 1 a constant scalar, 2 a constant vector over the last
  // dimension; `operand` is the constant's value index.
  int broadcast = 0;
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  bool last_index = false;
  std::vector<int64_t> perm;
  std::vector<int64_t> chunks;   // Concat: each input's values per outer index, without the batch
  bool batch_outer = false;      // Concat: the batch lies before the axis
  std::vector<float> scratch;    // recurrent state and gates, sized for the capacity
  kernels::PackedMatrix pw, pr;  // w and r packed for kernels::Gemm
};

}  // namespace

struct OnnxRuntime::Impl {
  std::string what;
  std::vector<Value> values;
  std::map<std::string, int> index;
  std::vector<Step> steps;
  int input = -1;
  std::vector<int64_t> input_shape;  // without the batch
  std::vector<int> outputs;
  std::vector<std::string> output_names;
  std::map<std::string, std::string> metadata;
  int64_t capacity = 0;

  int64_t used = 0;  // floats the buffers (for one row) and packed weights will take

  [[noreturn]] void Fail(const std::string& message) const {
    throw std::runtime_error(what + ": " + message);
  }
  // Counts `floats` more against kMaxTotal (a small file must not make the loader allocate
  // gigabytes).
  void Use(int64_t floats, const std::string& where) {
    used += floats;
    if (floats > kMaxTotal || used > kMaxTotal) {
      Fail(where + ": the model would need more than " + std::to_string(kMaxTotal * 4 >> 20) +
           " MiB of buffers and weights");
    }
  }

  void Load(const std::string& bytes);
  void AddInitializer(const onnx::TensorProto& t);
  void AddNode(const onnx::NodeProto& node);
  void Reserve(int64_t rows);
  void Execute(Step& s, int64_t rows);
};

namespace {

// The attributes of one node, checked against what its op accepts.
class Attributes {
 public:
  Attributes(const onnx::NodeProto& node, const OpInfo& info, const std::string& where)
      : where_(where) {
    for (const auto& a : node.attribute()) {
      if (!info.attributes.count(a.name())) {
        throw std::runtime_error(where + ": attribute '" + core::Printable(a.name()) +
                                 "' is not implemented");
      }
      map_[a.name()] = &a;
    }
  }
  bool Has(const std::string& name) const { return map_.count(name) > 0; }
  int64_t Int(const std::string& name, int64_t fallback) const {
    const auto* a = Get(name, onnx::AttributeProto::INT);
    return a ? a->i() : fallback;
  }
  float Float(const std::string& name, float fallback) const {
    const auto* a = Get(name, onnx::AttributeProto::FLOAT);
    return a ? a->f() : fallback;
  }
  std::string String(const std::string& name, const std::string& fallback) const {
    const auto* a = Get(name, onnx::AttributeProto::STRING);
    return a ? a->s() : fallback;
  }
  std::vector<int64_t> Ints(const std::string& name) const {
    const auto* a = Get(name, onnx::AttributeProto::INTS);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
  }
  std::vector<std::string> Strings(const std::string& name) const {
    const auto* a = Get(name, onnx::AttributeProto::STRINGS);
    return a ? std::vector<std::string>(a->strings().begin(), a->strings().end())
             : std::vector<std::string>{};
  }

 private:
  const onnx::AttributeProto* Get(const std::string& name,
                                  onnx::AttributeProto::AttributeType type) const {
    const auto it = map_.find(name);
    if (it == map_.end()) return nullptr;
    if (it->second->type() != type) {
      throw std::runtime_error(where_ + ": attribute " + name + " has type " +
                               std::to_string(it->second->type()) + ", not " +
                               std::to_string(type));
    }
    return it->second;
  }
  std::string where_;
  std::map<std::string, const onnx::AttributeProto*> map_;
};

}  // namespace

namespace {

// The n values of initializer `t`, from its raw bytes or its typed field `typed`; throws
// std::runtime_error (`where`: the file and initializer) when their count is not n.
template <class T, class Repeated>
std::vector<T> Values(const onnx::TensorProto& t, const Repeated& typed, int64_t n,
                      const std::string& where) {
  std::vector<T> out;
  if (!t.raw_data().empty()) {
    if (t.raw_data().size() != static_cast<size_t>(n) * sizeof(T)) {
      throw std::runtime_error(where + ": " + std::to_string(t.raw_data().size()) +
                               " data bytes for " + std::to_string(n) + " values of " +
                               std::to_string(sizeof(T)) + " bytes");
    }
    out.resize(n);
    std::memcpy(out.data(), t.raw_data().data(), t.raw_data().size());
  } else {
    if (typed.size() != n) {
      throw std::runtime_error(where + ": " + std::to_string(typed.size()) + " values for " +
                               std::to_string(n));
    }
    out.assign(typed.begin(), typed.end());
  }
  return out;
}

}  // namespace

void OnnxRuntime::Impl::AddInitializer(const onnx::TensorProto& t) {
  const std::string where = "initializer '" + core::Printable(t.name()) + "'";
  if (t.name().empty() || index.count(t.name())) Fail(where + ": empty or repeated name");
  if (t.data_location() == onnx::TensorProto::EXTERNAL) Fail(where + ": external data");
  Value v;
  v.name = t.name();
  v.constant = true;
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > kMaxElements || (n *= d) > kMaxElements) {
      Fail(where + ": dimensions " + ShapeText({t.dims().begin(), t.dims().end()}) +
           " out of range");
    }
    v.dims.push_back(d);
  }
  if (t.data_type() == onnx::TensorProto::FLOAT) {
    v.data = Values<float>(t, t.float_data(), n, what + ": " + where);
  } else if (t.data_type() == onnx::TensorProto::INT64) {
    v.int64 = true;
    v.ints = Values<int64_t>(t, t.int64_data(), n, what + ": " + where);
  } else {
    Fail(where + ": element type " + std::to_string(t.data_type()) +
         " is not implemented (float and int64 are)");
  }
  index[v.name] = static_cast<int>(values.size());
  values.push_back(std::move(v));
}

void OnnxRuntime::Impl::AddNode(const onnx::NodeProto& node) {
  const std::string where =
      "node '" + core::Printable(node.name()) + "' (" + core::Printable(node.op_type()) + ")";
  if (!node.domain().empty() && node.domain() != "ai.onnx") {
    Fail(where + ": domain '" + core::Printable(node.domain()) + "' is not implemented");
  }
  const auto found = Ops().find(node.op_type());
  if (found == Ops().end()) Fail(where + ": op not implemented");
  const OpInfo& info = found->second;
  if (node.input_size() < info.min_inputs || node.input_size() > info.max_inputs ||
      node.output_size() < 1 || node.output_size() > info.max_outputs) {
    Fail(where + ": " + std::to_string(node.input_size()) + " inputs and " +
         std::to_string(node.output_size()) + " outputs");
  }
  Attributes attr(node, info, what + ": " + where);
  Step s;
  s.op = info.op;
  for (const std::string& name : node.input()) {
    if (name.empty()) {
      s.in.push_back(-1);
      continue;
    }
    const auto it = index.find(name);
    if (it == index.end())
      Fail(where + ": input '" + core::Printable(name) + "' is not defined before it");
    s.in.push_back(it->second);
  }
  // Empty names stand only for the optional inputs: Gemm's C, Clip's bounds, the recurrent
  // ops' bias and later inputs.
  for (size_t i = 0; i < s.in.size(); ++i) {
    const bool optional = (s.op == Op::kGemm && i == 2) || (s.op == Op::kClip && i >= 1) ||
                          ((s.op == Op::kLstm || s.op == Op::kGru) && i >= 3);
    if (s.in[i] < 0 && !optional) Fail(where + ": input " + std::to_string(i) + " has no name");
  }
  auto in = [&](size_t i) -> const Value& { return values[s.in[i]]; };
  auto given = [&](size_t i) { return i < s.in.size() && s.in[i] >= 0; };
  auto constant = [&](size_t i, const std::string& role) -> const Value& {
    if (!given(i) || !in(i).constant || in(i).int64) {
      Fail(where + ": " + role + " must be a float initializer");
    }
    return in(i);
  };
  auto activation = [&](size_t i) -> const Value& {
    if (in(i).constant) Fail(where + ": input " + std::to_string(i) + " must not be a constant");
    return in(i);
  };
  const Value& x = activation(0);
  const int64_t rank = static_cast<int64_t>(x.dims.size());
  auto axis_of = [&](int64_t axis) {
    if (axis < -rank || axis >= rank)
      Fail(where + ": axis " + std::to_string(axis) + " out of range for " + ShapeText(x.dims));
    return axis < 0 ? axis + rank : axis;
  };
  if (x.int64 && s.op != Op::kCast && s.op != Op::kIdentity) {
    Fail(where + ": int64 input is not implemented for this op");
  }
  std::vector<std::vector<int64_t>> out_dims(1, x.dims);
  bool out_int64 = false;

  switch (s.op) {
    case Op::kIdentity:
      out_int64 = x.int64;
      break;
    case Op::kGemm: {
      const bool matmul = node.op_type() == "MatMul";
      if (rank != 2 || x.dims[0] != kBatch)
        Fail(where + ": input must be [batch, k], not " + ShapeText(x.dims));
      const Value& b = constant(1, "B");
      if (b.dims.size() != 2) Fail(where + ": B must be a matrix, not " + ShapeText(b.dims));
      if (attr.Int("transA", 0) != 0) Fail(where + ": transA = 1 is not implemented");
      const bool trans_b = !matmul && attr.Int("transB", 0) != 0;
      const float alpha = attr.Float("alpha", 1.0f), beta = attr.Float("beta", 1.0f);
      s.k = x.dims[1];
      s.n = trans_b ? b.dims[0] : b.dims[1];
      if ((trans_b ? b.dims[1] : b.dims[0]) != s.k) {
        Fail(where + ": B " + ShapeText(b.dims) + " does not fit input " + ShapeText(x.dims));
      }
      s.w.resize(s.n * s.k);
      for (int64_t j = 0; j < s.n; ++j) {
        for (int64_t p = 0; p < s.k; ++p) {
          s.w[j * s.k + p] = alpha * (trans_b ? b.data[j * s.k + p] : b.data[p * s.n + j]);
        }
      }
      s.bias.assign(s.n, 0.0f);
      if (given(2)) {
        const Value& c = constant(2, "C");
        const int64_t cn = static_cast<int64_t>(c.data.size());
        const bool shape_ok = c.dims.empty() || c.dims == std::vector<int64_t>{cn} ||
                              c.dims == std::vector<int64_t>{1, cn};
        if ((cn != 1 && cn != s.n) || !shape_ok)
          Fail(where + ": C " + ShapeText(c.dims) + " does not broadcast to [batch, " +
               std::to_string(s.n) + "]");
        for (int64_t j = 0; j < s.n; ++j) s.bias[j] = beta * c.data[cn == 1 ? 0 : j];
      }
      out_dims[0] = {kBatch, s.n};
      break;
    }
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMax:
    case Op::kMin: {
      const Value& b = in(1);
      if (b.int64) Fail(where + ": int64 operand is not implemented");
      if (!b.constant) {
        if (b.dims != x.dims)
          Fail(where + ": inputs " + ShapeText(x.dims) + " and " + ShapeText(b.dims) +
               " differ (broadcasting between two computed inputs is not implemented)");
        s.broadcast = 0;
      } else if (b.dims.size() > x.dims.size()) {
        Fail(where + ": constant " + ShapeText(b.dims) + " has more dimensions than " +
             ShapeText(x.dims) + " (not implemented)");
      } else if (b.data.size() == 1) {
        s.broadcast = 1;
      } else {
        const int64_t last = x.dims.back();
        bool ok = last != kBatch && static_cast<int64_t>(b.data.size()) == last &&
                  b.dims.size() <= x.dims.size();
        for (size_t i = 0; ok && i + 1 < b.dims.size(); ++i) ok = b.dims[i] == 1;
        if (!ok)
          Fail(where + ": constant " + ShapeText(b.dims) +
               " does not broadcast over the last dimension of " + ShapeText(x.dims) +
               " (only scalars and per-feature vectors are implemented)");
        s.broadcast = 2;
      }
      break;
    }
    case Op::kRelu:
    case Op::kTanh:
    case Op::kSigmoid:
      break;
    case Op::kClip:
      if (given(1)) {
        const Value& v = constant(1, "min");
        if (v.data.size() != 1) Fail(where + ": min must be a scalar");
        s.lo = v.data[0];
      }
      if (given(2)) {
        const Value& v = constant(2, "max");
        if (v.data.size() != 1) Fail(where + ": max must be a scalar");
        s.hi = v.data[0];
      }
      break;
    case Op::kSoftmax:
    case Op::kArgMax: {
      const int64_t axis = axis_of(attr.Int("axis", s.op == Op::kSoftmax ? -1 : 0));
      if (axis != rank - 1 || x.dims[axis] == kBatch)
        Fail(where + ": only the last, fixed axis is implemented (axis " + std::to_string(axis) +
             " of " + ShapeText(x.dims) + ")");
      s.n = x.dims[axis];
      if (s.op == Op::kArgMax) {
        s.last_index = attr.Int("select_last_index", 0) != 0;
        if (attr.Int("keepdims", 1) != 0)
          out_dims[0].back() = 1;
        else
          out_dims[0].pop_back();
        out_int64 = true;
      }
      break;
    }
    case Op::kCast:
      if (attr.Int("to", 0) != onnx::TensorProto::FLOAT)
        Fail(where + ": only a cast to float is implemented");
      break;
    case Op::kTranspose: {
      s.perm = attr.Ints("perm");
      if (s.perm.empty())
        for (int64_t i = rank - 1; i >= 0; --i) s.perm.push_back(i);
      std::vector<int64_t> sorted = s.perm;
      std::sort(sorted.begin(), sorted.end());
      for (int64_t i = 0; i < static_cast<int64_t>(sorted.size()); ++i) {
        if (sorted[i] != i || static_cast<int64_t>(sorted.size()) != rank)
          Fail(where + ": perm is not a permutation of " + std::to_string(rank) + " axes");
      }
      if (rank > 4) Fail(where + ": rank above 4 is not implemented");
      for (int64_t i = 0; i < rank; ++i) out_dims[0][i] = x.dims[s.perm[i]];
      break;
    }
    case Op::kSqueeze: {
      if (!given(1) || !in(1).constant || !in(1).int64)
        Fail(where + ": axes must be an int64 initializer");
      if (in(1).ints.empty()) Fail(where + ": Squeeze without axes is not implemented");
      std::vector<bool> drop(rank, false);
      for (int64_t a : in(1).ints) {
        const int64_t axis = axis_of(a);
        if (x.dims[axis] != 1)
          Fail(where + ": axis " + std::to_string(a) + " of " + ShapeText(x.dims) + " is not 1");
        drop[axis] = true;
      }
      out_dims[0].clear();
      for (int64_t i = 0; i < rank; ++i)
        if (!drop[i]) out_dims[0].push_back(x.dims[i]);
      break;
    }
    case Op::kConcat: {
      const int64_t axis = axis_of(attr.Int("axis", 0));
      if (x.dims[axis] == kBatch)
        Fail(where + ": concatenation along the batch is not implemented");
      s.k = axis;
      for (size_t i = 1; i < s.in.size(); ++i) {
        const Value& v = activation(i);
        bool ok = v.dims.size() == x.dims.size();
        for (int64_t d = 0; ok && d < rank; ++d)
          ok = d == axis ? v.dims[d] != kBatch : v.dims[d] == x.dims[d];
        if (!ok || v.int64)
          Fail(where + ": input " + ShapeText(v.dims) + " does not concatenate with " +
               ShapeText(x.dims) + " on axis " + std::to_string(axis));
        out_dims[0][axis] += v.dims[axis];
      }
      // Sizes without the batch, which lies either before the axis (in the outer count) or
      // after it (in every chunk).
      s.batch_outer =
          std::find(x.dims.begin(), x.dims.begin() + axis, kBatch) != x.dims.begin() + axis;
      s.n = Count({x.dims.begin(), x.dims.begin() + axis}, 1);
      for (int idx : s.in) {
        const Value& v = values[idx];
        s.chunks.push_back(Count({v.dims.begin() + axis, v.dims.end()}, 1));
      }
      break;
    }
    case Op::kBatchNorm: {
      if (attr.Int("training_mode", 0) != 0) Fail(where + ": training_mode is not implemented");
      if (rank < 2 || x.dims[0] != kBatch)
        Fail(where + ": input must be [batch, channels, ...], not " + ShapeText(x.dims));
      const int64_t c = x.dims[1];
      const float eps = attr.Float("epsilon", 1e-5f);
      const Value& scale = constant(1, "scale");
      const Value& bias = constant(2, "B");
      const Value& mean = constant(3, "mean");
      const Value& var = constant(4, "var");
      for (const Value* v : {&scale, &bias, &mean, &var}) {
        if (v->dims != std::vector<int64_t>{c})
          Fail(where + ": " + v->name + " " + ShapeText(v->dims) + " for " + std::to_string(c) +
               " channels");
      }
      // Folded as libtorch folds it: y = x * (scale / sqrt(var + eps)) + (B - mean * that).
      s.n = c;
      s.k = Count({x.dims.begin() + 2, x.dims.end()}, 1);
      for (int64_t j = 0; j < c; ++j) {
        const float a = scale.data[j] / std::sqrt(var.data[j] + eps);
        s.w.push_back(a);
        s.bias.push_back(bias.data[j] - mean.data[j] * a);
      }
      break;
    }
    case Op::kLstm:
    case Op::kGru: {
      const bool lstm = s.op == Op::kLstm;
      const int64_t gates = lstm ? 4 : 3;
      if (attr.String("direction", "forward") != "forward")
        Fail(where + ": only direction forward is implemented");
      if (attr.Int("layout", 0) != 0) Fail(where + ": layout 1 is not implemented");
      if (lstm && attr.Int("input_forget", 0) != 0)
        Fail(where + ": input_forget is not implemented");
      if (!lstm && attr.Int("linear_before_reset", 0) != 1)
        Fail(where + ": only linear_before_reset = 1 is implemented");
      const std::vector<std::string> defaults =
          lstm ? std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"}
               : std::vector<std::string>{"Sigmoid", "Tanh"};
      if (attr.Has("activations") && attr.Strings("activations") != defaults)
        Fail(where + ": activations other than the defaults are not implemented");
      for (size_t i = 4; i < s.in.size(); ++i) {
        if (given(i))
          Fail(where + ": input " + std::to_string(i) +
               " (sequence lengths, initial states, peepholes) is not implemented");
      }
      if (rank != 3 || x.dims[1] != kBatch || x.dims[0] == kBatch)
        Fail(where + ": input must be [time, batch, features], not " + ShapeText(x.dims));
      s.steps = x.dims[0];
      s.k = x.dims[2];
      s.hidden = attr.Int("hidden_size", 0);
      const int64_t h = s.hidden;
      if (h < 1 || h > 65536) Fail(where + ": hidden_size " + std::to_string(h));
      const Value& W = constant(1, "W");
      const Value& R = constant(2, "R");
      if (W.dims != std::vector<int64_t>{1, gates * h, s.k})
        Fail(where + ": W " + ShapeText(W.dims) + " for hidden " + std::to_string(h) +
             " and input " + ShapeText(x.dims));
      if (R.dims != std::vector<int64_t>{1, gates * h, h})
        Fail(where + ": R " + ShapeText(R.dims) + " for hidden " + std::to_string(h));
      s.w = W.data;
      s.r = R.data;
      std::vector<float> b(2 * gates * h, 0.0f);
      if (given(3)) {
        const Value& B = constant(3, "B");
        if (B.dims != std::vector<int64_t>{1, 2 * gates * h})
          Fail(where + ": B " + ShapeText(B.dims) + " for hidden " + std::to_string(h));
        b = B.data;
      }
      if (lstm) {
        for (int64_t j = 0; j < gates * h; ++j) s.bias.push_back(b[j] + b[gates * h + j]);
      } else {
        s.bias.assign(b.begin(), b.begin() + gates * h);
        s.bias2.assign(b.begin() + gates * h, b.end());
      }
      if (s.steps * gates * h > kMaxElements) {
        Fail(where + ": " + std::to_string(s.steps) + " steps of " + std::to_string(gates * h) +
             " gates: too large");
      }
      out_dims = {{s.steps, 1, kBatch, h}, {1, kBatch, h}, {1, kBatch, h}};
      break;
    }
  }
  // Weights packed for the product kernel (the unpacked copies are not kept), in 64-row panels.
  auto packed = [](int64_t n, int64_t k) { return (n + 63) / 64 * 64 * k; };
  if (s.op == Op::kGemm) {
    Use(packed(s.n, s.k), where);
    s.pw = kernels::PackedMatrix(s.w.data(), s.n, s.k);
    s.w.clear();
  } else if (s.op == Op::kLstm || s.op == Op::kGru) {
    const int64_t g = (s.op == Op::kLstm ? 4 : 3) * s.hidden;
    Use(packed(g, s.k) + packed(g, s.hidden) + s.steps * g + 4 * g, where);
    s.pw = kernels::PackedMatrix(s.w.data(), g, s.k);
    s.pr = kernels::PackedMatrix(s.r.data(), g, s.hidden);
    s.w.clear();
    s.r.clear();
  }
  for (int i = 0; i < node.output_size(); ++i) {
    const std::string& name = node.output(i);
    if (name.empty() && i == 0 && s.op != Op::kLstm && s.op != Op::kGru) {
      Fail(where + ": its output has no name");
    }
    if (name.empty()) {
      s.out.push_back(-1);
      continue;
    }
    if (index.count(name))
      Fail(where + ": output '" + core::Printable(name) + "' is defined twice");
    if (Count(out_dims[i], 1) > kMaxElements)
      Fail(where + ": output " + ShapeText(out_dims[i]) + " too large");
    Use(Count(out_dims[i], 1), where);
    Value v;
    v.name = name;
    v.dims = out_dims[i];
    v.int64 = out_int64;
    index[name] = static_cast<int>(values.size());
    s.out.push_back(static_cast<int>(values.size()));
    values.push_back(std::move(v));
  }
  steps.push_back(std::move(s));
}

void OnnxRuntime::Impl::Load(const std::string& bytes) {
  onnx::ModelProto m;
  if (bytes.empty() || !m.ParseFromString(bytes))
    Fail("not an ONNX model (truncated or corrupt: it does not parse)");
  if (!m.has_graph()) Fail("the model has no graph");
  int64_t opset = 0;
  for (const auto& op : m.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") opset = op.version();
  }
  if (opset < 13 || opset > 21)
    Fail("opset " + std::to_string(opset) +
         " of the default domain: this runtime implements 13 to 21");
  for (const auto& e : m.metadata_props()) metadata[e.key()] = e.value();
  const onnx::GraphProto& g = m.graph();
  for (const auto& t : g.initializer()) AddInitializer(t);
  for (const auto& v : g.input()) {
    if (index.count(v.name())) continue;  // an initializer listed as an input
    if (input >= 0)
      Fail("more than one graph input ('" + values[input].name + "', '" +
           core::Printable(v.name()) + "'): one is implemented");
    const auto& type = v.type();
    if (!type.has_tensor_type() || type.tensor_type().elem_type() != onnx::TensorProto::FLOAT)
      Fail("input '" + core::Printable(v.name()) + "' is not a float tensor");
    const auto& shape = type.tensor_type().shape();
    if (shape.dim_size() < 1 || shape.dim_size() > 4)
      Fail("input '" + core::Printable(v.name()) + "' must have 1 to 4 dimensions");
    Value x;
    x.name = v.name();
    x.dims.push_back(kBatch);
    for (int i = 1; i < shape.dim_size(); ++i) {
      const int64_t d = shape.dim(i).has_dim_value() ? shape.dim(i).dim_value() : 0;
      if (d < 1 || d > (1 << 20))
        Fail("input '" + core::Printable(v.name()) + "': dimension " + std::to_string(i) +
             " must be a fixed size in [1, 2^20]");
      x.dims.push_back(d);
      input_shape.push_back(d);
    }
    if (Count(x.dims, 1) > kMaxElements) Fail("input too large");
    if (x.name.empty()) Fail("the input has no name");
    input = static_cast<int>(values.size());
    Use(Count(x.dims, 1), "input '" + core::Printable(x.name) + "'");
    index[x.name] = input;
    values.push_back(std::move(x));
  }
  if (input < 0) Fail("the graph has no input");
  for (const auto& node : g.node()) AddNode(node);
  if (g.output_size() < 1) Fail("the graph has no output");
  for (const auto& o : g.output()) {
    const auto it = index.find(o.name());
    if (it == index.end())
      Fail("output '" + core::Printable(o.name()) + "' is not computed by any node");
    const Value& v = values[it->second];
    if (v.constant || it->second == input || v.dims.empty() || v.dims[0] != kBatch || v.int64) {
      Fail("output '" + core::Printable(o.name()) +
           "' must be a computed float tensor [batch, ...] (it is " + ShapeText(v.dims) +
           (v.int64 ? ", int64" : "") + ")");
    }
    outputs.push_back(it->second);
    output_names.push_back(o.name());
  }
  Reserve(1);
}

void OnnxRuntime::Impl::Reserve(int64_t rows) {
  if (rows <= capacity) return;
  if (rows > kMaxTotal / std::max<int64_t>(1, used)) {
    throw std::invalid_argument(what + ": " + std::to_string(rows) +
                                " rows need more memory than this runtime allows");
  }
  for (Value& v : values) {
    if (!v.constant) v.data.resize(Count(v.dims, rows));
  }
  for (Step& s : steps) {
    if (s.op == Op::kLstm) s.scratch.resize(s.steps * rows * 4 * s.hidden + 3 * rows * s.hidden);
    if (s.op == Op::kGru) s.scratch.resize(s.steps * rows * 3 * s.hidden + 4 * rows * s.hidden);
  }
  capacity = rows;
}

namespace {

template <class F>
void Binary(const float* a, const float* b, int broadcast, int64_t count, int64_t last, float* y,
            F f) {
  if (broadcast == 0) {
    for (int64_t i = 0; i < count; ++i) y[i] = f(a[i], b[i]);
  } else if (broadcast == 1) {
    const float c = b[0];
    for (int64_t i = 0; i < count; ++i) y[i] = f(a[i], c);
  } else {
    for (int64_t i = 0; i < count; i += last) {
      for (int64_t j = 0; j < last; ++j) y[i + j] = f(a[i + j], b[j]);
    }
  }
}

}  // namespace

void OnnxRuntime::Impl::Execute(Step& s, int64_t rows) {
  const Value& x = values[s.in[0]];
  const float* in = x.data.data();
  const int64_t count = Count(x.dims, rows);
  float* out = s.out[0] >= 0 ? values[s.out[0]].data.data() : nullptr;
  switch (s.op) {
    case Op::kIdentity:
    case Op::kCast:
    case Op::kSqueeze:
      std::copy(in, in + count, out);
      break;
    case Op::kGemm:
      for (int64_t r = 0; r < rows; ++r) std::copy(s.bias.begin(), s.bias.end(), out + r * s.n);
      kernels::Gemm(rows, in, s.k, s.pw, out, s.n, true);
      break;
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMax:
    case Op::kMin: {
      const float* b = values[s.in[1]].data.data();
      const int64_t last = x.dims.back() == kBatch ? rows : x.dims.back();
      switch (s.op) {
        case Op::kAdd:
          Binary(in, b, s.broadcast, count, last, out, [](float p, float q) { return p + q; });
          break;
        case Op::kSub:
          Binary(in, b, s.broadcast, count, last, out, [](float p, float q) { return p - q; });
          break;
        case Op::kMul:
          Binary(in, b, s.broadcast, count, last, out, [](float p, float q) { return p * q; });
          break;
        case Op::kDiv:
          Binary(in, b, s.broadcast, count, last, out, [](float p, float q) { return p / q; });
          break;
        case Op::kMax:
          Binary(in, b, s.broadcast, count, last, out,
                 [](float p, float q) { return std::max(p, q); });
          break;
        default:
          Binary(in, b, s.broadcast, count, last, out,
                 [](float p, float q) { return std::min(p, q); });
          break;
      }
      break;
    }
    case Op::kRelu:
      for (int64_t i = 0; i < count; ++i) out[i] = std::max(in[i], 0.0f);
      break;
    case Op::kTanh:
      std::copy(in, in + count, out);
      kernels::Tanh(out, count);
      break;
    case Op::kSigmoid:
      std::copy(in, in + count, out);
      kernels::Sigmoid(out, count);
      break;
    case Op::kClip:
      for (int64_t i = 0; i < count; ++i) out[i] = std::min(std::max(in[i], s.lo), s.hi);
      break;
    case Op::kSoftmax:
      for (int64_t i = 0; i < count; i += s.n) {
        const float top = *std::max_element(in + i, in + i + s.n);
        float sum = 0.0f;
        for (int64_t j = 0; j < s.n; ++j) sum += out[i + j] = std::exp(in[i + j] - top);
        for (int64_t j = 0; j < s.n; ++j) out[i + j] /= sum;
      }
      break;
    case Op::kArgMax:
      for (int64_t i = 0, o = 0; i < count; i += s.n, ++o) {
        int64_t best = 0;
        for (int64_t j = 1; j < s.n; ++j) {
          if (in[i + j] > in[i + best] || (s.last_index && in[i + j] == in[i + best])) best = j;
        }
        out[o] = static_cast<float>(best);
      }
      break;
    case Op::kTranspose: {
      // Output index (o0..o3) reads input index with axis perm[i] = o_i.
      int64_t dims[4] = {1, 1, 1, 1}, stride_in[4] = {0, 0, 0, 0};
      const size_t rank = x.dims.size();
      int64_t in_stride[4], acc = 1;
      for (size_t i = rank; i-- > 0;) {
        in_stride[i] = acc;
        acc *= x.dims[i] == kBatch ? rows : x.dims[i];
      }
      for (size_t i = 0; i < rank; ++i) {
        dims[4 - rank + i] = x.dims[s.perm[i]] == kBatch ? rows : x.dims[s.perm[i]];
        stride_in[4 - rank + i] = in_stride[s.perm[i]];
      }
      int64_t o = 0;
      for (int64_t a = 0; a < dims[0]; ++a)
        for (int64_t b = 0; b < dims[1]; ++b)
          for (int64_t c = 0; c < dims[2]; ++c)
            for (int64_t d = 0; d < dims[3]; ++d)
              out[o++] =
                  in[a * stride_in[0] + b * stride_in[1] + c * stride_in[2] + d * stride_in[3]];
      break;
    }
    case Op::kConcat: {
      const int64_t outer = s.n * (s.batch_outer ? rows : 1);
      const int64_t scale = s.batch_outer ? 1 : rows;
      int64_t out_chunk = 0;
      for (int64_t c : s.chunks) out_chunk += c * scale;
      int64_t offset = 0;
      for (size_t i = 0; i < s.in.size(); ++i) {
        const float* v = values[s.in[i]].data.data();
        const int64_t chunk = s.chunks[i] * scale;
        for (int64_t o = 0; o < outer; ++o) {
          std::copy(v + o * chunk, v + (o + 1) * chunk, out + o * out_chunk + offset);
        }
        offset += chunk;
      }
      break;
    }
    case Op::kBatchNorm:
      for (int64_t r = 0, i = 0; r < rows; ++r)
        for (int64_t c = 0; c < s.n; ++c)
          for (int64_t j = 0; j < s.k; ++j, ++i) out[i] = in[i] * s.w[c] + s.bias[c];
      break;
    case Op::kLstm:
    case Op::kGru: {
      const bool lstm = s.op == Op::kLstm;
      const int64_t h = s.hidden, g = (lstm ? 4 : 3) * h, n = rows * h;
      // Scratch: the gates of every step [time * rows, g], then h, c (LSTM) or the hidden
      // projection (GRU), tanh(c).
      float* gates = s.scratch.data();
      float* hs = gates + s.steps * rows * g;
      float* cs = hs + n;
      float* tmp = cs + (lstm ? n : rows * g);
      // Input projections of all steps at once, biases included.
      for (int64_t t = 0; t < s.steps * rows; ++t)
        std::copy(s.bias.begin(), s.bias.end(), gates + t * g);
      kernels::Gemm(s.steps * rows, in, s.k, s.pw, gates, g, true);
      std::fill(hs, hs + n, 0.0f);
      if (lstm) std::fill(cs, cs + n, 0.0f);
      float* y = s.out[0] >= 0 ? values[s.out[0]].data.data() : nullptr;
      for (int64_t t = 0; t < s.steps; ++t) {
        float* gt = gates + t * rows * g;
        if (lstm) {
          if (t > 0) kernels::Gemm(rows, hs, h, s.pr, gt, g, true);
          for (int64_t r = 0; r < rows; ++r) {
            float* q = gt + r * g;  // i, o, f, c
            kernels::Sigmoid(q, 3 * h);
            kernels::Tanh(q + 3 * h, h);
            float* c = cs + r * h;
            for (int64_t j = 0; j < h; ++j) c[j] = q[2 * h + j] * c[j] + q[j] * q[3 * h + j];
          }
          std::copy(cs, cs + n, tmp);
          kernels::Tanh(tmp, n);
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t j = 0; j < h; ++j) hs[r * h + j] = gt[r * g + h + j] * tmp[r * h + j];
        } else {
          float* hr = cs;  // [rows, g]: h R^T + Rb
          for (int64_t r = 0; r < rows; ++r) std::copy(s.bias2.begin(), s.bias2.end(), hr + r * g);
          if (t > 0) kernels::Gemm(rows, hs, h, s.pr, hr, g, true);
          for (int64_t r = 0; r < rows; ++r) {
            float* q = gt + r * g;  // z, r, h
            const float* p = hr + r * g;
            for (int64_t j = 0; j < 2 * h; ++j) q[j] += p[j];
            kernels::Sigmoid(q, 2 * h);
            for (int64_t j = 0; j < h; ++j) q[2 * h + j] += q[h + j] * p[2 * h + j];
            kernels::Tanh(q + 2 * h, h);
            float* hv = hs + r * h;
            for (int64_t j = 0; j < h; ++j) hv[j] = (1.0f - q[j]) * q[2 * h + j] + q[j] * hv[j];
          }
        }
        if (y) std::copy(hs, hs + n, y + t * n);
      }
      if (s.out.size() > 1 && s.out[1] >= 0) std::copy(hs, hs + n, values[s.out[1]].data.data());
      if (s.out.size() > 2 && s.out[2] >= 0) std::copy(cs, cs + n, values[s.out[2]].data.data());
      break;
    }
  }
}

OnnxRuntime::OnnxRuntime(const std::string& bytes, const std::string& what)
    : impl_(std::make_unique<Impl>()) {
  impl_->what = what;
  impl_->Load(bytes);
}

OnnxRuntime OnnxRuntime::Load(const std::string& path) {
  return OnnxRuntime(core::ReadFile(path), path);
}

OnnxRuntime::OnnxRuntime(OnnxRuntime&&) noexcept = default;
OnnxRuntime& OnnxRuntime::operator=(OnnxRuntime&&) noexcept = default;
OnnxRuntime::~OnnxRuntime() = default;

const std::string& OnnxRuntime::input_name() const { return impl_->values[impl_->input].name; }
const std::vector<int64_t>& OnnxRuntime::input_shape() const { return impl_->input_shape; }
int64_t OnnxRuntime::input_size() const { return Count(impl_->input_shape, 1); }
size_t OnnxRuntime::num_outputs() const { return impl_->outputs.size(); }
const std::string& OnnxRuntime::output_name(size_t i) const { return impl_->output_names.at(i); }
int64_t OnnxRuntime::output_size(size_t i) const {
  return Count(impl_->values[impl_->outputs.at(i)].dims, 1);
}
const std::map<std::string, std::string>& OnnxRuntime::metadata() const { return impl_->metadata; }

size_t OnnxRuntime::OutputIndex(const std::string& name) const {
  for (size_t i = 0; i < impl_->output_names.size(); ++i) {
    if (impl_->output_names[i] == name) return i;
  }
  throw std::invalid_argument(impl_->what + ": no output '" + name +
                              "' (outputs: " + core::Join(impl_->output_names, ", ") + ")");
}

void OnnxRuntime::Run(const float* input, int64_t rows) {
  if (rows < 1) throw std::invalid_argument(impl_->what + ": Run needs at least one row");
  impl_->Reserve(rows);
  Value& x = impl_->values[impl_->input];
  std::copy(input, input + Count(x.dims, rows), x.data.data());
  for (Step& s : impl_->steps) impl_->Execute(s, rows);
}

const float* OnnxRuntime::output(size_t i) const {
  return impl_->values[impl_->outputs.at(i)].data.data();
}

std::vector<float> OnnxRuntime::Run(const std::vector<float>& input, int64_t rows,
                                    const std::string& name) {
  if (rows < 1 || static_cast<int64_t>(input.size()) != rows * input_size()) {
    throw std::invalid_argument(impl_->what + ": " + std::to_string(input.size()) +
                                " input values for " + std::to_string(rows) + " rows of " +
                                std::to_string(input_size()));
  }
  const size_t i = OutputIndex(name);
  Run(input.data(), rows);
  return std::vector<float>(output(i), output(i) + rows * output_size(i));
}

}  // namespace linklab::models
