// The inference runtime allocates nothing per call once its buffers fit the batch: global
// operator new is counted in this binary.

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>

#include "models/onnx_export.h"
#include "models/onnx_runtime.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace linklab::models {
namespace {

// A small predictor (LSTM 16 -> GRU 8 -> Dense 4 ReLU -> BatchNorm -> out 2, beside a GRU 8
// -> out 2 branch) with made-up weights, and a small policy (normaliser, 64-64 tanh MLP,
// categorical head).
SequenceNetWeights SmallNet() {
  SequenceNetWeights w{"test", 5, 3, 2, {}};
  SequencePathWeights p;
  int k = 0;
  auto fill = [&](size_t n) {
    std::vector<float> out(n);
    for (float& x : out) x = 0.3f * static_cast<float>(std::sin(0.37 * ++k));
    return out;
  };
  p.recurrent.push_back({"lstm", 3, 16, fill(64 * 3), fill(64 * 16), fill(64), fill(64)});
  p.recurrent.push_back({"gru", 16, 8, fill(24 * 16), fill(24 * 8), fill(24), fill(24)});
  p.dense.push_back({8, 4, fill(32), fill(4)});
  p.batchnorm = BatchNormWeights{fill(4), fill(4), fill(4), std::vector<float>(4, 0.5f), 1e-5};
  p.out = {4, 2, fill(8), fill(2)};
  w.paths.push_back(p);
  // A second branch: the paths' outputs meet in a Concat.
  SequencePathWeights q;
  q.recurrent.push_back({"gru", 3, 8, fill(24 * 3), fill(24 * 8), fill(24), fill(24)});
  q.out = {8, 2, fill(16), fill(2)};
  w.paths.push_back(q);
  w.output_size = 4;
  return w;
}

PolicyArtefact SmallPolicy() {
  PolicyArtefact a;
  a.agent = "ppo";
  a.observation_space = envs::Space::Box(std::vector<double>(10, -5), std::vector<double>(10, 5));
  a.action_space = envs::Space::Discrete(4);
  a.network.sizes = {10, 64, 64, 4};
  a.params.resize(a.network.num_params());
  for (size_t i = 0; i < a.params.size(); ++i)
    a.params[i] = static_cast<float>((i % 17) - 8) * 0.01f;
  a.normalizer =
      ObsNormalizer{std::vector<double>(10, 0.5), std::vector<double>(10, 2.0), 10, 1e-8};
  return a;
}

long AllocationsOf(OnnxRuntime& r, const std::vector<float>& in, int64_t rows) {
  const long before = g_allocations.load();
  r.Run(in.data(), rows);
  return g_allocations.load() - before;
}

TEST(RuntimeAllocations, NonePerCallAfterLoading) {
  for (const std::string& bytes :
       {ExportSequenceOnnx(SmallNet()), ExportPolicyOnnx(SmallPolicy())}) {
    OnnxRuntime r(bytes, "test");
    std::vector<float> in(8 * r.input_size(), 0.25f);
    EXPECT_EQ(AllocationsOf(r, in, 1), 0) << "one row: buffers are sized at load";
    EXPECT_EQ(AllocationsOf(r, in, 1), 0);
    EXPECT_GT(AllocationsOf(r, in, 8), 0) << "a larger batch grows the buffers once";
    EXPECT_EQ(AllocationsOf(r, in, 8), 0);
    EXPECT_EQ(AllocationsOf(r, in, 3), 0);
    EXPECT_TRUE(std::isfinite(r.output(0)[0]));
  }
}

}  // namespace
}  // namespace linklab::models
