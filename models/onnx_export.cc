#include "models/onnx_export.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/json.h"
#include "core/machine.h"

namespace linklab::models {

namespace {

// Builds one graph: named initializers and nodes, in order (ONNX wants them topologically
// sorted, which appending in evaluation order gives).
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* g) : g_(g) {}

  // A float32 initializer of shape `dims`; returns its name.
  std::string Floats(const std::string& name, const std::vector<int64_t>& dims,
                     const std::vector<float>& values) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    if (n != static_cast<int64_t>(values.size())) {
      throw std::invalid_argument("export: initializer " + name + " has " +
                                  std::to_string(values.size()) + " values for " +
                                  std::to_string(n));
    }
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(
        std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    return name;
  }
  std::string Ints(const std::string& name, const std::vector<int64_t>& values) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    t->set_raw_data(
        std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(int64_t)));
    return name;
  }
  std::string Scalar(const std::string& name, float v) {
    onnx::TensorProto* t = g_->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(&v), sizeof v));
    return name;
  }

  // A node of `op` reading `inputs` (an empty name: an omitted optional input), writing
  // `outputs`; returns it for attributes.
  onnx::NodeProto* Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) {
    onnx::NodeProto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(op + "_" + std::to_string(g_->node_size() - 1));
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return n;
  }
  // One output named after the node.
  std::string Apply(const std::string& op, const std::vector<std::string>& inputs) {
    const std::string out = "t" + std::to_string(next_++);
    Node(op, inputs, {out});
    return out;
  }

  static void Int(onnx::NodeProto* n, const std::string& name, int64_t v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void Float(onnx::NodeProto* n, const std::string& name, float v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void IntList(onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }

  // A float graph input or output; dims of -1 are the batch ("batch").
  void Value(bool input, const std::string& name, const std::vector<int64_t>& dims) {
    onnx::ValueInfoProto* v = input ? g_->add_input() : g_->add_output();
    v->set_name(name);
    onnx::TypeProto_Tensor* t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) {
      onnx::TensorShapeProto_Dimension* dim = t->mutable_shape()->add_dim();
      if (d < 0)
        dim->set_dim_param("batch");
      else
        dim->set_dim_value(d);
    }
  }

  // A Gemm of a Dense layer (y = x W^T + b).
  std::string Dense(const std::string& x, const std::string& name, const DenseWeights& d) {
    if (d.weight.size() != static_cast<size_t>(d.in * d.out) ||
        d.bias.size() != static_cast<size_t>(d.out)) {
      throw std::invalid_argument("export: layer " + name + ": weights do not match [" +
                                  std::to_string(d.out) + ", " + std::to_string(d.in) + "]");
    }
    const std::string w = Floats(name + ".weight", {d.out, d.in}, d.weight);
    const std::string b = Floats(name + ".bias", {d.out}, d.bias);
    const std::string out = "t" + std::to_string(next_++);
    Int(Node("Gemm", {x, w, b}, {out}), "transB", 1);
    return out;
  }

 private:
  onnx::GraphProto* g_;
  int next_ = 0;
};

onnx::ModelProto NewModel(const std::string& graph_name) {
  onnx::ModelProto m;
  m.set_ir_version(kOnnxIrVersion);
  m.set_producer_name("linklab");
  m.set_producer_version(core::GitCommit());
  onnx::OperatorSetIdProto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(kOnnxOpset);
  m.mutable_graph()->set_name(graph_name);
  return m;
}

void AddMetadata(onnx::ModelProto& m, const std::map<std::string, std::string>& metadata) {
  for (const auto& [k, v] : metadata) {
    onnx::StringStringEntryProto* e = m.add_metadata_props();
    e->set_key(k);
    e->set_value(v);
  }
}

std::string Serialise(const onnx::ModelProto& m) {
  std::string out;
  if (!m.SerializeToString(&out)) throw std::runtime_error("export: ONNX serialisation failed");
  return out;
}

// Rows of `w` ([blocks * hidden, cols] row-major) reordered: block i of the result is block
// order[i] of `w`.
std::vector<float> Reorder(const std::vector<float>& w, int64_t hidden, int64_t cols,
                           const std::vector<int>& order) {
  std::vector<float> out;
  out.reserve(w.size());
  for (int b : order) {
    const auto begin = w.begin() + static_cast<int64_t>(b) * hidden * cols;
    out.insert(out.end(), begin, begin + hidden * cols);
  }
  return out;
}

}  // namespace

