// ONNX export and the inference runtime: every registered predictor and every learning
// agent's policy, exported, run by our runtime and by ONNX Runtime (when it is installed) and
// compared with libtorch (max abs difference 1e-5) on random and on real-shaped inputs; corrupt,
// truncated and unsupported files refused with errors naming the node; the CLI.

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "agents/torch_mlp.h"
#include "agents/trainer.h"
#include "core/files.h"
#include "core/rng.h"
#include "envs/registry.h"
#include "envs/shaping/shaping_env.h"
#include "experiments/export.h"
#include "experiments/ort_node.h"
#include "models/onnx_export.h"
#include "models/onnx_runtime.h"
#include "models/sequence_model.h"
#include "sim/capacity.h"
#include "tests/agents/small_agent.h"
#include "tests/test_util.h"

namespace linklab::models {
namespace {

namespace fs = std::filesystem;
constexpr double kTolerance = 1e-5;

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
    if (std::isnan(a[i]) != std::isnan(b[i])) m = INFINITY;
  }
  return m;
}

std::string TestPath(const std::string& suffix) {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return ::testing::TempDir() + "/onnx_" + name + suffix;
}

// ---- predictors ----

ModelRegistryType& Registry() {
  RegisterSequenceModels(ModelRegistry());
  return ModelRegistry();
}

// The registered predictors, and rnn with GRU cells (the registered GRU is multi_horizon's
// middle branch).
struct PredictorCase {
  std::string name;
  core::RawValues values;
  std::string label;
};
std::vector<PredictorCase> PredictorCases() {
  std::vector<PredictorCase> out;
  for (const std::string& name : Registry().Names()) out.push_back({name, {}, name});
  out.push_back({"rnn",
                 {{"cells", {"gru,lstm", "t"}}, {"units", {"48,24", "t"}}, {"window", {"12", "t"}}},
                 "rnn_gru_lstm"});
  out.push_back({"rnn",
                 {{"cells", {"gru", "t"}},
                  {"units", {"32", "t"}},
                  {"dense", {"", "t"}},
                  {"batchnorm", {"false", "t"}}},
                 "rnn_gru_only"});
  return out;
}

struct Exported {
  std::unique_ptr<Model> model;
  ModelContext context;
  std::string bytes;
};

Exported ExportPredictor(const PredictorCase& c) {
  const auto& e = Registry().Find(c.name);
  const core::Params p = core::Params::Resolve(e.params, c.values, "model " + c.name);
  Exported x;
  x.context.input_size = 6;
  x.context.window = p.Int("window");
  x.context.horizons = c.name == "multi_horizon" ? 3 : 1;
  x.context.output_size = 2 * x.context.horizons;
  x.context.seed = 5;
  x.model = e.make(p, x.context);
  // A few training steps, so that BatchNorm's running statistics are not the identity.
  core::Rng rng(3);
  const int64_t rows = 16;
  std::vector<float> in(rows * x.context.window * 6), target(rows * x.context.output_size);
  for (int step = 0; step < 3; ++step) {
    for (float& v : in) v = static_cast<float>(rng.Normal() * 1.5 + 0.3);
    for (float& v : target) v = static_cast<float>(rng.Normal());
    x.model->Fit(in, target, rows);
  }
  x.bytes = ExportSequenceOnnx(x.model->Weights(), {{"test", "1"}});
  return x;
}

