// The fluid queue discs of sim/fluid/fluid_model.h on their own: CoDel's drop schedule,
// FQ-CoDel's fair shares, PIE's and RED's drops under an overload, FIFO's tail drop, and the
// refusal of a name the fluid backend does not know.

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/fluid/fluid_model.h"

namespace linklab::sim::fluid {
namespace {

TEST(FluidCodel, DropsAfterAnIntervalAboveTargetThenFasterAndStopsBelowTarget) {
  FluidCodel c;
  const double q = 100 * kPacket;
  EXPECT_EQ(c.Drops(0.050, q, 0.00), 0);  // above target: starts the interval
  EXPECT_EQ(c.Drops(0.050, q, 0.05), 0);
  EXPECT_EQ(c.Drops(0.050, q, 0.10), 1);  // a whole interval above: first drop
  EXPECT_TRUE(c.dropping);
  EXPECT_EQ(c.Drops(0.050, q, 0.15), 0);
  EXPECT_EQ(c.Drops(0.050, q, 0.20), 1);  // next drop 100 ms later (count 1)
  EXPECT_NEAR(c.drop_next_s, 0.20 + 0.1 / std::sqrt(2.0), 1e-12);  // then interval/sqrt(2)
  int drops = 0;
  for (double t = 0.22; t < 1.2; t += 0.02) drops += c.Drops(0.050, q, t);
  EXPECT_GT(drops, 12);                   // the rate grows with sqrt(count)
  EXPECT_EQ(c.Drops(0.001, q, 1.22), 0);  // below target: leaves the dropping state
  EXPECT_FALSE(c.dropping);
  EXPECT_EQ(c.Drops(0.050, kPacket, 1.30), 0);  // at most one MTU queued: never drops
}

TEST(FluidAqm, FqCodelServesBackloggedFlowsMaxMinFair) {
  FluidAqm q;
  q.Init(QdiscKind::kFqCodel, {kPacket, kPacket, 100.0});
  // Capacity 30 kB a step; a sparse flow wants 2 kB, the two greedy ones 50 kB each.
  std::vector<double> in = {50e3, 50e3, 2e3}, out(3, 0.0), dropped(3, 0.0);
  q.Step(in, 30e3, 0.02, 0.0, out, dropped);
  EXPECT_NEAR(out[2], 2e3, 1e-6);   // the sparse flow gets all it asks
  EXPECT_NEAR(out[0], 14e3, 1e-6);  // the rest is shared evenly
  EXPECT_NEAR(out[1], 14e3, 1e-6);
  EXPECT_NEAR(q.Backlog(0), 36e3, 1e-6);
  EXPECT_NEAR(q.Delay(0), 36e3 / (14e3 / 0.02), 1e-9);
  EXPECT_EQ(q.Delay(2), 0.0);
}

TEST(FluidAqm, FqCodelKeepsAGreedyFlowsQueueNearTarget) {
  // One flow offering twice the capacity for 2 s: CoDel's drops grow until they take the
  // excess; the flow's queue stays far below the 10240-packet limit.
  FluidAqm q;
  q.Init(QdiscKind::kFqCodel, {kPacket});
  std::vector<double> in = {0.0}, out(1, 0.0), dropped(1, 0.0);
  const double dt = 0.01, cap = 1e6 * dt;  // 1 MB/s
  for (int k = 0; k < 200; ++k) {
    in[0] = 2 * cap;
    q.Step(in, cap, dt, k * dt, out, dropped);
  }
  EXPECT_GT(dropped[0], 0.0);
  EXPECT_NEAR(out[0], 200 * cap, 1e-3);                              // the link stays busy
  EXPECT_NEAR(out[0] + dropped[0] + q.Backlog(0), 400 * cap, 1e-3);  // bytes are conserved
}

TEST(FluidAqm, PieAndRedDropWholePacketsUnderOverloadAndFifoTailDrops) {
  for (QdiscKind kind : {QdiscKind::kPie, QdiscKind::kRed, QdiscKind::kFifo, QdiscKind::kCodel}) {
    FluidAqm q;
    q.Init(kind, {kPacket, kPacket});
    std::vector<double> in(2, 0.0), out(2, 0.0), dropped(2, 0.0);
    const double dt = 0.01, cap = 1e6 * dt;
    double offered = 0.0;
    for (int k = 0; k < 300; ++k) {
      in = {cap, cap};  // twice the capacity: over every limit within the run
      offered += 2 * cap;
      q.Step(in, cap, dt, k * dt, out, dropped);
    }
    const double total_out = out[0] + out[1], total_drop = dropped[0] + dropped[1];
    EXPECT_NEAR(total_out, 300 * cap, 1e-3) << static_cast<int>(kind);
    EXPECT_NEAR(total_out + total_drop + q.Total(), offered, 1e-3) << static_cast<int>(kind);
    EXPECT_GT(total_drop, 0.0) << static_cast<int>(kind);
    // Equal flows lose alike.
    EXPECT_NEAR(dropped[0] / total_drop, 0.5, 0.05) << static_cast<int>(kind);
    const double limit_packets = kind == QdiscKind::kFifo    ? 1000
                                 : kind == QdiscKind::kCodel ? 1500
                                                             : 25;
    EXPECT_LE(q.Total(), limit_packets * kPacket + 1e-6) << static_cast<int>(kind);
  }
}

TEST(FluidAqm, PieRaisesItsDropProbabilityWhileTheDelayIsAboveTarget) {
  FluidAqm q;
  q.Init(QdiscKind::kPie, {kPacket});
  std::vector<double> in(1), out(1), dropped(1);
  const double dt = 0.005, cap = 2e5 * dt;  // 200 kB/s: 25 packets are 190 ms
  for (int k = 0; k < 200; ++k) {
    in[0] = 2 * cap;
    q.Step(in, cap, dt, k * dt, out, dropped);
  }
  EXPECT_GT(q.pie_p, 0.05);
  EXPECT_EQ(q.pie_burst_s, 0.0);
}

TEST(FluidQdisc, UnknownNamesAreRefusedNamingKeyAndValue) {
  EXPECT_EQ(ParseQdisc("qdisc", "fq_codel"), QdiscKind::kFqCodel);
  try {
    ParseQdisc("bottleneck_qdisc", "cake");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("bottleneck_qdisc = 'cake'"), std::string::npos);
  }
}

}  // namespace
}  // namespace linklab::sim::fluid
