#include "agents/torch_nets.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace linklab::agents {
namespace {

TEST(ParamSet, EigenForwardMatchesTorch) {
  for (Activation act : {Activation::kTanh, Activation::kRelu}) {
    torch::manual_seed(3);
    ParamSet params;
    const int index = params.AddMlp({{6, 32, 16, 3}, act}, Init::kOrthogonal, 0.5);
    params.Finalize();
    const torch::Tensor x = torch::randn({5, 6});
    const torch::Tensor want = params.Forward(index, x).detach();
    std::vector<float> got(5 * 3);
    MlpForward(params.spec(index), params.MlpData(index), x.data_ptr<float>(), 5, got.data());
    for (int64_t i = 0; i < 15; ++i) {
      EXPECT_NEAR(got[i], want.view({-1})[i].item<float>(), 1e-5) << ActivationName(act);
    }
  }
}

TEST(ParamSet, GradientsLandInTheFlatBufferAndOptimiserMovesTheNet) {
  torch::manual_seed(1);
  ParamSet params;
  const int index = params.AddMlp({{2, 8, 1}, Activation::kTanh}, Init::kTorchDefault);
  const int extra = params.AddTensor({1, 2}, 0.5f);
  params.Finalize();
  EXPECT_EQ(params.size(), 2 * 8 + 8 + 8 + 1 + 2);
  EXPECT_FLOAT_EQ(params.tensor(extra)[0][1].item<float>(), 0.5f);
  torch::optim::SGD sgd({params.flat()}, torch::optim::SGDOptions(0.1));
  const torch::Tensor x = torch::ones({4, 2});
  const float before = params.Forward(index, x).sum().item<float>();
  params.grad().zero_();
  params.Forward(index, x).sum().backward();
  EXPECT_GT(params.grad().abs().sum().item<float>(), 0.0f);
  sgd.step();
  // Descending on the sum lowers it.
  EXPECT_LT(params.Forward(index, x).sum().item<float>(), before);
  // Clipping bounds the norm.
  const double norm = params.ClipGradNorm(1e-3);
  EXPECT_GT(norm, 1e-3);
  EXPECT_NEAR(params.grad().norm().item<double>(), 1e-3, 1e-6);
}

TEST(ParamSet, CheckpointOfAnotherShapeIsRefusedWithTheDifference) {
  const std::string path = ::testing::TempDir() + "/params.pt";
  ParamSet a, b;
  a.AddMlp({{4, 64, 2}, Activation::kTanh}, Init::kOrthogonal);
  a.Finalize();
  b.AddMlp({{4, 32, 2}, Activation::kTanh}, Init::kOrthogonal);
  b.Finalize();
  SaveTensors(path, a.Manifest(), {a.flat()});
  try {
    LoadTensors(path, b.Manifest(), {b.flat()});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "checkpoint " + path +
                                         " is for another model shape: checkpoint has 'mlp 0 tanh "
                                         "sizes 4 64 2', this model has 'mlp 0 tanh sizes 4 32 2'");
  }
  // The same shape loads back exactly.
  ParamSet c;
  c.AddMlp({{4, 64, 2}, Activation::kTanh}, Init::kTorchDefault);
  c.Finalize();
  LoadTensors(path, c.Manifest(), {c.flat()});
  EXPECT_TRUE(torch::equal(c.flat(), a.flat()));
  EXPECT_THROW(LoadTensors(::testing::TempDir() + "/missing.pt", c.Manifest(), {c.flat()}),
               std::runtime_error);
}

TEST(Mlp, HiddenSizesAreChecked) {
  EXPECT_EQ(ParseHiddenSizes("64, 32", "x"), (std::vector<int64_t>{64, 32}));
  EXPECT_TRUE(ParseHiddenSizes("", "x").empty());
  EXPECT_THROW(ParseHiddenSizes("64,0", "[agent] hidden_sizes"), std::invalid_argument);
  EXPECT_THROW(ParseHiddenSizes("64,a", "[agent] hidden_sizes"), std::invalid_argument);
}

}  // namespace
}  // namespace linklab::agents
