#include "models/kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define LINKLAB_X86 1
#include <immintrin.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace linklab::models::kernels {

namespace {

// ---- plain C++ ----

constexpr int64_t kPanel = PackedMatrix::kPanel;

void GemmGeneric(int64_t m, const float* a, int64_t lda, const PackedMatrix& b, float* c,
                 int64_t ldc, bool accumulate) {
  const int64_t panels = (b.n + kPanel - 1) / kPanel;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t q = 0; q < panels; ++q) {
      // One panel's 64 sums at a time: the inner loop runs over contiguous columns, which
      // the compiler vectorises with the baseline instructions.
      float acc[kPanel] = {};
      const float* w = b.data.data() + q * b.k * kPanel;
      for (int64_t p = 0; p < b.k; ++p, w += kPanel) {
        const float x = a[i * lda + p];
        for (int64_t j = 0; j < kPanel; ++j) acc[j] += x * w[j];
      }
      const int64_t cols = std::min(kPanel, b.n - q * kPanel);
      float* ci = c + i * ldc + q * kPanel;
      for (int64_t j = 0; j < cols; ++j) ci[j] = (accumulate ? ci[j] : 0.0f) + acc[j];
    }
  }
}

void SigmoidGeneric(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = 1.0f / (1.0f + std::exp(-x[i]));
}

void TanhGeneric(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
}

#ifdef LINKLAB_X86
// ---- AVX2 + FMA ----

#define LINKLAB_AVX2 __attribute__((target("avx2,fma")))

// Adds acc (8 lanes) to C[0..cols) (cols <= 8), or stores it.
LINKLAB_AVX2 inline void Put(__m256 acc, float* c, int64_t cols, bool accumulate) {
  if (cols == 8) {
    _mm256_storeu_ps(c, accumulate ? _mm256_add_ps(_mm256_loadu_ps(c), acc) : acc);
    return;
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, acc);
  for (int64_t j = 0; j < cols; ++j) c[j] = (accumulate ? c[j] : 0.0f) + t[j];
}

// MR rows of A times one panel (16 columns of C): 2 * MR accumulators, each k one broadcast
// of A per row and two loads of the panel. (Named accumulators, not arrays: GCC keeps arrays
// of vectors in memory and stores them on every iteration.)
#define LINKLAB_ROW(r)                                     \
  if constexpr (MR > r) {                                  \
    const __m256 x = _mm256_broadcast_ss(a + r * lda + p); \
    lo##r = _mm256_fmadd_ps(x, w0, lo##r);                 \
    hi##r = _mm256_fmadd_ps(x, w1, hi##r);                 \
  }
#define LINKLAB_PUT(r)                                               \
  if constexpr (MR > r) {                                            \
    Put(lo##r, c + r * ldc, cols < 8 ? cols : 8, accumulate);        \
    if (cols > 8) Put(hi##r, c + r * ldc + 8, cols - 8, accumulate); \
  }
template <int MR>
LINKLAB_AVX2 inline void PanelBlock(int64_t k, const float* a, int64_t lda, const float* w,
                                    float* c, int64_t ldc, int64_t cols, bool accumulate) {
  // w: 16 columns of a panel, whose columns are kPanel floats apart.
  const __m256 z = _mm256_setzero_ps();
  __m256 lo0 = z, hi0 = z, lo1 = z, hi1 = z, lo2 = z, hi2 = z, lo3 = z, hi3 = z, lo4 = z, hi4 = z,
         lo5 = z, hi5 = z;
  for (int64_t p = 0; p < k; ++p, w += kPanel) {
    const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
    LINKLAB_ROW(0) LINKLAB_ROW(1) LINKLAB_ROW(2) LINKLAB_ROW(3) LINKLAB_ROW(4) LINKLAB_ROW(5)
  }
  LINKLAB_PUT(0) LINKLAB_PUT(1) LINKLAB_PUT(2) LINKLAB_PUT(3) LINKLAB_PUT(4) LINKLAB_PUT(5)
}
#undef LINKLAB_ROW
#undef LINKLAB_PUT

// One row of A times one whole panel (64 columns): a matrix-vector product reading the panel
// as one sequential stream, eight independent accumulators keeping the FMA units busy.
LINKLAB_AVX2 inline void RowPanel(int64_t k, const float* a, const float* w, float* c, int64_t cols,
                                  bool accumulate) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
  for (int64_t p = 0; p < k; ++p, w += kPanel) {
    const __m256 x = _mm256_broadcast_ss(a + p);
    s0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w), s0);
    s1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 8), s1);
    s2 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 16), s2);
    s3 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 24), s3);
    s4 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 32), s4);
    s5 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 40), s5);
    s6 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 48), s6);
    s7 = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 56), s7);
  }
  const __m256 sums[8] = {s0, s1, s2, s3, s4, s5, s6, s7};
  for (int64_t i = 0; i < 8 && 8 * i < cols; ++i) {
    Put(sums[i], c + 8 * i, std::min<int64_t>(8, cols - 8 * i), accumulate);
  }
}