std::string ExportPolicyOnnx(const PolicyArtefact& a,
                             const std::map<std::string, std::string>& metadata) {
  const std::string problem = a.Problem();
  if (!problem.empty()) throw std::invalid_argument("export: policy artefact: " + problem);
  if (a.head.kind == ActionHead::Kind::kConstant || a.network.sizes.empty()) {
    throw std::invalid_argument("export: the " + a.agent +
                                " policy has no network (a fixed action): nothing to export");
  }
  onnx::ModelProto m = NewModel("linklab_policy_" + a.agent);
  GraphBuilder g(m.mutable_graph());
  const int64_t obs = a.network.input_size();
  g.Value(true, "input", {-1, obs});
  std::string x = "input";
  if (a.normalizer) {
    const ObsNormalizer& n = *a.normalizer;
    std::vector<float> mean(obs), std(obs);
    for (int64_t j = 0; j < obs; ++j) {
      mean[j] = static_cast<float>(n.mean[j]);
      std[j] = static_cast<float>(std::sqrt(n.var[j] + n.epsilon));
    }
    x = g.Apply("Sub", {x, g.Floats("normalizer.mean", {obs}, mean)});
    x = g.Apply("Div", {x, g.Floats("normalizer.std", {obs}, std)});
    x = g.Apply("Clip", {x, g.Scalar("normalizer.low", static_cast<float>(-n.clip)),
                         g.Scalar("normalizer.high", static_cast<float>(n.clip))});
  }
  const float* p = a.params.data();
  const size_t layers = a.network.sizes.size() - 1;
  for (size_t l = 0; l < layers; ++l) {
    DenseWeights d;
    d.in = a.network.sizes[l];
    d.out = a.network.sizes[l + 1];
    d.weight.assign(p, p + d.in * d.out);
    d.bias.assign(p + d.in * d.out, p + d.in * d.out + d.out);
    p += d.in * d.out + d.out;
    x = g.Dense(x, "layer" + std::to_string(l), d);
    if (l + 1 < layers) {
      x = g.Apply(a.network.activation == Activation::kTanh ? "Tanh" : "Relu", {x});
    }
  }
  const int64_t width = a.network.output_size();
  g.Node("Identity", {x}, {"output"});
  g.Value(false, "output", {-1, width});
  const int64_t act = a.action_space.size();
  std::string head;
  if (a.head.kind == ActionHead::Kind::kCategorical) {
    GraphBuilder::Int(g.Node("Softmax", {x}, {"probs"}), "axis", 1);
    g.Value(false, "probs", {-1, width});
    onnx::NodeProto* arg = g.Node("ArgMax", {x}, {"argmax"});
    GraphBuilder::Int(arg, "axis", 1);
    GraphBuilder::Int(arg, "keepdims", 1);
    GraphBuilder::Int(g.Node("Cast", {"argmax"}, {"action"}), "to", onnx::TensorProto::FLOAT);
    head = "categorical";
  } else {
    std::vector<float> low(act), high(act), half(act);
    for (int64_t k = 0; k < act; ++k) {
      low[k] = static_cast<float>(a.action_space.low()[k]);
      high[k] = static_cast<float>(a.action_space.high()[k]);
      half[k] = static_cast<float>(0.5 * (a.action_space.high()[k] - a.action_space.low()[k]));
    }
    const std::string low_name = g.Floats("action.low", {act}, low);
    if (a.head.squash == ActionHead::Squash::kTanh) {
      x = g.Apply("Tanh", {x});
      x = g.Apply("Add", {x, g.Scalar("one", 1.0f)});
      x = g.Apply("Mul", {x, g.Floats("action.half_range", {act}, half)});
      x = g.Apply("Add", {x, low_name});
    }
    if (a.head.clip_to_bounds) {
      x = g.Apply("Max", {x, low_name});
      x = g.Apply("Min", {x, g.Floats("action.high", {act}, high)});
    }
    g.Node("Identity", {x}, {"action"});
    head = std::string("gaussian_mean") +
           (a.head.squash == ActionHead::Squash::kTanh ? ",tanh" : "") +
           (a.head.clip_to_bounds ? ",clip" : "");
  }
  g.Value(false, "action", {-1, act});

  std::map<std::string, std::string> meta = {
      {kOnnxKindKey, "policy"},
      {"linklab.agent", a.agent},
      {"linklab.observation_space", a.observation_space.Encode()},
      {"linklab.action_space", a.action_space.Encode()},
      {"linklab.head", head},
      {"linklab.activation", ActivationName(a.network.activation)},
  };
  if (a.normalizer) {
    core::Json n = {{"mean", a.normalizer->mean},
                    {"var", a.normalizer->var},
                    {"clip", a.normalizer->clip},
                    {"epsilon", a.normalizer->epsilon}};
    meta["linklab.normalizer"] = n.dump();
  }
  if (!a.action_table.columns.empty()) {
    core::Json t = {{"columns", a.action_table.columns}, {"values", a.action_table.values}};
    meta["linklab.action_table"] = t.dump();
  }
  for (const auto& [k, v] : a.metadata) meta["linklab." + k] = v;
  for (const auto& [k, v] : metadata) meta[k] = v;
  AddMetadata(m, meta);
  return Serialise(m);
}

