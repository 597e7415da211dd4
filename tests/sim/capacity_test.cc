#include "sim/capacity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/rng.h"

namespace linklab::sim {
namespace {

std::string WriteTrace(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

template <typename F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// B and TimeOf are consistent: TimeOf(x) is the first time B reaches x.
void ExpectConsistent(CapacityProcess& c, double horizon_s) {
  core::Rng rng(3);
  for (int i = 0; i < 2000; ++i) {
    const double t = rng.Uniform(0, horizon_s);
    const double b = c.Cumulative(t);
    const double back = c.TimeOf(b);
    EXPECT_LE(back, t + 1e-9);
    EXPECT_GE(c.Cumulative(back) + 1e-6, b);
    const double x = rng.Uniform(1, c.Cumulative(horizon_s));
    const double tx = c.TimeOf(x);
    const double tol = std::max(1e-6, 1e-9 * x);  // rounding of large byte counts
    EXPECT_GE(c.Cumulative(tx) + tol, x);
    EXPECT_LT(c.Cumulative(tx - 1e-7), x + tol);
  }
}

TEST(Mahimahi, OpportunitiesLoopAndRepeat) {
  // Opportunities at 10, 20, 20 and 30 ms: period 30 ms, the 20 ms one twice.
  auto c = MahimahiCapacity({10, 20, 20, 30}, "t");
  EXPECT_EQ(c->Cumulative(0.0099), 0);
  EXPECT_EQ(c->Cumulative(0.010), 1500);
  EXPECT_EQ(c->Cumulative(0.020), 4500);
  EXPECT_EQ(c->Cumulative(0.030), 6000);
  EXPECT_EQ(c->Cumulative(0.040), 7500);  // the loop: 30 + 10 ms
  EXPECT_EQ(c->Cumulative(0.060), 12000);
  EXPECT_DOUBLE_EQ(c->TimeOf(1), 0.010);
  EXPECT_DOUBLE_EQ(c->TimeOf(1500), 0.010);
  EXPECT_DOUBLE_EQ(c->TimeOf(1501), 0.020);
  EXPECT_DOUBLE_EQ(c->TimeOf(4501), 0.030);
  EXPECT_DOUBLE_EQ(c->TimeOf(6001), 0.040);
  // Far in the future: B(t + period) = B(t) + B(period).
  EXPECT_DOUBLE_EQ(c->Cumulative(3600.015 + 0.03), c->Cumulative(3600.015) + 6000);
  ExpectConsistent(*c, 1.0);
}

TEST(Mahimahi, OnePerMillisecondIsTwelveMegabits) {
  std::vector<int64_t> ms;
  for (int i = 1; i <= 1000; ++i) ms.push_back(i);
  auto c = MahimahiCapacity(ms, "12mbps");
  EXPECT_NEAR(c->MeanRateBps(0, 10), 12e6, 1);
  EXPECT_NEAR(c->MeanRateBps(3.5, 7.25), 12e6, 12e6 * 1e-3);
}

TEST(Piecewise, RatesHoldUntilTheNextSampleAndLoop) {
  // 8 Mbit/s for 1 s, 0 for 1 s, 16 Mbit/s for the mean spacing (1 s); period 3 s.
  auto c = PiecewiseCapacity({0, 1, 2}, {8, 0, 16}, "p");
  EXPECT_DOUBLE_EQ(c->Cumulative(0.5), 0.5e6);
  EXPECT_DOUBLE_EQ(c->Cumulative(1.5), 1e6);
  EXPECT_DOUBLE_EQ(c->Cumulative(2.5), 2e6);
  EXPECT_DOUBLE_EQ(c->Cumulative(3.0), 3e6);
  EXPECT_DOUBLE_EQ(c->Cumulative(3.5), 3.5e6);
  // The outage is skipped over.
  EXPECT_DOUBLE_EQ(c->TimeOf(1e6 + 1), 2.0 + 1.0 / 2e6);
  EXPECT_DOUBLE_EQ(c->TimeOf(3e6), 3.0);
  ExpectConsistent(*c, 20.0);
}

TEST(TraceFiles, MahimahiAndPensieveFormats) {
  // Period 10 ms; the next loop's 0 ms opportunity falls at 10 ms.
  auto m = LoadTraceCapacity(WriteTrace("a.down", "0\n5\n5\n10\n\n"));
  EXPECT_EQ(m->Cumulative(0.009), 4500);
  EXPECT_EQ(m->Cumulative(0.010), 7500);
  auto p = LoadTraceCapacity(WriteTrace("b.log", "100.0\t4.0\n101.0\t8.0\n"));
  EXPECT_DOUBLE_EQ(p->MeanRateBps(0, 2), 6e6);
  EXPECT_NE(p->Describe().find("pensieve"), std::string::npos);
}

TEST(TraceFiles, BadFilesNameFileAndLine) {
  const std::string bad = WriteTrace("bad.down", "1\n2\nabc\n");
  EXPECT_EQ(ErrorOf([&] { LoadTraceCapacity(bad); }),
            bad + ":3: 'abc' is not an integer millisecond timestamp");
  const std::string back = WriteTrace("back.down", "1\n5\n3\n");
  EXPECT_EQ(ErrorOf([&] { LoadTraceCapacity(back); }),
            back + ":3: timestamp 3 goes backwards (after 5)");
  const std::string empty = WriteTrace("empty.down", "\n\n");
  EXPECT_EQ(ErrorOf([&] { LoadTraceCapacity(empty); }), empty + ": empty trace file");
  const std::string zero = WriteTrace("zero.down", "0\n0\n");
  EXPECT_EQ(ErrorOf([&] { LoadTraceCapacity(zero); }),
            zero + ": zero capacity (no timestamp after 0 ms)");
  const std::string pz = WriteTrace("zero.log", "0 0\n1 0\n");
  EXPECT_EQ(ErrorOf([&] { LoadTraceCapacity(pz); }),
            pz + ": zero capacity (every throughput is 0)");
  const std::string pbad = WriteTrace("bad.log", "0 1\n1 x\n");
  EXPECT_EQ(ErrorOf([&] { LoadTraceCapacity(pbad); }), pbad + ":2 throughput = 'x': not a number");
  const std::string pneg = WriteTrace("neg.log", "0 1\n1 -2\n");
  EXPECT_EQ(ErrorOf([&] { LoadTraceCapacity(pneg); }), pneg + ":2: negative throughput -2");
  EXPECT_EQ(ErrorOf([&] { LoadTraceCapacity("/nonexistent/x.down"); }),
            "cannot read trace file '/nonexistent/x.down'");
  EXPECT_NE(ErrorOf([&] { FindTrace("no-such-trace.down"); }).find("not found"), std::string::npos);
}

TEST(Markov, DeterministicWithinRangeAndWithOutages) {
  MarkovCapacityOptions o;
  o.outage_prob = 0.2;
  auto a = MarkovCapacity(o, 7);
  auto b = MarkovCapacity(o, 7);
  auto c = MarkovCapacity(o, 8);
  // Query b in another order: the process is the same.
  b->TimeOf(1e9);
  bool outage = false, differs = false;
  for (double t = 0.5; t < 600; t += 0.5) {
    EXPECT_DOUBLE_EQ(a->Cumulative(t), b->Cumulative(t));
    differs = differs || a->Cumulative(t) != c->Cumulative(t);
    const double rate = a->MeanRateBps(t - 0.01, t);
    EXPECT_LE(rate, o.max_mbps * 1e6 * (1 + 1e-9));
    outage = outage || rate == 0.0;
  }
  EXPECT_TRUE(outage);
  EXPECT_TRUE(differs);
  ExpectConsistent(*a, 600);
}

TEST(Diurnal, LowestAroundThePeakHour) {
  DiurnalCapacityOptions o;
  o.noise = 0.0;
  o.depth = 0.5;
  o.peak_hour = 21;
  auto d = DiurnalCapacity(o, 1);
  const double at_peak = d->MeanRateBps(21 * 3600, 21 * 3600 + 60);
  const double morning = d->MeanRateBps(9 * 3600, 9 * 3600 + 60);
  EXPECT_NEAR(at_peak, 250e6, 5e6);
  EXPECT_NEAR(morning, 500e6, 5e6);
  // Saturday (day 5) is scaled by the weekend factor.
  const double saturday = d->MeanRateBps(5 * 86400 + 9 * 3600, 5 * 86400 + 9 * 3600 + 60);
  EXPECT_NEAR(saturday, morning * o.weekend_factor, 5e6);
  ExpectConsistent(*d, 86400);
}

TEST(Scaled, MultipliesRates) {
  auto s = ScaledCapacity(ConstantCapacity(10e6), 0.1);
  EXPECT_DOUBLE_EQ(s->MeanRateBps(0, 5), 1e6);
  EXPECT_DOUBLE_EQ(s->TimeOf(125000), 1.0);
  EXPECT_THROW(ConstantCapacity(0), std::invalid_argument);
}

// The real traces from ../shared/data, when present, against the figures in their README.
TEST(RealTraces, MeanRatesMatchTheDataReadme) {
  std::string path;
  try {
    path = FindTrace("ATT-LTE-driving.down");
  } catch (const std::invalid_argument&) {
    GTEST_SKIP() << "shared traces not present";
  }
  auto c = LoadTraceCapacity(path);
  // Mean over many loops is the trace mean.
  EXPECT_NEAR(c->MeanRateBps(0, 100000) / 1e6, 5.17, 0.05);
}

}  // namespace
}  // namespace linklab::sim