LINKLAB_AVX2 void GemmAvx2(int64_t m, const float* a, int64_t lda, const PackedMatrix& b, float* c,
                           int64_t ldc, bool accumulate) {
  const int64_t k = b.k, panels = (b.n + kPanel - 1) / kPanel, stride = k * kPanel;
  const float* w = b.data.data();
  for (int64_t i = 0; i < m;) {
    const int64_t rows = std::min<int64_t>(m - i, 6);
    const float* ai = a + i * lda;
    float* ci = c + i * ldc;
    for (int64_t p = 0; p < panels; ++p) {
      const int64_t panel_cols = std::min(kPanel, b.n - p * kPanel);
      if (rows == 1) {
        RowPanel(k, ai, w + p * stride, ci + p * kPanel, panel_cols, accumulate);
        continue;
      }
      // Rows of A in blocks of up to six, the panel 16 columns at a time.
      for (int64_t q = 0; q * 16 < panel_cols; ++q) {
        const int64_t cols = std::min<int64_t>(16, panel_cols - q * 16);
        const float* wq = w + p * stride + q * 16;
        float* cq = ci + p * kPanel + q * 16;
        switch (rows) {
          case 2:
            PanelBlock<2>(k, ai, lda, wq, cq, ldc, cols, accumulate);
            break;
          case 3:
            PanelBlock<3>(k, ai, lda, wq, cq, ldc, cols, accumulate);
            break;
          case 4:
            PanelBlock<4>(k, ai, lda, wq, cq, ldc, cols, accumulate);
            break;
          case 5:
            PanelBlock<5>(k, ai, lda, wq, cq, ldc, cols, accumulate);
            break;
          default:
            PanelBlock<6>(k, ai, lda, wq, cq, ldc, cols, accumulate);
            break;
        }
      }
    }
    i += rows;
  }
}

// exp(x) for x in [-87, 88]: x = n ln2 + r, |r| <= ln2 / 2, exp(r) by a degree-6 polynomial
// (relative error about 2e-7), times 2^n through the exponent bits.
LINKLAB_AVX2 inline __m256 Exp(__m256 x) {
  // Operands in this order keep a NaN a NaN (min and max return their second operand then).
  x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.0f), x));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

LINKLAB_AVX2 void SigmoidAvx2(float* x, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 e = Exp(_mm256_sub_ps(_mm256_setzero_ps(), v));
    _mm256_storeu_ps(x + i, _mm256_div_ps(one, _mm256_add_ps(one, e)));
  }
  SigmoidGeneric(x + i, n - i);
}

// tanh(x) = 1 - 2 / (exp(2x) + 1): the absolute error stays that of exp's relative error.
LINKLAB_AVX2 void TanhAvx2(float* x, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = Exp(_mm256_mul_ps(two, _mm256_loadu_ps(x + i)));
    _mm256_storeu_ps(x + i, _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(e, one))));
  }
  TanhGeneric(x + i, n - i);
}

#endif  // LINKLAB_X86

struct Table {
  decltype(&GemmGeneric) gemm;
  decltype(&SigmoidGeneric) sigmoid, tanh;
  const char* isa;
};

const Table& Chosen() {
  static const Table table = [] {
    // LINKLAB_KERNELS=generic forces the plain C++ build (tests of it on any machine).
    const char* force = std::getenv("LINKLAB_KERNELS");
    const std::string choice = force ? force : "";
    if (choice == "generic") return Table{GemmGeneric, SigmoidGeneric, TanhGeneric, "generic"};
    if (!choice.empty() && choice != "auto") {
      throw std::invalid_argument("LINKLAB_KERNELS = '" + choice + "': must be auto or generic");
    }
#ifdef LINKLAB_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      return Table{GemmAvx2, SigmoidAvx2, TanhAvx2, "avx2"};
    }
#endif
    return Table{GemmGeneric, SigmoidGeneric, TanhGeneric, "generic"};
  }();
  return table;
}

}  // namespace

PackedMatrix::PackedMatrix(const float* b, int64_t n_rows, int64_t k_cols)
    : n(n_rows),
      k(k_cols),
      data(static_cast<size_t>((n_rows + kPanel - 1) / kPanel * kPanel * k_cols), 0.0f) {
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t p = 0; p < k; ++p)
      data[((j / kPanel) * k + p) * kPanel + j % kPanel] = b[j * k + p];
  }
}

void Gemm(int64_t m, const float* a, int64_t lda, const PackedMatrix& b, float* c, int64_t ldc,
          bool accumulate) {
  Chosen().gemm(m, a, lda, b, c, ldc, accumulate);
}
void Sigmoid(float* x, int64_t n) { Chosen().sigmoid(x, n); }
void Tanh(float* x, int64_t n) { Chosen().tanh(x, n); }
const char* Isa() { return Chosen().isa; }

}  // namespace linklab::models::kernels