std::string ExportSequenceOnnx(const SequenceNetWeights& w,
                               const std::map<std::string, std::string>& metadata) {
  if (w.paths.empty() || w.window < 1 || w.input_size < 1) {
    throw std::invalid_argument("export: sequence model " + w.model + " has no paths or shape");
  }
  onnx::ModelProto m = NewModel("linklab_predictor_" + w.model);
  GraphBuilder g(m.mutable_graph());
  g.Value(true, "input", {-1, w.window, w.input_size});
  onnx::NodeProto* t = g.Node("Transpose", {"input"}, {"time_first"});
  GraphBuilder::IntList(t, "perm", {1, 0, 2});
  const std::string axes0 = g.Ints("axes0", {0}), axes1 = g.Ints("axes1", {1});
  std::vector<std::string> outs;
  int64_t total = 0;
  for (size_t b = 0; b < w.paths.size(); ++b) {
    const SequencePathWeights& path = w.paths[b];
    const std::string tag = w.paths.size() > 1 ? "path" + std::to_string(b) + "." : "";
    std::string x = "time_first";
    int64_t in = w.input_size;
    for (size_t i = 0; i < path.recurrent.size(); ++i) {
      const RecurrentWeights& r = path.recurrent[i];
      const bool lstm = r.cell == "lstm";
      if (!lstm && r.cell != "gru") {
        throw std::invalid_argument("export: unknown recurrent cell '" + r.cell + "'");
      }
      const int64_t gates = lstm ? 4 : 3, h = r.hidden;
      if (r.input != in || r.weight_ih.size() != static_cast<size_t>(gates * h * in) ||
          r.weight_hh.size() != static_cast<size_t>(gates * h * h) ||
          r.bias_ih.size() != static_cast<size_t>(gates * h) ||
          r.bias_hh.size() != static_cast<size_t>(gates * h)) {
        throw std::invalid_argument("export: recurrent layer " + std::to_string(i) + " of " +
                                    w.model + ": weights do not match input " + std::to_string(in) +
                                    ", hidden " + std::to_string(h));
      }
      const std::vector<int> order =
          lstm ? std::vector<int>{0, 3, 1, 2} : std::vector<int>{1, 0, 2};
      const std::string name = tag + "rnn" + std::to_string(i);
      std::vector<float> bias = Reorder(r.bias_ih, h, 1, order);
      const std::vector<float> bias_hh = Reorder(r.bias_hh, h, 1, order);
      bias.insert(bias.end(), bias_hh.begin(), bias_hh.end());
      const std::string W =
          g.Floats(name + ".W", {1, gates * h, in}, Reorder(r.weight_ih, h, in, order));
      const std::string R =
          g.Floats(name + ".R", {1, gates * h, h}, Reorder(r.weight_hh, h, h, order));
      const std::string B = g.Floats(name + ".B", {1, 2 * gates * h}, bias);
      const bool last = i + 1 == path.recurrent.size();
      const std::string y = name + ".Y", yh = name + ".Y_h";
      onnx::NodeProto* n =
          g.Node(lstm ? "LSTM" : "GRU", {x, W, R, B}, {last ? "" : y, last ? yh : ""});
      GraphBuilder::Int(n, "hidden_size", h);
      if (!lstm) GraphBuilder::Int(n, "linear_before_reset", 1);
      // Y [time, 1, batch, hidden] feeds the next layer; the last layer's Y_h [1, batch,
      // hidden] is its last time step.
      x = last ? g.Apply("Squeeze", {yh, axes0}) : g.Apply("Squeeze", {y, axes1});
      in = h;
    }
    for (size_t i = 0; i < path.dense.size(); ++i) {
      if (path.dense[i].in != in) throw std::invalid_argument("export: dense layer sizes disagree");
      x = g.Apply("Relu", {g.Dense(x, tag + "dense" + std::to_string(i), path.dense[i])});
      in = path.dense[i].out;
    }
    if (path.batchnorm) {
      const BatchNormWeights& bn = *path.batchnorm;
      for (const auto* v : {&bn.gamma, &bn.beta, &bn.mean, &bn.var}) {
        if (v->size() != static_cast<size_t>(in)) {
          throw std::invalid_argument("export: BatchNorm of " + w.model + " has " +
                                      std::to_string(v->size()) + " features for " +
                                      std::to_string(in));
        }
      }
      const std::string name = tag + "bn";
      const std::string out = g.Apply(
          "BatchNormalization",
          {x, g.Floats(name + ".scale", {in}, bn.gamma), g.Floats(name + ".bias", {in}, bn.beta),
           g.Floats(name + ".mean", {in}, bn.mean), g.Floats(name + ".var", {in}, bn.var)});
      GraphBuilder::Float(m.mutable_graph()->mutable_node(m.graph().node_size() - 1), "epsilon",
                          static_cast<float>(bn.epsilon));
      x = out;
    }
    if (path.out.in != in) throw std::invalid_argument("export: output layer sizes disagree");
    outs.push_back(g.Dense(x, tag + "out", path.out));
    total += path.out.out;
  }
  if (total != w.output_size) {
    throw std::invalid_argument("export: " + w.model + "'s paths give " + std::to_string(total) +
                                " outputs for " + std::to_string(w.output_size));
  }
  if (outs.size() == 1) {
    g.Node("Identity", {outs[0]}, {"output"});
  } else {
    GraphBuilder::Int(g.Node("Concat", outs, {"output"}), "axis", 1);
  }
  g.Value(false, "output", {-1, w.output_size});
  std::map<std::string, std::string> meta = {{kOnnxKindKey, "predictor"},
                                             {"linklab.model", w.model},
                                             {"linklab.window", std::to_string(w.window)}};
  for (const auto& [k, v] : metadata) meta[k] = v;
  AddMetadata(m, meta);
  return Serialise(m);
}