// Inputs of three kinds: standard normal, wide (values to +-6, past where training went), and
// windows of a real-shaped link series (a Markov cellular capacity with outages, its log rate,
// changes and a lagged copy as features), standardised as the data pipeline does.
std::vector<std::pair<std::string, std::vector<float>>> PredictorInputs(const ModelContext& c,
                                                                        int64_t rows) {
  const int64_t n = rows * c.window * c.input_size;
  core::Rng rng(17);
  std::vector<float> normal(n), wide(n), series;
  for (float& v : normal) v = static_cast<float>(rng.Normal());
  for (float& v : wide) v = static_cast<float>(rng.Uniform() * 12.0 - 6.0);
  auto capacity = sim::MarkovCapacity({}, 9);
  const std::vector<double> mbps =
      sim::IntervalRatesMbps(*capacity, static_cast<double>(rows + c.window + 2), 1.0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t t = 0; t < c.window; ++t) {
      const size_t i = static_cast<size_t>(r + t + 1);
      const double features[6] = {
          mbps[i] / 10.0 - 1.0,          std::log1p(mbps[i]) - 2.0,
          (mbps[i] - mbps[i - 1]) / 5.0, mbps[i - 1] / 10.0 - 1.0,
          mbps[i] < 0.1 ? 1.0 : -1.0,    std::sin(0.1 * static_cast<double>(i))};
      for (int64_t f = 0; f < c.input_size; ++f)
        series.push_back(static_cast<float>(features[f % 6]));
    }
  }
  return {{"normal", normal}, {"wide", wide}, {"series", series}};
}

void PrintTo(const PredictorCase& c, std::ostream* os) { *os << c.label; }

class EveryPredictor : public ::testing::TestWithParam<PredictorCase> {};

TEST_P(EveryPredictor, RuntimeMatchesLibtorch) {
  Exported x = ExportPredictor(GetParam());
  OnnxRuntime runtime(x.bytes, GetParam().label);
  EXPECT_EQ(runtime.input_shape(), (std::vector<int64_t>{x.context.window, 6}));
  EXPECT_EQ(runtime.output_size(runtime.OutputIndex("output")), x.context.output_size);
  EXPECT_EQ(runtime.metadata().at(kOnnxKindKey), "predictor");
  EXPECT_EQ(runtime.metadata().at("test"), "1");
  for (int64_t rows : {1, 7}) {
    for (const auto& [kind, in] : PredictorInputs(x.context, rows)) {
      const std::vector<float> want = x.model->Predict(in, rows);
      const std::vector<float> got = runtime.Run(in, rows);
      EXPECT_LT(MaxAbsDiff(got, want), kTolerance) << kind << " inputs, " << rows << " rows";
      // The outputs are not constant: the comparison means something.
      EXPECT_GT(MaxAbsDiff(got, std::vector<float>(got.size(), got[0])), 1e-3) << kind;
    }
  }
}

TEST_P(EveryPredictor, OnnxRuntimeMatchesLibtorch) {
  const std::string why = experiments::OrtUnavailableReason();
  if (!why.empty()) GTEST_SKIP() << "ONNX Runtime cannot run here: " << why;
  Exported x = ExportPredictor(GetParam());
  const std::string path = TestPath(".onnx");
  core::WriteFileAtomic(path, x.bytes);
  const int64_t rows = 5;
  for (const auto& [kind, in] : PredictorInputs(x.context, rows)) {
    const auto out = experiments::OrtRun(path, in, {rows, x.context.window, 6}, TestPath("_ort"));
    ASSERT_TRUE(out.count("output"));
    EXPECT_LT(MaxAbsDiff(out.at("output"), x.model->Predict(in, rows)), kTolerance) << kind;
  }
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryPredictor, ::testing::ValuesIn(PredictorCases()),
                         [](const ::testing::TestParamInfo<PredictorCase>& i) {
                           return i.param.label;
                         });

// ---- policies ----

struct PolicyCase {
  std::string algo, env, label;
};

std::vector<PolicyCase> PolicyCases() {
  return {{"ppo", "CartPole-v1", "ppo_discrete"},
          {"ppo", "Pendulum-v1", "ppo_gaussian"},
          {"dqn", "CartPole-v1", "dqn"},
          {"ppo", "shaping(scenario=tethered(capacity=markov,backend=fluid),action=discrete)",
           "ppo_shaping_discrete"},
          {"ppo", "shaping(scenario=tethered(capacity=markov,backend=fluid),action=continuous)",
           "ppo_shaping_continuous"}};
}

