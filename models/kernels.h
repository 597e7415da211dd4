#pragma once
// The inference runtime's hot loops (models/onnx_runtime.h): a matrix product against
// row-major weights and the logistic and tanh activations, in float32. Two builds of each,
// chosen once per process by the CPU: AVX2 + FMA where the CPU has them (x86-64 v3, every
// Intel since Haswell and AMD since Zen), plain C++ otherwise. Results are the same within a
// few float ulps between the two, and bit-identical on one machine. LINKLAB_KERNELS=generic
// forces the plain build.

#include <cstdint>
#include <vector>

namespace linklab::models::kernels {

// A weight matrix B [n, k] (torch's [out, in] layout) repacked for the product below: panels of
// kPanel rows, each stored column by column (panel p holds B[p * kPanel + r, j] at
// data[(p * k + j) * kPanel + r], rows past n zero), so that the product reads it in one
// sequential stream.
struct PackedMatrix {
  static constexpr int64_t kPanel = 64;
  int64_t n = 0, k = 0;
  std::vector<float> data;

  PackedMatrix() = default;
  PackedMatrix(const float* b, int64_t n, int64_t k);
};

// C[m, n] = (accumulate ? C : 0) + A[m, k] * B^T: A's rows are contiguous with stride lda,
// C's rows have stride ldc.
void Gemm(int64_t m, const float* a, int64_t lda, const PackedMatrix& b, float* c, int64_t ldc,
          bool accumulate);
// x[i] = 1 / (1 + exp(-x[i])) and x[i] = tanh(x[i]), for n elements; absolute error under
// 1e-6.
void Sigmoid(float* x, int64_t n);
void Tanh(float* x, int64_t n);
// "avx2" or "generic": the build in use.
const char* Isa();

}  // namespace linklab::models::kernels
