// The observation encoder: it never reads the simulator's truth, its output is always finite
// and inside its bounds, frames come newest first, and the scales are the documented ones.

#include "sim/observation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "tests/sim/net_samples.h"
#include "tests/test_util.h"

namespace linklab::sim {
namespace {

using linklab::testing::ClassSample;
using linklab::testing::ErrorOf;
using linklab::testing::RandomSamples;
using linklab::testing::SomeShaping;

const std::vector<AppClass> kClasses = {AppClass::kBulk, AppClass::kVideo, AppClass::kGaming,
                                        AppClass::kWeb};

ObservationEncoder Encoder(int window = 4) {
  return ObservationEncoder({"down", kClasses, window});
}

// The observation after pushing `steps`.
std::vector<float> EncodeSteps(const std::vector<std::vector<LinkSample>>& steps,
                               const HtbConfig& shaping) {
  ObservationEncoder e = Encoder();
  for (const auto& s : steps) e.Push(s, shaping);
  return e.Encode();
}

TEST(Observation, TruthFieldsDoNotChangeIt) {
  ASSERT_FALSE(LinkSampleTruthFields().empty());
  core::Rng rng(1);
  const HtbConfig shaping = SomeShaping(kClasses);
  std::vector<std::vector<LinkSample>> steps;
  for (int i = 0; i < 6; ++i) steps.push_back(RandomSamples(kClasses, rng));
  const std::vector<float> reference = EncodeSteps(steps, shaping);
  for (const double poison : {std::nan(""), 0.0, -1.0, 1e300}) {
    auto changed = steps;
    for (auto& step : changed) {
      for (auto& s : step) {
        for (const std::string& f : LinkSampleTruthFields()) SetLinkSampleField(s, f, poison);
      }
    }
    EXPECT_EQ(EncodeSteps(changed, shaping), reference) << "truth fields set to " << poison;
  }
  // Random truth values.
  auto changed = steps;
  for (auto& step : changed) {
    for (auto& s : step) {
      for (const std::string& f : LinkSampleTruthFields()) {
        SetLinkSampleField(s, f, rng.Uniform(-1e6, 1e6));
      }
    }
  }
  EXPECT_EQ(EncodeSteps(changed, shaping), reference);
  // The check can fail: an observable field does change the observation.
  changed = steps;
  changed.back()[0].backlog_bytes += 50000;
  EXPECT_NE(EncodeSteps(changed, shaping), reference);
  changed = steps;
  changed.back()[0].rtt_p95_ms *= 2;
  EXPECT_NE(EncodeSteps(changed, shaping), reference);
}

TEST(Observation, TruthFieldsAreTheDocumentedOnes) {
  const std::set<std::string> truth(LinkSampleTruthFields().begin(), LinkSampleTruthFields().end());
  for (const char* f : {"capacity_mbps", "delay_p50_ms", "delay_p95_ms", "jitter_ms",
                        "goodput_mbps", "video_bitrate_kbps", "video_stall_s", "video_buffer_s",
                        "fct_ms", "flows_done", "game_loss_rate"}) {
    EXPECT_TRUE(truth.count(f)) << f;
  }
  for (const char* f : {"bytes_delivered", "packets_delivered", "drops", "backlog_bytes",
                        "rtt_p50_ms", "rtt_p95_ms"}) {
    EXPECT_FALSE(truth.count(f)) << f;
  }
}

TEST(Observation, AlwaysFiniteAndInsideTheBounds) {
  core::Rng rng(2);
  ObservationEncoder e = Encoder();
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  for (int i = 0; i < 200; ++i) {
    std::vector<LinkSample> step = RandomSamples(kClasses, rng);
    for (LinkSample& s : step) {
      // Whatever a reader might hand over: no RTT samples, no interval, absurd backlogs.
      if (rng.Uniform() < 0.5) s.rtt_p50_ms = s.rtt_p95_ms = nan;
      if (rng.Uniform() < 0.2) s.interval_s = rng.Uniform() < 0.5 ? 0.0 : nan;
      if (rng.Uniform() < 0.2) s.backlog_bytes = rng.Uniform() < 0.5 ? inf : nan;
      if (rng.Uniform() < 0.2) s.bytes_delivered = 0;
      if (rng.Uniform() < 0.1) s.bytes_delivered = std::numeric_limits<uint64_t>::max();
    }
    HtbConfig shaping = SomeShaping(kClasses);
    if (i % 3 == 0) shaping.classes.clear();  // no class serves them
    e.Push(step, shaping);
    const std::vector<float> obs = e.Encode();
    ASSERT_EQ(obs.size(), e.size());
    for (size_t k = 0; k < obs.size(); ++k) {
      ASSERT_TRUE(std::isfinite(obs[k])) << e.feature_names()[k];
      ASSERT_GE(obs[k], e.low()[k]) << e.feature_names()[k];
      ASSERT_LE(obs[k], e.high()[k]) << e.feature_names()[k];
    }
  }
}

TEST(Observation, NoRttSamplesClearTheValidFlag) {
  core::Rng rng(3);
  ObservationEncoder e = Encoder(1);
  std::vector<LinkSample> step = RandomSamples(kClasses, rng);
  step[2].rtt_p50_ms = step[2].rtt_p95_ms = std::nan("");  // gaming on down
  e.Push(step, SomeShaping(kClasses));
  const std::vector<float> obs = e.Encode();
  auto at = [&](const std::string& name) {
    for (size_t k = 0; k < obs.size(); ++k) {
      if (e.feature_names()[k] == name) return obs[k];
    }
    ADD_FAILURE() << "no feature " << name;
    return -1.0f;
  };
  EXPECT_EQ(at("t0.gaming.rtt_valid"), 0.0f);
  EXPECT_EQ(at("t0.gaming.rtt_p95_ms"), 0.0f);
  EXPECT_EQ(at("t0.video.rtt_valid"), 1.0f);
  EXPECT_GT(at("t0.video.rtt_p95_ms"), 1.0f);
}

TEST(Observation, FramesComeNewestFirst) {
  const int window = 4;
  ObservationEncoder e = Encoder(window);
  const size_t frame = e.size() / window;
  core::Rng rng(4);
  std::vector<std::vector<float>> single;  // each step's frame, encoded alone
  std::vector<std::vector<LinkSample>> steps;
  for (int i = 0; i < 6; ++i) {
    steps.push_back(RandomSamples(kClasses, rng));
    ObservationEncoder one = Encoder(1);
    one.Push(steps.back(), SomeShaping(kClasses));
    single.push_back(one.Encode());
  }
  for (int i = 0; i < 6; ++i) {
    e.Push(steps[i], SomeShaping(kClasses));
    const std::vector<float> obs = e.Encode();
    for (int k = 0; k < window; ++k) {
      const std::vector<float> got(obs.begin() + k * frame, obs.begin() + (k + 1) * frame);
      if (k <= i) {
        EXPECT_EQ(got, single[i - k]) << "after step " << i << ", frame " << k;
      } else {
        EXPECT_EQ(got, std::vector<float>(frame, 0.0f)) << "frame " << k << " before the start";
      }
    }
  }
  EXPECT_EQ(e.frames(), window);
  e.Reset();
  EXPECT_EQ(e.frames(), 0);
  EXPECT_EQ(e.Encode(), std::vector<float>(e.size(), 0.0f));
}

TEST(Observation, ScalesOfAHandMadeSample) {
  ObservationEncoder e({"down", {AppClass::kBulk, AppClass::kGaming}, 1});
  LinkSample bulk = ClassSample("down", "bulk", 0.1);
  bulk.bytes_delivered = 125000;  // 10 Mbit/s over 100 ms
  bulk.packets_delivered = 95;
  bulk.drops = 5;
  bulk.backlog_bytes = 150000;  // 120 ms at 10 Mbit/s
  bulk.rtt_p50_ms = 80;
  bulk.rtt_p95_ms = 120;
  LinkSample gaming = ClassSample("down", "gaming", 0.1);  // nothing delivered, 3 kB queued
  gaming.backlog_bytes = 3000;
  gaming.rtt_p50_ms = gaming.rtt_p95_ms = std::nan("");
  LinkSample all = ClassSample("down", "all", 0.1);
  all.bytes_delivered = 125000;
  all.packets_delivered = 95;
  HtbConfig h;
  h.link_rate_bps = 9e6;
  h.classes = {{AppClass::kBulk, 4e6, 8e6, 3}, {AppClass::kOther, 0.2e6, 9e6, 7}};
  h.default_class = AppClass::kOther;
  e.Push({bulk, gaming, all}, h);
  const std::vector<float> o = e.Encode();
  const std::vector<float> want = {
      1.0f,                                              // valid
      float(std::log10(11.0)), float(std::log10(10.0)),  // link 10 Mbit/s, root 9
      // bulk
      float(std::log10(11.0)), 1.0f, 0.05f, float(std::log10(151.0)), float(std::log10(121.0)),
      float(std::log10(81.0)), float(std::log10(121.0)), 1.0f, float(std::log10(5.0)),
      float(std::log10(9.0)), float(3.0 / 7.0),
      // gaming: no HTB class of its own, so "other" serves it; its delay is 3 kB at 0.2 Mbit/s
      0.0f, 0.0f, 0.0f, float(std::log10(4.0)), float(std::log10(121.0)), 0.0f, 0.0f, 0.0f,
      float(std::log10(1.2)), float(std::log10(10.0)), 1.0f};
  ASSERT_EQ(o.size(), want.size());
  for (size_t k = 0; k < o.size(); ++k) {
    EXPECT_NEAR(o[k], want[k], 1e-6) << e.feature_names()[k];
  }
  EXPECT_DOUBLE_EQ(e.RecentLinkRateBps(), 10e6);
}

TEST(Observation, NamesAndSpecHash) {
  ObservationEncoder e = Encoder();
  EXPECT_EQ(e.feature_names().size(), e.size());
  EXPECT_EQ(e.size(), 4u * (3 + 4 * 11));
  const std::set<std::string> unique(e.feature_names().begin(), e.feature_names().end());
  EXPECT_EQ(unique.size(), e.size());
  EXPECT_EQ(e.feature_names()[0], "t0.link.valid");
  EXPECT_EQ(e.spec_hash().size(), 16u);
  EXPECT_EQ(Encoder().spec_hash(), e.spec_hash());
  EXPECT_NE(Encoder(3).spec_hash(), e.spec_hash());
  EXPECT_NE(ObservationEncoder({"down", {AppClass::kBulk}, 4}).spec_hash(), e.spec_hash());
  EXPECT_NE(ObservationEncoder({"up", kClasses, 4}).spec_hash(), e.spec_hash());
  EXPECT_NE(e.spec_text().find("log10(1+ms)"), std::string::npos);
}

TEST(Observation, BadInputIsAnError) {
  EXPECT_NE(ErrorOf([] {
              ObservationEncoder({"down", {}, 4});
            }).find("no classes"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              ObservationEncoder({"down", kClasses, 0});
            }).find("window = 0"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] {
              ObservationEncoder({"down", {AppClass::kBulk, AppClass::kBulk}, 4});
            }).find("bulk given twice"),
            std::string::npos);
  core::Rng rng(5);
  ObservationEncoder e = Encoder();
  std::vector<LinkSample> step = RandomSamples({AppClass::kBulk, AppClass::kVideo}, rng);
  EXPECT_NE(ErrorOf([&] {
              e.Push(step, SomeShaping(kClasses));
            }).find("no sample of class gaming for link down"),
            std::string::npos);
}

}  // namespace
}  // namespace linklab::sim
