#include "envs/space.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

namespace linklab::envs {
namespace {

TEST(Space, BoxContainsChecksSizeBoundsAndNan) {
  const Space box = Space::Box({-1.0, 0.0}, {1.0, 2.0});
  EXPECT_EQ(box.size(), 2);
  EXPECT_TRUE(box.Contains({0.5f, 2.0f}));
  EXPECT_FALSE(box.Contains({0.5f, 2.5f}));
  EXPECT_FALSE(box.Contains({0.5f}));
  EXPECT_FALSE(box.Contains({NAN, 1.0f}));
  EXPECT_EQ(box.Mismatch({0.5f, 2.5f}), "element 1 = 2.5 is outside [0, 2]");
  EXPECT_EQ(box.ToString(), "Box(low, high, (2,), float32)");
}

TEST(Space, DiscreteAndMultiDiscrete) {
  const Space d = Space::Discrete(3);
  EXPECT_EQ(d.n(), 3);
  EXPECT_TRUE(d.Contains({2.0f}));
  EXPECT_FALSE(d.Contains({3.0f}));
  EXPECT_FALSE(d.Contains({-1.0f}));
  EXPECT_FALSE(d.Contains({1.5f}));
  EXPECT_EQ(d.ToString(), "Discrete(3)");
  const Space md = Space::MultiDiscrete({2, 4});
  EXPECT_TRUE(md.Contains({1.0f, 3.0f}));
  EXPECT_FALSE(md.Contains({2.0f, 0.0f}));
  EXPECT_EQ(md.ToString(), "MultiDiscrete([2, 4])");
  EXPECT_THROW(Space::Discrete(0), std::invalid_argument);
}

TEST(Space, SamplesStayInsideEveryKindOfBound) {
  core::Rng rng(5);
  const double inf = INFINITY;
  const Space mixed = Space::Box({-2.0, 0.0, -inf, -inf}, {2.0, inf, 5.0, inf});
  const Space d = Space::Discrete(4);
  const Space md = Space::MultiDiscrete({3, 1, 7});
  int hits[4] = {0};
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(mixed.Contains(mixed.Sample(rng)));
    const Array a = d.Sample(rng);
    ASSERT_TRUE(d.Contains(a));
    ++hits[static_cast<int>(a[0])];
    ASSERT_TRUE(md.Contains(md.Sample(rng)));
  }
  for (int h : hits) EXPECT_GT(h, 400);
}

TEST(Space, EncodeDecodeRoundTrip) {
  for (const Space& s : {Space::Box({-1.5, -FLT_MAX}, {0.25, FLT_MAX}), Space::Discrete(7),
                         Space::MultiDiscrete({2, 3}), Space::Box(0.0, 1.0, {2, 3})}) {
    EXPECT_EQ(Space::Decode(s.Encode()), s) << s.ToString();
  }
  EXPECT_THROW(Space::Decode("0 0"), std::invalid_argument);
}

TEST(Space, BoxRejectsBadBounds) {
  EXPECT_THROW(Space::Box({1.0}, {0.0}), std::invalid_argument);
  EXPECT_THROW(Space::Box({0.0, 0.0}, {1.0}), std::invalid_argument);
  EXPECT_THROW(Space::Box({0.0, 0.0}, {1.0, 1.0}, {3}), std::invalid_argument);
}

}  // namespace
}  // namespace linklab::envs
