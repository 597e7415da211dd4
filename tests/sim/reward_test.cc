// The shaping reward: the sign of each term, the SLA penalty, RTTs held over steps without
// samples, independence of the simulator's truth, and SLA parse errors.

#include "sim/reward.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/sim/net_samples.h"
#include "tests/test_util.h"

namespace linklab::sim {
namespace {

using linklab::testing::ClassSample;
using linklab::testing::ErrorOf;
using linklab::testing::RandomSamples;
using linklab::testing::SomeShaping;

const std::vector<AppClass> kClasses = {AppClass::kBulk, AppClass::kGaming};

// One step on "down": bulk and gaming at the given rates (Mbit/s), RTT p95 (ms), drops; the
// link delivers their sum.
std::vector<LinkSample> Step(double bulk_mbps, double gaming_mbps, double rtt_ms,
                             uint64_t drops = 0) {
  std::vector<LinkSample> out;
  LinkSample all = ClassSample("down", "all", 0.1);
  for (auto [name, mbps] :
       {std::pair<const char*, double>{"bulk", bulk_mbps}, {"gaming", gaming_mbps}}) {
    LinkSample s = ClassSample("down", name, 0.1);
    s.bytes_delivered = static_cast<uint64_t>(mbps * 1e6 * 0.1 / 8);
    s.packets_delivered = s.bytes_delivered / 1000;
    s.drops = drops;
    s.rtt_p50_ms = rtt_ms / 2;
    s.rtt_p95_ms = rtt_ms;
    all.bytes_delivered += s.bytes_delivered;
    all.packets_delivered += s.packets_delivered;
    out.push_back(s);
  }
  out.push_back(all);
  return out;
}

RewardSpec Only(const std::string& term) {
  RewardSpec s;
  s.classes = kClasses;
  s.w_throughput = term == "throughput";
  s.w_delay = term == "delay";
  s.w_loss = term == "loss";
  s.w_efficiency = term == "efficiency";
  s.w_sla = term == "sla";
  return s;
}

double Reward(const RewardSpec& spec, const std::vector<LinkSample>& step,
              const HtbConfig& shaping) {
  RewardCalculator r(spec);
  return r.Compute(step, shaping).total;
}

TEST(Reward, EachTermHasItsSign) {
  const HtbConfig h = SomeShaping(kClasses);  // root 20 Mbit/s
  // More throughput is better.
  EXPECT_GT(Reward(Only("throughput"), Step(8, 0.2, 100), h),
            Reward(Only("throughput"), Step(4, 0.2, 100), h));
  EXPECT_GT(Reward(Only("throughput"), Step(1, 0.2, 100), h), 0.0);
  // Longer RTTs are worse; 100 ms over both classes is one delay unit.
  EXPECT_LT(Reward(Only("delay"), Step(4, 0.2, 300), h),
            Reward(Only("delay"), Step(4, 0.2, 100), h));
  EXPECT_NEAR(Reward(Only("delay"), Step(4, 0.2, 100), h), -1.0, 1e-12);
  // An outage's RTTs count at most 10 s.
  EXPECT_NEAR(Reward(Only("delay"), Step(4, 0.2, 1e7), h), -100.0, 1e-9);
  // Loss is worse.
  EXPECT_LT(Reward(Only("loss"), Step(4, 0.2, 100, 30), h),
            Reward(Only("loss"), Step(4, 0.2, 100, 0), h));
  EXPECT_EQ(Reward(Only("loss"), Step(4, 0.2, 100, 0), h), 0.0);
  // Using more of the rate the shaper allows is better, at most 1.
  EXPECT_GT(Reward(Only("efficiency"), Step(15, 0.2, 100), h),
            Reward(Only("efficiency"), Step(5, 0.2, 100), h));
  EXPECT_NEAR(Reward(Only("efficiency"), Step(15, 0, 100), h), 15.0 / 20, 1e-3);
  EXPECT_DOUBLE_EQ(Reward(Only("efficiency"), Step(40, 0, 100), h), 1.0);
}

TEST(Reward, SlaViolationsCostOnePenaltyPerClass) {
  const HtbConfig h = SomeShaping(kClasses);
  RewardSpec spec = Only("sla");
  spec.w_sla = 2.0;
  spec.slas = ParseSlas("[gaming.rtt_p95_ms<80,gaming.loss<0.01,bulk.mbps>2]", "sla", kClasses);
  ASSERT_EQ(spec.slas.size(), 3u);
  RewardCalculator r(spec);
  EXPECT_EQ(r.Compute(Step(4, 0.2, 50), h).sla_violations, 0);
  EXPECT_EQ(r.Compute(Step(4, 0.2, 50), h).total, 0.0);
  // gaming violates both its SLAs: one class, one penalty.
  RewardTerms t = r.Compute(Step(4, 0.2, 120, 50), h);
  EXPECT_EQ(t.sla_violations, 1);
  EXPECT_DOUBLE_EQ(t.total, -2.0);
  // and bulk under 2 Mbit/s too.
  t = r.Compute(Step(1, 0.2, 120), h);
  EXPECT_EQ(t.sla_violations, 2);
  EXPECT_DOUBLE_EQ(t.total, -4.0);
}

TEST(Reward, RttsAreHeldOverStepsWithoutSamples) {
  const HtbConfig h = SomeShaping(kClasses);
  RewardSpec spec = Only("delay");
  spec.slas = ParseSlas("gaming.rtt_p95_ms<80", "sla", kClasses);
  spec.w_sla = 1.0;
  RewardCalculator r(spec);
  std::vector<LinkSample> silent = Step(4, 0.2, 0);
  for (auto& s : silent) s.rtt_p50_ms = s.rtt_p95_ms = std::nan("");
  // Before any RTT: no SLA judgement, the delay is the backlog's (none here).
  RewardTerms t = r.Compute(silent, h);
  EXPECT_EQ(t.sla_violations, 0);
  EXPECT_EQ(t.delay, 0.0);
  EXPECT_GT(r.Compute(Step(4, 0.2, 200), h).sla_violations, 0);
  t = r.Compute(silent, h);  // held: 200 ms
  EXPECT_DOUBLE_EQ(t.delay, 2.0);
  EXPECT_EQ(t.sla_violations, 1);
  r.Reset();
  EXPECT_EQ(r.Compute(silent, h).delay, 0.0);
}

TEST(Reward, DefaultTermsReadNoTruth) {
  core::Rng rng(1);
  const HtbConfig h = SomeShaping(kClasses);
  RewardSpec spec;
  spec.classes = kClasses;
  spec.slas = ParseSlas("gaming.rtt_p95_ms<100,bulk.mbps>1,gaming.qdelay_ms<20", "sla", kClasses);
  for (int i = 0; i < 20; ++i) {
    std::vector<LinkSample> step = RandomSamples(kClasses, rng);
    const double reference = Reward(spec, step, h);
    for (auto& s : step) {
      for (const std::string& f : LinkSampleTruthFields()) SetLinkSampleField(s, f, std::nan(""));
    }
    EXPECT_EQ(Reward(spec, step, h), reference);
  }
  // With efficiency from the capacity the truth does count.
  spec.efficiency_from_capacity = true;
  std::vector<LinkSample> step = Step(5, 0, 100);
  step.back().capacity_mbps = 10;
  RewardSpec eff = Only("efficiency");
  eff.efficiency_from_capacity = true;
  EXPECT_NEAR(Reward(eff, step, h), 0.5, 1e-3);
}

TEST(Reward, BadSlasAreErrorsNamingTheItem) {
  const std::vector<AppClass> with_traffic = {AppClass::kBulk, AppClass::kVideo};
  auto error = [&](const std::string& text) {
    return ErrorOf([&] { ParseSlas(text, "sla", with_traffic); });
  };
  EXPECT_TRUE(ParseSlas("", "sla", with_traffic).empty());
  EXPECT_TRUE(ParseSlas("[]", "sla", with_traffic).empty());
  EXPECT_NE(error("video.mbps>2.5,robot.mbps>1").find("item 'robot.mbps>1'"), std::string::npos);
  EXPECT_NE(error("robot.mbps>1").find("unknown application class"), std::string::npos);
  EXPECT_NE(error("gaming.rtt_p95_ms<80").find("class gaming has no traffic in the workload"),
            std::string::npos);
  EXPECT_NE(error("video.bitrate>2").find("unknown metric 'bitrate'; metrics: mbps"),
            std::string::npos);
  EXPECT_NE(error("video.mbps=2").find("expected class.metric<bound"), std::string::npos);
  EXPECT_NE(error("video.mbps<<2").find("expected class.metric<bound"), std::string::npos);
  EXPECT_NE(error("mbps<2").find("expected class.metric"), std::string::npos);
  EXPECT_NE(error("video.mbps>fast").find("fast"), std::string::npos);
  EXPECT_NE(error("video.mbps>1,,bulk.mbps>1").find("empty"), std::string::npos);
  RewardSpec spec = Only("sla");
  spec.w_delay = -1;
  EXPECT_NE(ErrorOf([&] { RewardCalculator r(spec); }).find("w_delay = -1"), std::string::npos);
  spec = Only("sla");
  spec.delay_scale_ms = 0;
  EXPECT_NE(ErrorOf([&] { RewardCalculator r(spec); }).find("delay_scale_ms = 0"),
            std::string::npos);
}

}  // namespace
}  // namespace linklab::sim
