#include "core/rng.h"

#include <gtest/gtest.h>

#include <cmath>

namespace linklab::core {
namespace {

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.NextU64();
    EXPECT_EQ(x, b.NextU64());
    differs = differs || x != c.NextU64();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, UniformMomentsAndRange) {
  Rng r(1);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double u = r.Uniform(-1.0, 3.0);
    ASSERT_GE(u, -1.0);
    ASSERT_LT(u, 3.0);
    sum += u;
    sq += u * u;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  EXPECT_NEAR(mean, 1.0, 0.02);
  EXPECT_NEAR(var, 16.0 / 12.0, 0.02);
}

TEST(Rng, NormalMoments) {
  Rng r(2);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    const double x = r.Normal();
    sum += x;
    sq += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
}

TEST(Rng, UniformIntCoversRangeEvenly) {
  Rng r(3);
  int counts[5] = {0};
  for (int i = 0; i < 50000; ++i) {
    const uint64_t k = r.UniformInt(5);
    ASSERT_LT(k, 5u);
    ++counts[k];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
}

}  // namespace
}  // namespace linklab::core