// libtorch's forward pass of the artefact's MLP on normalised observations, and its action.
std::pair<std::vector<float>, std::vector<float>> TorchPolicy(const PolicyArtefact& a,
                                                              const std::vector<float>& seen,
                                                              int64_t rows) {
  std::vector<float> output =
      agents::TorchMlpForward(a.network, a.params.data(), seen.data(), rows);
  const torch::Tensor x =
      torch::from_blob(output.data(), {rows, a.network.output_size()}, torch::kFloat32);
  torch::Tensor action;
  if (a.head.kind == ActionHead::Kind::kCategorical) {
    action = x.argmax(1, true).to(torch::kFloat32);
  } else {
    const auto& lo = a.action_space.low();
    const auto& hi = a.action_space.high();
    const torch::Tensor low = torch::tensor(std::vector<float>(lo.begin(), lo.end()));
    const torch::Tensor high = torch::tensor(std::vector<float>(hi.begin(), hi.end()));
    action = x;
    if (a.head.squash == ActionHead::Squash::kTanh)
      action = low + (torch::tanh(x) + 1) * 0.5 * (high - low);
    if (a.head.clip_to_bounds) action = torch::max(torch::min(action, high), low);
  }
  auto vec = [](const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  return {vec(x), vec(action)};
}

struct ExportedPolicy {
  PolicyArtefact artefact;
  std::string bytes;
  std::vector<std::pair<std::string, std::vector<float>>> inputs;  // raw observations
  std::vector<float> seen_of(const std::vector<float>& raw, int64_t rows) const {
    // The normaliser in double, as the env applies it (envs::NormalizeObservation).
    std::vector<float> z = raw;
    const ObsNormalizer& n = *artefact.normalizer;
    const int64_t m = artefact.observation_space.size();
    for (int64_t i = 0; i < rows * m; ++i) {
      const double v = (z[i] - n.mean[i % m]) / std::sqrt(n.var[i % m] + n.epsilon);
      z[i] = static_cast<float>(std::clamp(v, -n.clip, n.clip));
    }
    return z;
  }
};

constexpr int64_t kPolicyRows = 32;

ExportedPolicy ExportPolicyCase(const PolicyCase& c) {
  envs::shaping::RegisterShapingEnv(envs::EnvRegistry());
  const core::Spec spec = core::Spec::Parse(c.env, "env");
  const core::Params params = envs::ResolveEnvParams(spec.name(), spec.Values(), "test");
  envs::VectorOptions o;
  o.num_envs = 2;
  o.normalize_obs = true;
  auto env = envs::MakeVectorEnv(spec.name(), params, o);
  auto agent = linklab::testing::MakeSmallAgent(c.algo, *env, 1000, 3);
  core::Rng rng(5);
  auto random_actions = [&](int n) {
    envs::Array actions;
    for (int i = 0; i < n; ++i) {
      const envs::Array a = env->single_action_space().Sample(rng);
      actions.insert(actions.end(), a.begin(), a.end());
    }
    return actions;
  };
  // Random steps move the normaliser's statistics away from the identity.
  env->Reset(7);
  for (int i = 0; i < 100; ++i) env->Step(random_actions(env->num_envs()));
  ExportedPolicy x;
  x.artefact = agents::ExportPolicy(*agent, *env);
  x.bytes = ExportPolicyOnnx(x.artefact);
  // Real observations from a random rollout of the raw env, and samples of its space.
  auto raw_env = envs::MakeEnv(spec.name(), params);
  const int64_t m = raw_env->observation_space().size();
  std::vector<float> rollout = raw_env->Reset(9).obs;
  while (static_cast<int64_t>(rollout.size()) < kPolicyRows * m) {
    const envs::StepResult r = raw_env->Step(raw_env->action_space().Sample(rng));
    rollout.insert(rollout.end(), r.obs.begin(), r.obs.end());
    if (r.done()) {
      const envs::Array first = raw_env->Reset().obs;
      rollout.insert(rollout.end(), first.begin(), first.end());
    }
  }
  rollout.resize(kPolicyRows * m);
  std::vector<float> sampled;
  for (int64_t r = 0; r < kPolicyRows; ++r) {
    const envs::Array v = raw_env->observation_space().Sample(rng);
    for (float f : v) sampled.push_back(std::isfinite(f) ? std::clamp(f, -50.0f, 50.0f) : 0.0f);
  }
  x.inputs = {{"rollout", rollout}, {"sampled", sampled}};
  return x;
}

// Rows whose two largest outputs are closer than `margin`: argmax may differ there.
bool NearTie(const std::vector<float>& out, int64_t width, int64_t row, double margin) {
  std::vector<float> r(out.begin() + row * width, out.begin() + (row + 1) * width);
  std::sort(r.rbegin(), r.rend());
  return r.size() > 1 && r[0] - r[1] < margin;
}

void ExpectPolicyOutputs(const ExportedPolicy& x, const std::vector<float>& raw,
                         const std::vector<float>& output, const std::vector<float>& action,
                         const std::string& what) {
  const auto [want_output, want_action] =
      TorchPolicy(x.artefact, x.seen_of(raw, kPolicyRows), kPolicyRows);
  EXPECT_LT(MaxAbsDiff(output, want_output), kTolerance) << what << ": network outputs";
  if (x.artefact.head.kind == ActionHead::Kind::kCategorical) {
    const int64_t width = x.artefact.network.output_size();
    for (int64_t r = 0; r < kPolicyRows; ++r) {
      if (!NearTie(want_output, width, r, 1e-4)) {
        EXPECT_EQ(action[r], want_action[r]) << what << " row " << r;
      }
    }
  } else {
    EXPECT_LT(MaxAbsDiff(action, want_action), kTolerance) << what << ": actions";
  }
}

void PrintTo(const PolicyCase& c, std::ostream* os) { *os << c.algo << " on " << c.env; }

class EveryPolicy : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(EveryPolicy, RuntimeMatchesLibtorch) {
  const ExportedPolicy x = ExportPolicyCase(GetParam());
  ASSERT_TRUE(x.artefact.normalizer.has_value());
  OnnxRuntime runtime(x.bytes, GetParam().label);
  EXPECT_EQ(runtime.metadata().at(kOnnxKindKey), "policy");
  EXPECT_EQ(runtime.metadata().at("linklab.agent"), GetParam().algo);
  for (const auto& [kind, raw] : x.inputs) {
    const std::vector<float> output = runtime.Run(raw, kPolicyRows, "output");
    const std::vector<float> action = runtime.Run(raw, kPolicyRows, "action");
    ExpectPolicyOutputs(x, raw, output, action, kind);
    // And the torch-free artefact acts the same.
    const std::vector<float> artefact_action = Policy(x.artefact).Act(raw, kPolicyRows);
    if (x.artefact.head.kind != ActionHead::Kind::kCategorical) {
      EXPECT_LT(MaxAbsDiff(action, artefact_action), kTolerance) << kind;
    }
  }
}

TEST_P(EveryPolicy, OnnxRuntimeMatchesLibtorch) {
  const std::string why = experiments::OrtUnavailableReason();
  if (!why.empty()) GTEST_SKIP() << "ONNX Runtime cannot run here: " << why;
  const ExportedPolicy x = ExportPolicyCase(GetParam());
  const std::string path = TestPath(".onnx");
  core::WriteFileAtomic(path, x.bytes);
  for (const auto& [kind, raw] : x.inputs) {
    const auto out = experiments::OrtRun(
        path, raw, {kPolicyRows, x.artefact.observation_space.size()}, TestPath("_ort"));
    ASSERT_TRUE(out.count("output") && out.count("action"));
    ExpectPolicyOutputs(x, raw, out.at("output"), out.at("action"), kind);
    if (x.artefact.head.kind == ActionHead::Kind::kCategorical) {
      ASSERT_TRUE(out.count("probs"));
      OnnxRuntime runtime(x.bytes, "ours");
      EXPECT_LT(MaxAbsDiff(out.at("probs"), runtime.Run(raw, kPolicyRows, "probs")), kTolerance);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Agents, EveryPolicy, ::testing::ValuesIn(PolicyCases()),
                         [](const ::testing::TestParamInfo<PolicyCase>& i) {
                           return i.param.label;
                         });

// The shaping env describes its observations (names, spec, hash) and its discrete action table,
// and a process vector env carries that description from its workers.
TEST(EnvDescription, ShapingDescribesItselfInSyncAndProcessVectorEnvs) {
  envs::shaping::RegisterShapingEnv(envs::EnvRegistry());
  const core::Spec spec =
      core::Spec::Parse("shaping(scenario=tethered(capacity=markov,backend=fluid))", "env");
  const core::Params params = envs::ResolveEnvParams(spec.name(), spec.Values(), "test");
  envs::VectorOptions o;
  o.num_envs = 2;
  auto sync = envs::MakeVectorEnv(spec.name(), params, o);
  o.mode = "process";
  auto process = envs::MakeVectorEnv(spec.name(), params, o);
  const envs::EnvDescription& d = sync->description();
  EXPECT_EQ(static_cast<int64_t>(d.features.size()), sync->single_observation_space().size());
  EXPECT_EQ(d.features[0], "t0.link.valid");
  EXPECT_EQ(d.observation_spec_hash.size(), 16u);
  EXPECT_EQ(d.observation_spec.rfind("linklab-obs/1;", 0), 0u) << d.observation_spec;
  const int64_t n = sync->single_action_space().n();
  EXPECT_EQ(static_cast<int64_t>(d.action_names.size()), n);
  EXPECT_EQ(d.action_values.size(), static_cast<size_t>(n) * d.action_columns.size());
  EXPECT_EQ(d.action_names[0], "leave");
  const envs::EnvDescription& p = process->description();
  EXPECT_EQ(p.features, d.features);
  EXPECT_EQ(p.observation_spec, d.observation_spec);
  EXPECT_EQ(p.observation_spec_hash, d.observation_spec_hash);
  EXPECT_EQ(p.action_columns, d.action_columns);
  EXPECT_EQ(p.action_names, d.action_names);
  EXPECT_EQ(p.action_values, d.action_values);
  // Classic envs have none.
  EXPECT_TRUE(envs::MakeEnv("CartPole-v1")->Describe().features.empty());
}

TEST(PolicyExport, FixedPolicyIsRefused) {
  PolicyArtefact a;
  a.agent = "fixed";
  a.observation_space = envs::Space::Box({0, 0}, {1, 1});
  a.action_space = envs::Space::Discrete(3);
  a.head.kind = ActionHead::Kind::kConstant;
  a.head.constant = {1};
  const std::string e = linklab::testing::ErrorOf([&] { ExportPolicyOnnx(a); });
  EXPECT_NE(e.find("no network"), std::string::npos) << e;
}

// ---- bad files ----

std::string SmallModel() {
  static const std::string bytes =
      ExportPredictor(
          {"rnn",
           {{"cells", {"lstm,gru", "t"}}, {"units", {"8,8", "t"}}, {"window", {"4", "t"}}},
           "small"})
          .bytes;
  return bytes;
}

// The message of the std::runtime_error loading `bytes` throws ("" when it loads).
std::string LoadError(const std::string& bytes) {
  try {
    OnnxRuntime r(bytes, "model.onnx");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(OnnxRuntimeFiles, TruncatedFilesAreErrorsNamingTheFile) {
  const std::string bytes = SmallModel();
  ASSERT_EQ(LoadError(bytes), "");
  EXPECT_NE(LoadError("").find("model.onnx: not an ONNX model"), std::string::npos);
  int refused = 0, cuts = 0;
  for (size_t cut = 1; cut < bytes.size(); cut += std::max<size_t>(1, bytes.size() / 97)) {
    ++cuts;
    const std::string e = LoadError(bytes.substr(0, cut));
    if (!e.empty()) {
      ++refused;
      EXPECT_EQ(e.rfind("model.onnx: ", 0), 0u) << e;
    }
  }
  // A cut at a field boundary can leave a smaller valid message; a cut inside one cannot.
  EXPECT_GT(refused, cuts * 9 / 10) << refused << " of " << cuts;
  EXPECT_NE(LoadError(bytes.substr(0, bytes.size() / 2)), "");
}

TEST(OnnxRuntimeFiles, BitFlippedFilesLoadAndRunOrAreErrors) {
  const std::string bytes = SmallModel();
  core::Rng rng(23);
  int refused = 0;
  const std::vector<float> in(4 * 6, 0.5f);
  for (int trial = 0; trial < 400; ++trial) {
    std::string b = bytes;
    const size_t at = static_cast<size_t>(rng.Uniform() * static_cast<double>(b.size())) % b.size();
    b[at] = static_cast<char>(b[at] ^ (1 << (trial % 8)));
    try {
      OnnxRuntime r(b, "model.onnx");
      r.Run(in.data(), 1);  // whatever it computes, it computes it inside its buffers
      if (r.num_outputs() > 0) (void)r.output(0)[0];
    } catch (const std::runtime_error& e) {
      ++refused;
      EXPECT_EQ(std::string(e.what()).rfind("model.onnx: ", 0), 0u) << e.what();
    }
  }
  EXPECT_GT(refused, 0);
}

// The exported small model with `edit` applied.
std::string Edited(const std::function<void(onnx::ModelProto&)>& edit) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(SmallModel()));
  edit(m);
  std::string out;
  m.SerializeToString(&out);
  return out;
}

onnx::NodeProto* FindNode(onnx::ModelProto& m, const std::string& op) {
  for (auto& n : *m.mutable_graph()->mutable_node()) {
    if (n.op_type() == op) return &n;
  }
  ADD_FAILURE() << "no " << op;
  return nullptr;
}

TEST(OnnxRuntimeFiles, UnsupportedOpsAttributesAndShapesNameTheNode) {
  auto expect = [](const std::string& bytes, const std::vector<std::string>& parts) {
    const std::string e = LoadError(bytes);
    for (const std::string& p : parts) EXPECT_NE(e.find(p), std::string::npos) << e << " / " << p;
  };
  expect(Edited([](onnx::ModelProto& m) { FindNode(m, "Relu")->set_op_type("Elu"); }),
         {"model.onnx: node 'Relu_", "(Elu)", "op not implemented"});
  expect(Edited([](onnx::ModelProto& m) {
           auto* a = FindNode(m, "LSTM")->add_attribute();
           a->set_name("clip");
           a->set_type(onnx::AttributeProto::FLOAT);
           a->set_f(3);
         }),
         {"(LSTM)", "attribute 'clip' is not implemented"});
  expect(Edited([](onnx::ModelProto& m) {
           for (auto& a : *FindNode(m, "LSTM")->mutable_attribute()) {
             if (a.name() == "hidden_size") a.set_i(9);
           }
         }),
         {"(LSTM)", "W [1, 32, 6] for hidden 9"});
  expect(Edited([](onnx::ModelProto& m) {
           for (auto& a : *FindNode(m, "GRU")->mutable_attribute()) {
             if (a.name() == "linear_before_reset") a.set_i(0);
           }
         }),
         {"(GRU)", "linear_before_reset = 1"});
  expect(Edited([](onnx::ModelProto& m) { FindNode(m, "Gemm")->set_input(0, "nowhere"); }),
         {"(Gemm)", "input 'nowhere' is not defined"});
  expect(Edited([](onnx::ModelProto& m) {
           m.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(5);
         }),
         {"initializer", "data bytes"});
  expect(Edited([](onnx::ModelProto& m) { FindNode(m, "Relu")->set_input(0, ""); }),
         {"(Relu)", "input 0 has no name"});
  expect(Edited([](onnx::ModelProto& m) { FindNode(m, "Gemm")->set_output(0, ""); }),
         {"(Gemm)", "its output has no name"});
  expect(Edited([](onnx::ModelProto& m) {
           // A tiny file asking for gigabytes of buffers: a large input through eight Relus.
           auto* g = m.mutable_graph();
           g->clear_node();
           g->clear_output();
           auto* shape =
               g->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
           shape->mutable_dim(1)->set_dim_value(8192);
           shape->mutable_dim(2)->set_dim_value(4096);
           for (int i = 0; i < 8; ++i) {
             auto* n = g->add_node();
             n->set_op_type("Relu");
             n->set_name("relu" + std::to_string(i));
             n->add_input(i == 0 ? "input" : "r" + std::to_string(i - 1));
             n->add_output("r" + std::to_string(i));
           }
           g->add_output()->set_name("r7");
         }),
         {"node 'relu3' (Relu)", "MiB of buffers and weights"});
  expect(Edited([](onnx::ModelProto& m) { m.mutable_opset_import(0)->set_version(9); }),
         {"opset 9"});
  expect(
      Edited([](onnx::ModelProto& m) { m.mutable_graph()->mutable_output(0)->set_name("gone"); }),
      {"output 'gone' is not computed"});
}

// A NaN in the input stays a NaN in the outputs (as in libtorch), with either kernel build:
// it never becomes a confident number.
TEST(OnnxRuntimeFiles, NanInputsGiveNanOutputs) {
  OnnxRuntime runtime(SmallModel(), "small");
  std::vector<float> in(runtime.input_size(), 0.2f);
  in[3] = NAN;
  for (float v : runtime.Run(in, 1)) EXPECT_TRUE(std::isnan(v));
}

// ---- the CLI ----

int Shell(const std::string& command, std::string* output = nullptr) {
  const std::string log = TestPath(".log");
  const int rc = std::system((command + " >" + log + " 2>&1").c_str());
  if (output) *output = core::ReadFile(log);
  return WEXITSTATUS(rc);
}

TEST(ExportCli, ExportsAPolicyRunAndInspectsIt) {
  const std::string dir = TestPath("_runs");
  fs::remove_all(dir);
  std::string out;
  ASSERT_EQ(Shell(std::string(LINKLAB_BINARY) + " run " + LINKLAB_SOURCE_DIR +
                      "/experiments/reference/ppo_cartpole.ini --set train.total_steps=512 "
                      "--set eval.episodes=1 --set experiment.output=" +
                      dir,
                  &out),
            0)
      << out;
  std::string run;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().filename() == "policy.bin" &&
        e.path().parent_path().parent_path().filename() != "checkpoints") {
      run = e.path().parent_path();
    }
  }
  ASSERT_FALSE(run.empty());
  const std::string onnx = TestPath(".onnx");
  ASSERT_EQ(Shell(std::string(LINKLAB_BINARY) + " export " + run + " -o " + onnx, &out), 0) << out;
  EXPECT_NE(out.find("exported the ppo policy"), std::string::npos) << out;
  ASSERT_EQ(Shell(std::string(LINKLAB_BINARY) + " export --inspect " + onnx, &out), 0) << out;
  for (const char* part : {"opset: 17", "input:  input [batch, 4]", "output: action [batch, 1]",
                           "linklab.head = categorical", "linklab.git_commit", "linklab.config",
                           "linklab.env = CartPole-v1", "linklab.seed = 1"}) {
    EXPECT_NE(out.find(part), std::string::npos) << part << "\n" << out;
  }
  // The file runs, and acts as the artefact does.
  OnnxRuntime runtime = OnnxRuntime::Load(onnx);
  const Policy policy = Policy::Load(run + "/policy.bin");
  const std::vector<float> obs = {0.01f, -0.2f, 0.03f, 0.1f, -1.0f, 1.5f, 0.2f, -0.8f};
  const std::vector<float> action = runtime.Run(obs, 2, "action");
  EXPECT_EQ(action, policy.Act(obs, 2));

  EXPECT_NE(Shell(std::string(LINKLAB_BINARY) + " export " + dir + "/nothing -o " + onnx, &out), 0);
  EXPECT_NE(out.find("nothing: not a folder"), std::string::npos) << out;
  EXPECT_NE(Shell(std::string(LINKLAB_BINARY) + " export " + dir + " -o " + onnx, &out), 0);
  EXPECT_NE(out.find("neither a run with a policy"), std::string::npos) << out;
  EXPECT_NE(Shell(std::string(LINKLAB_BINARY) + " export " + run, &out), 0);
  EXPECT_NE(out.find("missing -o"), std::string::npos) << out;
  const std::string junk = TestPath(".junk");
  core::WriteFileAtomic(junk, "not a model at all");
  EXPECT_NE(Shell(std::string(LINKLAB_BINARY) + " export --inspect " + junk, &out), 0);
  EXPECT_NE(out.find("not an ONNX model"), std::string::npos) << out;
}

}  // namespace
}  // namespace linklab::models