OnnxSummary InspectOnnx(const std::string& bytes, const std::string& what) {
  onnx::ModelProto m;
  if (!m.ParseFromString(bytes) || !m.has_graph()) {
    throw std::runtime_error(what + ": not an ONNX model (it does not parse)");
  }
  OnnxSummary s;
  s.producer = m.producer_name() + (m.producer_version().empty() ? "" : " " + m.producer_version());
  s.ir_version = m.ir_version();
  for (const auto& op : m.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") s.opset = op.version();
  }
  auto describe = [](const onnx::ValueInfoProto& v) {
    std::string text = v.name() + " [";
    const auto& shape = v.type().tensor_type().shape();
    for (int i = 0; i < shape.dim_size(); ++i) {
      const auto& d = shape.dim(i);
      text += (i ? ", " : "") + (d.has_dim_value() ? std::to_string(d.dim_value()) : d.dim_param());
    }
    return text + "]";
  };
  for (const auto& v : m.graph().input()) s.inputs.push_back(describe(v));
  for (const auto& v : m.graph().output()) s.outputs.push_back(describe(v));
  for (const auto& n : m.graph().node()) ++s.ops[n.op_type()];
  for (const auto& e : m.metadata_props()) s.metadata[e.key()] = e.value();
  return s;
}

}  // namespace linklab::models
