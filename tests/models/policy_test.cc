// The torch-free policy artefact on its own: what each action head does, the file round
// trip, and clear errors for bad files. This suite links linklab_policy and linklab_models
// only (no torch, no ns-3), which keeps them free of both.

#include "models/policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/files.h"
#include "models/model.h"

namespace linklab::models {
namespace {

namespace fs = std::filesystem;

// A 2-input, 3-output linear network (no hidden layer): out = W x + b.
PolicyArtefact Categorical() {
  PolicyArtefact a;
  a.agent = "test";
  a.observation_space = envs::Space::Box(-10, 10, {2});
  a.action_space = envs::Space::Discrete(3);
  a.network.sizes = {2, 3};
  // W rows: out0 = x0, out1 = x1, out2 = -x0 - x1; b = 0.
  a.params = {1, 0, 0, 1, -1, -1, 0, 0, 0};
  a.head.kind = ActionHead::Kind::kCategorical;
  return a;
}

// obs (1 element) -> 2 -> tanh -> 1, the Gaussian mean in [-2, 2].
PolicyArtefact Gaussian() {
  PolicyArtefact a;
  a.agent = "test";
  a.observation_space = envs::Space::Box(-100, 100, {1});
  a.action_space = envs::Space::Box(-2, 2, {1});
  a.network.sizes = {1, 2, 1};
  a.network.activation = Activation::kTanh;
  // hidden = tanh([x, 0]); out = 3 * h0 + 0 * h1 + 0.5.
  a.params = {1, 0, 0, 0, 3, 0, 0.5};
  a.head.kind = ActionHead::Kind::kGaussianMean;
  return a;
}

std::string TempFile(const std::string& name) { return ::testing::TempDir() + "/" + name; }

std::string RuntimeErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(Policy, CategoricalTakesTheLargestOutput) {
  const Policy p(Categorical());
  // Rows: x0 largest, x1 largest, both negative (out2 largest), a tie (the first one wins).
  EXPECT_EQ(p.Act({3, 1, 1, 4, -2, -3, 2, 2}, 4), (Array{0, 1, 2, 0}));
}

TEST(Policy, GaussianMeanIsClippedToTheBounds) {
  const Policy p(Gaussian());
  const Array got = p.Act({0.0f, 0.2f, 5.0f, -5.0f}, 4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_FLOAT_EQ(got[0], 0.5f);
  EXPECT_FLOAT_EQ(got[1], static_cast<float>(3 * std::tanh(0.2) + 0.5));
  EXPECT_FLOAT_EQ(got[2], 2.0f);   // 3.5 clipped
  EXPECT_FLOAT_EQ(got[3], -2.0f);  // -2.5 clipped
  PolicyArtefact unclipped = Gaussian();
  unclipped.head.clip_to_bounds = false;
  EXPECT_NEAR(Policy(unclipped).Act({5.0f}, 1)[0], 3 * std::tanh(5.0) + 0.5, 1e-6);
}

TEST(Policy, TanhSquashMapsOntoTheBounds) {
  PolicyArtefact a = Gaussian();
  a.head.squash = ActionHead::Squash::kTanh;
  const Policy p(a);
  // out = 0.5 at x = 0: low + (tanh(0.5) + 1) / 2 * (high - low).
  EXPECT_NEAR(p.Act({0.0f}, 1)[0], -2 + (std::tanh(0.5) + 1) * 2, 1e-6);
  EXPECT_LT(p.Act({100.0f}, 1)[0], 2.0f + 1e-6);
  PolicyArtefact bad = Categorical();
  bad.head.squash = ActionHead::Squash::kTanh;
  EXPECT_THROW(Policy{bad}, std::invalid_argument);
}

TEST(Policy, NormaliserIsAppliedAndClippedBeforeTheNetwork) {
  PolicyArtefact a = Categorical();
  // (x - mean) / sqrt(var + eps): element 0 is shifted by 10, element 1 scaled by 1/2.
  a.normalizer = ObsNormalizer{{10.0, 0.0}, {1.0, 4.0}, 5.0, 0.0};
  const Policy p(a);
  // Raw (11, 4) -> (1, 2), outputs (1, 2, -3): action 1. Raw (10, -8) -> (0, -4), outputs
  // (0, -4, 4): action 2. Raw (100, 0) -> (90, 0) clipped to (5, 0): action 0.
  EXPECT_EQ(p.Act({11, 4, 10, -8, 100, 0}, 3), (Array{1, 2, 0}));
}

TEST(Policy, ConstantPolicyNeedsNoNetwork) {
  PolicyArtefact a;
  a.agent = "fixed";
  a.observation_space = envs::Space::Box(-1, 1, {3});
  a.action_space = envs::Space::Box(-1, 1, {2});
  a.head.kind = ActionHead::Kind::kConstant;
  a.head.constant = {0.25f, -0.5f};
  const Policy p(a);
  EXPECT_EQ(p.Act({0, 0, 0, 1, 1, 1}, 2), (Array{0.25f, -0.5f, 0.25f, -0.5f}));
  a.head.constant = {3.0f, 0.0f};
  EXPECT_THROW(Policy{a}, std::invalid_argument);
}

TEST(Policy, ActionTableGivesTheValuesOfAnIndex) {
  PolicyArtefact a = Categorical();
  a.action_table = {{"rate_mbps", "ceil_mbps"}, {1, 2, 5, 10, 20, 40}};
  const Policy p(a);
  EXPECT_EQ(p.ActionValues(1), (std::vector<float>{5, 10}));
  EXPECT_THROW(p.ActionValues(3), std::invalid_argument);
  a.action_table.values.pop_back();
  EXPECT_THROW(Policy{a}, std::invalid_argument);
}

TEST(Policy, InconsistentArtefactsAreRefused) {
  PolicyArtefact a = Categorical();
  a.params.pop_back();
  EXPECT_THROW(EncodePolicy(a), std::invalid_argument);
  a = Categorical();
  a.action_space = envs::Space::Discrete(4);
  EXPECT_THROW(Policy{a}, std::invalid_argument);
  a = Gaussian();
  a.action_space = envs::Space::Discrete(1);
  EXPECT_THROW(Policy{a}, std::invalid_argument);
  a = Categorical();
  a.normalizer = ObsNormalizer{{0.0}, {1.0}, 10.0, 1e-8};
  EXPECT_THROW(Policy{a}, std::invalid_argument);
  const Policy p(Categorical());
  EXPECT_THROW(p.Act({1, 2, 3}, 2), std::invalid_argument);
}

TEST(PolicyFile, RoundTripKeepsEverything) {
  PolicyArtefact a = Gaussian();
  a.normalizer = ObsNormalizer{{0.5}, {2.0}, 7.0, 1e-8};
  a.metadata = {{"env", "Pendulum-v1"}, {"step", "100"}};
  const std::string path = TempFile("roundtrip_policy.bin");
  WritePolicy(path, a);
  const PolicyArtefact b = ReadPolicy(path);
  EXPECT_EQ(b.agent, a.agent);
  EXPECT_EQ(b.observation_space, a.observation_space);
  EXPECT_EQ(b.action_space, a.action_space);
  EXPECT_EQ(b.network.sizes, a.network.sizes);
  EXPECT_EQ(b.network.activation, a.network.activation);
  EXPECT_EQ(b.params, a.params);
  EXPECT_EQ(b.head.kind, a.head.kind);
  EXPECT_EQ(b.head.clip_to_bounds, a.head.clip_to_bounds);
  ASSERT_TRUE(b.normalizer.has_value());
  EXPECT_EQ(b.normalizer->mean, a.normalizer->mean);
  EXPECT_EQ(b.normalizer->var, a.normalizer->var);
  EXPECT_EQ(b.normalizer->clip, 7.0);
  EXPECT_EQ(b.metadata, a.metadata);
  const Array obs = {-3, 0, 0.5f, 9};
  EXPECT_EQ(Policy(b).Act(obs, 4), Policy(a).Act(obs, 4));

  PolicyArtefact c = Categorical();
  c.action_table = {{"rate_mbps"}, {1, 2, 3}};
  WritePolicy(path, c);
  const PolicyArtefact d = ReadPolicy(path);
  EXPECT_FALSE(d.normalizer.has_value());
  EXPECT_EQ(d.action_table.columns, c.action_table.columns);
  EXPECT_EQ(d.action_table.values, c.action_table.values);
}

TEST(PolicyFile, EveryTruncationIsAClearError) {
  PolicyArtefact a = Categorical();
  a.normalizer = ObsNormalizer{{0.0, 0.0}, {1.0, 1.0}, 10.0, 1e-8};
  a.action_table = {{"rate_mbps"}, {1, 2, 3}};
  a.metadata = {{"env", "x"}};
  const std::string bytes = EncodePolicy(a);
  const std::string path = TempFile("truncated_policy.bin");
  for (size_t n = 0; n < bytes.size(); ++n) {
    core::WriteFileAtomic(path, bytes.substr(0, n));
    const std::string error = RuntimeErrorOf([&] { ReadPolicy(path); });
    ASSERT_NE(error.find(path), std::string::npos) << "cut at " << n << ": '" << error << "'";
    ASSERT_TRUE(error.find("truncated") != std::string::npos ||
                error.find("no LLPOLICY magic") != std::string::npos)
        << "cut at " << n << ": " << error;
  }
  core::WriteFileAtomic(path, bytes + "x");
  EXPECT_EQ(RuntimeErrorOf([&] { ReadPolicy(path); }),
            "policy artefact " + path + ": unexpected trailing data");
}

TEST(PolicyFile, WrongMagicAndVersionAreNamed) {
  const std::string bytes = EncodePolicy(Categorical());
  const std::string path = TempFile("bad_policy.bin");
  std::string other = bytes;
  other[0] = 'X';
  core::WriteFileAtomic(path, other);
  EXPECT_EQ(RuntimeErrorOf([&] { ReadPolicy(path); }),
            "policy artefact " + path + ": not a linklab policy (no LLPOLICY magic)");
  std::string version = bytes;
  version[8] = 7;  // the uint32 after the magic, little-endian
  core::WriteFileAtomic(path, version);
  EXPECT_EQ(RuntimeErrorOf([&] { ReadPolicy(path); }),
            "policy artefact " + path + ": format version 7, this build reads version 1");
  EXPECT_NE(RuntimeErrorOf([&] { ReadPolicy(path + ".missing"); }).find(path + ".missing"),
            std::string::npos);
}

TEST(PolicyFile, InconsistentContentIsNamed) {
  // Patch the layer sizes {2, 3} of a good file to {2, 4}: they then promise 12 parameters
  // where the file holds 9.
  const std::string bytes = EncodePolicy(Categorical());
  auto u64 = [](uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); };
  const std::string sizes = u64(2) + u64(2) + u64(3);  // count, then the sizes
  const size_t at = bytes.find(sizes);
  ASSERT_NE(at, std::string::npos);
  std::string edited = bytes;
  edited.replace(at + 16, 8, u64(4));
  const std::string path = TempFile("inconsistent_policy.bin");
  core::WriteFileAtomic(path, edited);
  EXPECT_EQ(RuntimeErrorOf([&] { ReadPolicy(path); }),
            "policy artefact " + path + ": 9 parameters for a network of 12");
}

TEST(ModelRegistry, IsRealAndNamesWhatExists) {
  EXPECT_EQ(ModelRegistry().kind(), "model");
  try {
    MakeModel("lstm", core::Params(), {});
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).rfind("unknown model 'lstm'; known: ", 0), 0u) << e.what();
  }
}

}  // namespace
}  // namespace linklab::models
