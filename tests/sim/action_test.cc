// The action decoder: bounds, the maximum change per step, ceil >= rate, the discrete table's
// coverage, the continuous mapping and bad input.

#include "sim/action.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/rng.h"
#include "tests/test_util.h"

namespace linklab::sim {
namespace {

using linklab::testing::ErrorOf;

const std::vector<AppClass> kClasses = {AppClass::kBulk, AppClass::kVideo, AppClass::kGaming,
                                        AppClass::kWeb};

ActionSpec Spec(const std::string& mode) {
  ActionSpec s;
  s.classes = kClasses;
  s.mode = mode;
  s.min_link_bps = 1e6;
  s.max_link_bps = 50e6;
  s.min_class_bps = 0.1e6;
  s.max_step = 1.25;
  return s;
}

std::vector<float> RandomAction(const ActionDecoder& d, core::Rng& rng) {
  if (d.discrete()) return {static_cast<float>(rng.UniformInt(d.num_actions()))};
  std::vector<float> a(d.continuous_size());
  for (float& x : a) x = static_cast<float>(rng.Uniform(-1.0, 1.0));
  return a;
}

const HtbClassConfig& ClassOf(const HtbConfig& h, AppClass c) {
  for (const auto& k : h.classes) {
    if (k.app_class == c) return k;
  }
  throw std::logic_error("no class");
}

// Every config honours the bounds, and consecutive ones the maximum change.
TEST(Action, BoundsAndMaximumChangeHoldForRandomActions) {
  for (const char* mode : {"discrete", "continuous"}) {
    SCOPED_TRACE(mode);
    const ActionSpec spec = Spec(mode);
    ActionDecoder d(spec);
    core::Rng rng(1);
    HtbConfig prev = d.Reset();
    const double eps = 1e-9;
    for (int i = 0; i < 3000; ++i) {
      // Recent delivered rates from nothing (an outage) to far above the range.
      const double ref =
          rng.Uniform() < 0.1 ? 0.0 : std::exp(rng.Uniform(std::log(1e4), std::log(1e9)));
      const std::vector<float> a = RandomAction(d, rng);
      const HtbConfig& h = d.Decode(a.data(), a.size(), ref);
      ASSERT_NO_THROW(h.Validate());
      ASSERT_EQ(h.classes.size(), kClasses.size() + 1);  // and "other", the default class
      EXPECT_EQ(h.default_class, AppClass::kOther);
      EXPECT_GE(h.link_rate_bps, spec.min_link_bps * (1 - eps));
      EXPECT_LE(h.link_rate_bps, spec.max_link_bps * (1 + eps));
      EXPECT_LE(h.link_rate_bps, prev.link_rate_bps * spec.max_step * (1 + eps));
      EXPECT_GE(h.link_rate_bps, prev.link_rate_bps / spec.max_step * (1 - eps));
      double sum = 0.0;
      for (size_t k = 0; k < h.classes.size(); ++k) {
        const HtbClassConfig& c = h.classes[k];
        const HtbClassConfig& p = prev.classes[k];
        ASSERT_EQ(c.app_class, p.app_class);
        EXPECT_GE(c.rate_bps, spec.min_class_bps * (1 - eps));
        EXPECT_GE(c.ceil_bps, c.rate_bps);
        EXPECT_LE(c.ceil_bps, h.link_rate_bps * (1 + eps));
        // Growth is always bounded; a shrink beyond 1/max_step only when the total forces it.
        EXPECT_LE(c.rate_bps, p.rate_bps * spec.max_step * (1 + eps));
        EXPECT_GE(c.prio, 0);
        EXPECT_LE(c.prio, 7);
        sum += c.rate_bps;
      }
      EXPECT_LE(sum, h.link_rate_bps * (1 + eps));
      prev = h;
    }
  }
}

TEST(Action, TheTotalMovesAtMostOneStepTowardItsTarget) {
  ActionDecoder d(Spec("discrete"));
  EXPECT_DOUBLE_EQ(d.Reset().link_rate_bps, 50e6);  // episodes start at the top of the range
  // "x0.8 fair" with the link delivering 10 Mbit/s asks for 8 Mbit/s: 50 -> 40 -> 32 -> ...
  const float x08_fair = 1.0f;
  ASSERT_EQ(d.ActionName(1), "x0.8 fair");
  double expect = 50e6;
  for (int i = 0; i < 12; ++i) {
    const HtbConfig& h = d.Decode(&x08_fair, 1, 10e6);
    expect = std::max(8e6, expect / 1.25);
    EXPECT_NEAR(h.link_rate_bps, expect, 1.0) << "step " << i;
  }
  EXPECT_NEAR(d.current().link_rate_bps, 8e6, 1.0);
  // The fair profile's classes each get a quarter of what is left after other's minimum.
  for (AppClass c : kClasses) {
    EXPECT_NEAR(ClassOf(d.current(), c).rate_bps, (8e6 - 0.1e6) / 4, 1e3) << AppClassName(c);
    EXPECT_NEAR(ClassOf(d.current(), c).ceil_bps, 8e6, 1.0);
    EXPECT_EQ(ClassOf(d.current(), c).prio, 0);
  }
  // The link's recent rate above the range: the total climbs to its maximum, one step at a time.
  const float x125_fair = 1.0f + 4 * ActionDecoder::kProfiles;
  ASSERT_EQ(d.ActionName(static_cast<int>(x125_fair)), "x1.25 fair");
  EXPECT_NEAR(d.Decode(&x125_fair, 1, 1e9).link_rate_bps, 10e6, 1.0);
  for (int i = 0; i < 20; ++i) d.Decode(&x125_fair, 1, 1e9);
  EXPECT_NEAR(d.current().link_rate_bps, 50e6, 1.0);
  // Nothing delivered at all: the total falls to the bottom of its range.
  for (int i = 0; i < 40; ++i) d.Decode(&x08_fair, 1, 0.0);
  EXPECT_NEAR(d.current().link_rate_bps, 1e6, 1.0);
}

TEST(Action, LeaveKeepsTheConfigExactly) {
  ActionDecoder d(Spec("discrete"));
  d.Reset();
  core::Rng rng(2);
  for (int i = 0; i < 50; ++i) {
    const float a = static_cast<float>(rng.UniformInt(d.num_actions()));
    d.Decode(&a, 1, rng.Uniform(1e6, 40e6));
  }
  const HtbConfig before = d.current();
  const float leave = 0.0f;
  ASSERT_EQ(d.ActionName(0), "leave");
  for (int i = 0; i < 5; ++i) {
    const HtbConfig& h = d.Decode(&leave, 1, rng.Uniform(0.0, 1e9));
    EXPECT_EQ(h.link_rate_bps, before.link_rate_bps);
    for (size_t k = 0; k < h.classes.size(); ++k) {
      EXPECT_EQ(h.classes[k].rate_bps, before.classes[k].rate_bps);
      EXPECT_EQ(h.classes[k].ceil_bps, before.classes[k].ceil_bps);
      EXPECT_EQ(h.classes[k].prio, before.classes[k].prio);
    }
  }
}

TEST(Action, TheDiscreteTableCoversEveryMultiplierAndProfile) {
  ActionDecoder d(Spec("discrete"));
  const int rows = d.num_actions();
  EXPECT_EQ(rows,
            1 + static_cast<int>(ActionDecoder::kMultipliers.size()) * ActionDecoder::kProfiles);
  const std::vector<std::string> cols = d.TableColumns();
  ASSERT_EQ(cols.size(), 1 + 3 * kClasses.size());
  EXPECT_EQ(cols[0], "total_mult");
  EXPECT_EQ(cols[1], "bulk.share");
  const std::vector<float> values = d.TableValues();
  ASSERT_EQ(values.size(), rows * cols.size());
  std::set<std::vector<float>> distinct;
  std::set<std::string> names;
  std::set<float> multipliers;
  for (int r = 0; r < rows; ++r) {
    const std::vector<float> row(values.begin() + r * cols.size(),
                                 values.begin() + (r + 1) * cols.size());
    distinct.insert(row);
    names.insert(d.ActionName(r));
    multipliers.insert(row[0]);
    if (r == 0) continue;
    float share = 0.0f;
    for (size_t c = 0; c < kClasses.size(); ++c) {
      share += row[1 + 3 * c];
      EXPECT_GE(row[2 + 3 * c], row[1 + 3 * c]) << "ceil below share, row " << r;
    }
    EXPECT_NEAR(share, 1.0f, 1e-6) << "row " << r;
  }
  EXPECT_EQ(static_cast<int>(distinct.size()), rows);
  EXPECT_EQ(static_cast<int>(names.size()), rows);
  EXPECT_EQ(multipliers.size(), ActionDecoder::kMultipliers.size() + 1);  // and 0: leave
  // The priority profiles put gaming first and bulk last.
  const int priority_row = 2;  // x0.8 priority
  ASSERT_EQ(d.ActionName(priority_row), "x0.8 priority");
  const auto prio = [&](size_t c) { return values[priority_row * cols.size() + 3 + 3 * c]; };
  EXPECT_EQ(prio(2), 0.0f);  // gaming
  EXPECT_EQ(prio(0), 3.0f);  // bulk
  // Every row decodes to a valid config from any state.
  core::Rng rng(3);
  for (int r = 0; r < rows; ++r) {
    const float a = static_cast<float>(r);
    EXPECT_NO_THROW(d.Decode(&a, 1, rng.Uniform(0.0, 1e8)).Validate()) << d.ActionName(r);
  }
  EXPECT_THROW(d.ActionName(rows), std::invalid_argument);
}

TEST(Action, ContinuousMapsSharesCeilsAndPriorities) {
  ActionDecoder d(Spec("continuous"));
  ASSERT_EQ(d.continuous_size(), 13);
  d.Reset();
  // total 1.5 x 20 Mbit/s; gaming the largest share, bulk capped at its rate, gaming prio 0.
  std::vector<float> a(13, 0.0f);
  a[0] = 1.0f;
  for (int c = 0; c < 4; ++c) a[1 + c] = -1.0f;
  a[1 + 2] = 1.0f;   // gaming's share
  a[5 + 0] = -1.0f;  // bulk's ceil: its share
  a[5 + 2] = 1.0f;   // gaming's ceil: the total
  a[9 + 2] = 1.0f;   // gaming prio 0
  a[9 + 0] = -1.0f;  // bulk prio 1
  for (int i = 0; i < 30; ++i) d.Decode(a.data(), a.size(), 20e6);
  const HtbConfig& h = d.current();
  EXPECT_NEAR(h.link_rate_bps, 30e6, 1.0);
  const HtbClassConfig &gaming = ClassOf(h, AppClass::kGaming), &bulk = ClassOf(h, AppClass::kBulk);
  EXPECT_GT(gaming.rate_bps, 10 * bulk.rate_bps);
  EXPECT_NEAR(gaming.ceil_bps, 30e6, 1.0);
  EXPECT_NEAR(bulk.ceil_bps, bulk.rate_bps, 0.01 * bulk.rate_bps);
  EXPECT_EQ(gaming.prio, 0);
  EXPECT_EQ(bulk.prio, 1);
  EXPECT_EQ(ClassOf(h, AppClass::kOther).prio, 7);
  // Values beyond [-1, 1] are clamped, not refused (the env checks its Box before).
  std::vector<float> big(13, 5.0f);
  EXPECT_NO_THROW(d.Decode(big.data(), big.size(), 20e6).Validate());
}

TEST(Action, BadActionsAreErrors) {
  ActionDecoder disc(Spec("discrete"));
  const float out_of_table = static_cast<float>(disc.num_actions()), half = 1.5f;
  EXPECT_NE(ErrorOf([&] { disc.Decode(&out_of_table, 1, 1e6); }).find("must be an integer"),
            std::string::npos);
  EXPECT_THROW(disc.Decode(&half, 1, 1e6), std::invalid_argument);
  const float two[2] = {0, 0};
  EXPECT_THROW(disc.Decode(two, 2, 1e6), std::invalid_argument);
  ActionDecoder cont(Spec("continuous"));
  std::vector<float> a(13, 0.0f);
  EXPECT_THROW(cont.Decode(a.data(), 12, 1e6), std::invalid_argument);
  a[4] = std::nanf("");
  EXPECT_NE(ErrorOf([&] { cont.Decode(a.data(), a.size(), 1e6); }).find("element 4 is NaN"),
            std::string::npos);
}

TEST(Action, BoundsThatCannotBeMetAreErrors) {
  ActionSpec s = Spec("discrete");
  s.min_class_bps = 20e6;  // 5 classes (with other) x 20 > 50
  EXPECT_NE(ErrorOf([&] { ActionDecoder d(s); }).find("min_class_mbps = 20"), std::string::npos);
  s = Spec("discrete");
  s.max_link_bps = 0.5e6;
  EXPECT_NE(
      ErrorOf([&] { ActionDecoder d(s); }).find("max_link_mbps = 0.5 is below min_link_mbps = 1"),
      std::string::npos);
  s = Spec("sideways");
  EXPECT_NE(ErrorOf([&] { ActionDecoder d(s); }).find("action = 'sideways'"), std::string::npos);
  s = Spec("discrete");
  s.max_step = 1.0;
  EXPECT_NE(ErrorOf([&] { ActionDecoder d(s); }).find("max_step = 1"), std::string::npos);
  s = Spec("discrete");
  s.classes = {AppClass::kBulk, AppClass::kBulk};
  EXPECT_NE(ErrorOf([&] { ActionDecoder d(s); }).find("bulk given twice"), std::string::npos);
  s = Spec("discrete");
  s.min_link_bps = 0;
  EXPECT_NE(ErrorOf([&] { ActionDecoder d(s); }).find("min_link_mbps = 0"), std::string::npos);
}

// The spec an exported policy carries for the live runner: exact, and every key checked.
TEST(Action, SpecTextRoundTripsExactly) {
  ActionSpec a;
  a.classes = {AppClass::kBulk, AppClass::kGaming};
  a.mode = "continuous";
  a.min_link_bps = 0.1e6 / 3;
  a.max_link_bps = 30e6;
  a.min_class_bps = 0.05e6;
  a.max_step = 1.1;
  a.class_queue_packets = 77;
  const ActionSpec b = ActionSpec::Parse(a.Text(), "test");
  EXPECT_EQ(b.Text(), a.Text());
  EXPECT_EQ(b.classes, a.classes);
  EXPECT_EQ(b.mode, "continuous");
  EXPECT_EQ(b.min_link_bps, a.min_link_bps);  // bit for bit
  EXPECT_EQ(b.max_step, 1.1);
  EXPECT_EQ(b.class_queue_packets, 77);
  EXPECT_NE(ErrorOf([] {
              ActionSpec::Parse("linklab-obs/1;mode=discrete", "m");
            }).find("is not a linklab-action/1 spec"),
            std::string::npos);
  std::string text = a.Text();
  EXPECT_NE(ErrorOf([&] { ActionSpec::Parse(text + ";extra=1", "m"); }).find("unknown key extra"),
            std::string::npos);
  const std::string no_step =
      text.substr(0, text.find(";max_step")) + text.substr(text.find(";class_queue_packets"));
  EXPECT_NE(ErrorOf([&] { ActionSpec::Parse(no_step, "m"); }).find("m: no max_step"),
            std::string::npos);
}

}  // namespace
}  // namespace linklab::sim
