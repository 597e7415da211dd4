#include "sim/capacity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/rng.h"

namespace linklab::sim {
namespace {

std::string WriteTrace(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// The message of the std::invalid_argument `f` throws, or "" if it throws none.
std::string ErrorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// B and TimeOf agree at random points: TimeOf(B(t)) <= t, B(TimeOf(x)) >= x, and just before
// TimeOf(x) the link had not yet reached x.
void ExpectConsistent(CapacityProcess& c, double horizon_s) {
  core::Rng rng(3);
  const double total = c.Cumulative(horizon_s);
  ASSERT_GT(total, 0);
  for (int i = 0; i < 2000; ++i) {
    const double t = rng.Uniform(0, horizon_s);
    const double b = c.Cumulative(t);
    EXPECT_LE(c.TimeOf(b), t + 1e-9) << "t = " << t;
    const double x = rng.Uniform(1, total);
    const double tx = c.TimeOf(x);
    const double tolerance = std::max(1e-6, 1e-9 * x);  // rounding of large byte counts
    EXPECT_GE(c.Cumulative(tx) + tolerance, x) << "x = " << x;
    EXPECT_LT(c.Cumulative(tx - 1e-6), x + tolerance) << "x = " << x;
  }
}

TEST(Mahimahi, StepsAtOpportunitiesWithRepeatsAndLoops) {
  // Opportunities at 10, 20, 20 and 30 ms: the 20 ms one twice; period 30 ms.
  auto c = MahimahiCapacity({10, 20, 20, 30}, "t");
  EXPECT_EQ(c->Cumulative(0.0), 0);
  EXPECT_EQ(c->Cumulative(0.0099), 0);
  EXPECT_EQ(c->Cumulative(0.010), 1500);  // right-continuous: the 10 ms opportunity counts
  EXPECT_EQ(c->Cumulative(0.0199), 1500);
  EXPECT_EQ(c->Cumulative(0.020), 4500);
  EXPECT_EQ(c->Cumulative(0.030), 6000);
  EXPECT_EQ(c->Cumulative(0.040), 7500);  // the second loop: 30 + 10 ms
  EXPECT_EQ(c->Cumulative(0.060), 12000);
  EXPECT_DOUBLE_EQ(c->TimeOf(0), 0.0);
  EXPECT_DOUBLE_EQ(c->TimeOf(1), 0.010);
  EXPECT_DOUBLE_EQ(c->TimeOf(1500), 0.010);
  EXPECT_DOUBLE_EQ(c->TimeOf(1501), 0.020);
  EXPECT_DOUBLE_EQ(c->TimeOf(4500), 0.020);  // both 20 ms opportunities
  EXPECT_DOUBLE_EQ(c->TimeOf(4501), 0.030);
  EXPECT_DOUBLE_EQ(c->TimeOf(6001), 0.040);
  ExpectConsistent(*c, 1.0);
}

TEST(Mahimahi, LoopsArithmeticallyFarIntoTheFuture) {
  auto c = MahimahiCapacity({3, 7, 7, 12, 50}, "t");
  const double period_s = 0.050, per_period = c->Cumulative(period_s);
  EXPECT_EQ(per_period, 5 * 1500);
  core::Rng rng(5);
  for (int i = 0; i < 200; ++i) {
    const double t = rng.Uniform(0, 0.05);
    const int loops = static_cast<int>(rng.UniformInt(5'000'000));  // up to ~3 days
    // Whole milliseconds keep t exact, so the loop shift is exact.
    const double t_ms = std::floor(t * 1000) + 0.5;
    EXPECT_EQ(c->Cumulative((t_ms + loops * 50.0) / 1000),
              c->Cumulative(t_ms / 1000) + loops * per_period);
  }
  // Three days in: the 2nd opportunity of loop 5,184,000 falls at 7 ms into it.
  const double bytes = (5'184'000.0 * 5 + 2) * 1500;
  EXPECT_DOUBLE_EQ(c->TimeOf(bytes), (5'184'000.0 * 50 + 7) / 1000);
  ExpectConsistent(*c, 86400.0 * 3);
}

TEST(Mahimahi, OneOpportunityPerMillisecondIsTwelveMegabits) {
  std::vector<int64_t> ms;
  for (int i = 1; i <= 1000; ++i) ms.push_back(i);
  auto c = MahimahiCapacity(ms, "12mbps");
  EXPECT_NEAR(c->MeanRateBps(0, 10), 12e6, 1);
  EXPECT_NEAR(c->MeanRateBps(3.5, 7.25), 12e6, 12e6 * 1e-3);
  EXPECT_EQ(c->Describe(), "mahimahi 12mbps (12 Mbit/s mean, period 1 s)");
  // The mahimahi README's single-line "1" trace is the same link.
  auto one = MahimahiCapacity({1}, "one");
  EXPECT_NEAR(one->MeanRateBps(0, 10), 12e6, 1);
}

TEST(Mahimahi, RejectsBadTimestamps) {
  EXPECT_NE(ErrorOf([] { MahimahiCapacity({}, "e"); }).find("e: empty trace"), std::string::npos);
  EXPECT_NE(ErrorOf([] {
              MahimahiCapacity({5, 3}, "b");
            }).find("goes backwards"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { MahimahiCapacity({-1, 3}, "n"); }).find("negative"), std::string::npos);
  EXPECT_NE(ErrorOf([] {
              MahimahiCapacity({0, 0}, "z");
            }).find("zero capacity"),
            std::string::npos);
}

TEST(Piecewise, RatesHoldUntilTheNextSampleAndLoop) {
  // Samples at 100, 101, 102 s (times count from the first): 8 Mbit/s for 1 s, 0 for 1 s, then
  // 16 Mbit/s for the mean spacing (1 s); period 3 s.
  auto c = PiecewiseCapacity({100, 101, 102}, {8, 0, 16}, "p");
  EXPECT_DOUBLE_EQ(c->Cumulative(0.5), 0.5e6);
  EXPECT_DOUBLE_EQ(c->Cumulative(1.5), 1e6);
  EXPECT_DOUBLE_EQ(c->Cumulative(2.5), 2e6);
  EXPECT_DOUBLE_EQ(c->Cumulative(3.0), 3e6);
  EXPECT_DOUBLE_EQ(c->Cumulative(3.5), 3.5e6);
  EXPECT_DOUBLE_EQ(c->Cumulative(3000.5), 1000 * 3e6 + 0.5e6);
  // The zero-rate second is skipped: byte 1e6 is reached at 1 s, the next one after 2 s.
  EXPECT_DOUBLE_EQ(c->TimeOf(1e6), 1.0);
  EXPECT_DOUBLE_EQ(c->TimeOf(1e6 + 2), 2.0 + 1.0 / 1e6);
  EXPECT_DOUBLE_EQ(c->TimeOf(3e6), 3.0);
  EXPECT_DOUBLE_EQ(c->TimeOf(3e6 + 1e6), 4.0);
  EXPECT_NEAR(c->MeanRateBps(0, 300), 8e6, 1);
  EXPECT_EQ(c->Describe(), "p (8 Mbit/s mean, period 3 s)");
  ExpectConsistent(*c, 20.0);
}

TEST(Piecewise, UnevenSpacingAndLeadingOutage) {
  // 0 for 2 s, 4 Mbit/s for 0.5 s, 12 Mbit/s for the mean spacing 1.25 s; period 3.75 s.
  auto c = PiecewiseCapacity({0, 2, 2.5}, {0, 4, 12}, "u");
  EXPECT_DOUBLE_EQ(c->Cumulative(2.0), 0);
  EXPECT_DOUBLE_EQ(c->Cumulative(3.75), 0.25e6 + 1.875e6);
  EXPECT_DOUBLE_EQ(c->TimeOf(1), 2.0 + 1 / 0.5e6);
  // The last byte of a period is delivered at its end, not after the next outage.
  EXPECT_DOUBLE_EQ(c->TimeOf(2.125e6), 3.75);
  EXPECT_DOUBLE_EQ(c->TimeOf(2.125e6 + 1), 3.75 + 2.0 + 1 / 0.5e6);
  ExpectConsistent(*c, 40.0);
}

TEST(Constant, IsLinear) {
  auto c = ConstantCapacity(8e6);
  EXPECT_DOUBLE_EQ(c->Cumulative(2.5), 2.5e6);
  EXPECT_DOUBLE_EQ(c->TimeOf(1e6), 1.0);
  EXPECT_EQ(c->Describe(), "constant 8 Mbit/s");
  EXPECT_THROW(ConstantCapacity(0), std::invalid_argument);
  EXPECT_THROW(ConstantCapacity(-1), std::invalid_argument);
  EXPECT_THROW(ConstantCapacity(std::nan("")), std::invalid_argument);
}

TEST(TraceFiles, MahimahiAndPensieveFormats) {
  // Period 10 ms with an opportunity at 0: the next loop's 0 ms opportunity falls at 10 ms.
  const std::string m_path = WriteTrace("a.down", "0\n5\n5\n10\n\n\n");
  auto m = LoadTraceCapacity(m_path);
  EXPECT_EQ(m->Cumulative(0.0), 1500);
  EXPECT_EQ(m->Cumulative(0.009), 4500);
  EXPECT_EQ(m->Cumulative(0.010), 7500);
  EXPECT_EQ(m->Describe().rfind("mahimahi a.down (", 0), 0u);
  EXPECT_EQ(LoadTraceCapacity(m_path, "mahimahi")->Cumulative(0.010), 7500);
  // Pensieve logs use tabs and may end lines with CR LF.
  const std::string p_path = WriteTrace("b.log", "100.0\t4.0\r\n101.0\t8.0\r\n");
  auto p = LoadTraceCapacity(p_path);
  EXPECT_DOUBLE_EQ(p->MeanRateBps(0, 2), 6e6);
  EXPECT_EQ(p->Describe(), "pensieve b.log (6 Mbit/s mean, period 2 s)");
  EXPECT_DOUBLE_EQ(LoadTraceCapacity(p_path, "pensieve")->MeanRateBps(0, 2), 6e6);
  // Forcing pensieve on a one-column file is an error, not a guess.
  EXPECT_NE(ErrorOf([&] { LoadTraceCapacity(m_path, "pensieve"); }).find(m_path + ":1: "),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { LoadTraceCapacity(m_path, "csv"); }).find("unknown trace format 'csv'"),
            std::string::npos);
}

TEST(TraceFiles, WrittenMahimahiTracesReadBackAsTheProcess) {
  // 6 Mbit/s for 1 s, then nothing for 0.5 s, then 24 Mbit/s: 500, 0 and 2000 opportunities
  // per second; the trace read back delivers what the process did, to the opportunity.
  auto process = PiecewiseCapacity({0.0, 1.0, 1.5}, {6.0, 0.0, 24.0}, "steps");
  const std::string path = ::testing::TempDir() + "/written.down";
  WriteMahimahiTrace(*process, 2.0, path);
  auto trace = LoadTraceCapacity(path, "mahimahi");
  EXPECT_NEAR(trace->MeanRateBps(0.0, 1.0), 6e6, 0.02e6);
  EXPECT_DOUBLE_EQ(trace->MeanRateBps(1.01, 1.49), 0.0);
  EXPECT_NEAR(trace->MeanRateBps(1.5, 2.0), 24e6, 0.1e6);
  EXPECT_NEAR(trace->Cumulative(2.0), process->Cumulative(2.0), 1500);
  EXPECT_NEAR(trace->PeriodS(), 2.0, 1e-3);
  // The first second of the process shifted into its outage delivers nothing.
  auto silent = OffsetCapacity(PiecewiseCapacity({0.0, 1.0, 1.5}, {6.0, 0.0, 24.0}, "steps"), 1.1);
  EXPECT_NE(ErrorOf([&] { WriteMahimahiTrace(*silent, 0.3, path + "2"); }).find("delivers nothing"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path + "2"));
}

TEST(TraceFiles, ErrorsNameFileLineAndText) {
  const auto expect_error = [](const std::string& name, const std::string& text,
                               const std::string& message) {
    const std::string path = WriteTrace(name, text);
    EXPECT_EQ(ErrorOf([&] { LoadTraceCapacity(path); }), path + message) << text;
  };
  expect_error("bad.down", "1\n2\nabc\n", ":3: 'abc' is not an integer millisecond timestamp");
  expect_error("frac.down", "1\n2.5\n", ":2: '2.5' is not an integer millisecond timestamp");
  expect_error("cols.down", "1\n2 3\n", ":2: '2 3' is not an integer millisecond timestamp");
  expect_error("back.down", "1\n5\n3\n", ":3: timestamp 3 goes backwards (after 5 on line 2)");
  expect_error("neg.down", "-4\n5\n", ":1: negative timestamp -4");
  expect_error("empty.down", "", ": empty trace file");
  expect_error("blank.down", "\n \n\n", ": empty trace file");
  expect_error("hole.down", "1\n\n2\n", ":2: blank line inside the trace");
  expect_error("zero.down", "0\n0\n", ": zero capacity (every timestamp is 0 ms)");
  expect_error("zero.log", "0 0\n1 0\n", ": zero capacity (every throughput is 0)");
  expect_error("one.log", "0 1\n1\n", ":2: '1' is not two numbers '<time s> <throughput Mbit/s>'");
  expect_error("three.log", "0 1\n1 2 3\n",
               ":2: '1 2 3' is not two numbers '<time s> <throughput Mbit/s>'");
  expect_error("rate.log", "0 1\n1 x\n", ":2: 'x' is not a throughput in Mbit/s");
  expect_error("time.log", "0 1\nt 2\n", ":2: 't' is not a time in seconds");
  expect_error("nan.log", "0 1\n1 nan\n", ":2: 'nan' is not a throughput in Mbit/s");
  expect_error("negr.log", "0 1\n1 -2\n", ":2: negative throughput -2 Mbit/s");
  expect_error("backt.log", "0 1\n2 1\n1 1\n",
               ":3: time 1 s does not increase (after 2 s on line 2)");
  expect_error("same.log", "0 1\n0 1\n", ":2: time 0 s does not increase (after 0 s on line 1)");

  const std::string missing = ::testing::TempDir() + "/no-such.down";
  EXPECT_EQ(ErrorOf([&] { LoadTraceCapacity(missing); }),
            missing + ": cannot read trace file (No such file or directory)");
  EXPECT_EQ(ErrorOf([&] { LoadTraceCapacity(::testing::TempDir()); }),
            ::testing::TempDir() + ": cannot read trace file (not a regular file)");
}

TEST(TraceFiles, FindTraceSearchesThePathListAndSaysWhere) {
  const std::string dir = ::testing::TempDir() + "/find-trace";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/mine.down") << "1\n";
  const std::string direct = WriteTrace("direct.down", "1\n");
  EXPECT_EQ(FindTrace(direct), direct);
  ::setenv("LINKLAB_TRACE_PATH", ("/nonexistent:" + dir).c_str(), 1);
  EXPECT_EQ(FindTrace("mine.down"), dir + "/mine.down");
  const std::string error = ErrorOf([] { FindTrace("no-such-trace.down"); });
  ::unsetenv("LINKLAB_TRACE_PATH");
  EXPECT_NE(error.find("trace 'no-such-trace.down' not found; looked at no-such-trace.down, "
                       "/nonexistent/no-such-trace.down, " +
                       dir + "/no-such-trace.down, ../shared/data/traces/mahimahi/"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("pensieve-train/no-such-trace.down"), std::string::npos);
}

TEST(Markov, SameSeedSameProcessInAnyQueryOrder) {
  MarkovCapacityOptions o;
  auto a = MarkovCapacity(o, 7);
  auto b = MarkovCapacity(o, 7);
  auto c = MarkovCapacity(o, 8);
  b->TimeOf(1e9);  // b generates far ahead first, a step by step
  bool differs = false;
  for (double t = 0.25; t < 600; t += 0.25) {
    EXPECT_EQ(a->Cumulative(t), b->Cumulative(t));
    differs = differs || a->Cumulative(t) != c->Cumulative(t);
  }
  EXPECT_TRUE(differs);
  ExpectConsistent(*a, 600);
}

TEST(Markov, RatesStayInRangeWithOutagesThatTimeOfSkips) {
  MarkovCapacityOptions o;
  o.min_mbps = 1;
  o.max_mbps = 20;
  o.num_states = 5;
  o.outage_prob = 0.2;
  o.mean_hold_s = 1.0;
  o.mean_outage_s = 0.5;
  auto c = MarkovCapacity(o, 11);
  // Sample the instantaneous rate every 10 ms.
  int outage_samples = 0, level_changes = 0;
  double outage_start_s = -1, last_level = -1;
  for (int i = 1; i < 30000; ++i) {
    const double t = i * 0.01;
    const double rate = (c->Cumulative(t + 1e-4) - c->Cumulative(t)) * 8 / 1e-4;
    if (rate == 0) {
      if (outage_start_s < 0) outage_start_s = t;
      ++outage_samples;
      continue;
    }
    // Rates are the log-spaced levels 1, 2.1, 4.5, 9.5, 20 Mbit/s (a sample across a change of
    // level mixes two of them; skip those).
    const double level = std::log(rate / 1e6) / std::log(20.0) * 4;
    if (std::fabs(level - std::round(level)) < 1e-6) {
      EXPECT_GE(rate, 1e6 * (1 - 1e-6));
      EXPECT_LE(rate, 20e6 * (1 + 1e-6));
      if (std::round(level) != last_level) ++level_changes;
      last_level = std::round(level);
    }
  }
  EXPECT_GT(outage_samples, 100);
  EXPECT_GT(level_changes, 50);
  ASSERT_GT(outage_start_s, 0);
  // B stays flat through the outage; the next byte waits for its end.
  const double b = c->Cumulative(outage_start_s);
  double flat_until_s = outage_start_s;
  while (c->Cumulative(flat_until_s + 0.001) == b) flat_until_s += 0.001;
  EXPECT_GT(flat_until_s, outage_start_s);
  EXPECT_GT(c->TimeOf(b + 1), flat_until_s);
  EXPECT_LT(c->TimeOf(b + 1), flat_until_s + 0.002);
  EXPECT_LE(c->TimeOf(b), outage_start_s);
}

TEST(Markov, DescribedMeanMatchesTheLongRun) {
  MarkovCapacityOptions o;
  o.outage_prob = 0.1;
  auto c = MarkovCapacity(o, 3);
  const std::string text = c->Describe();
  EXPECT_EQ(text.rfind("markov 0.5-50 Mbit/s, 8 states (", 0), 0u) << text;
  const double described_mbps = std::stod(text.substr(text.find('(') + 1));
  EXPECT_NEAR(c->MeanRateBps(0, 1e6) / 1e6, described_mbps, 0.05 * described_mbps);
}

TEST(Markov, RejectsBadOptions) {
  MarkovCapacityOptions o;
  o.min_mbps = 0;
  EXPECT_EQ(ErrorOf([&] { MarkovCapacity(o, 1); }), "markov capacity: min_mbps = 0 must be > 0");
  o = {};
  o.outage_prob = 1.5;
  EXPECT_EQ(ErrorOf([&] { MarkovCapacity(o, 1); }),
            "markov capacity: outage_prob = 1.5 must be in [0, 1]");
  o = {};
  o.num_states = 0;
  EXPECT_THROW(MarkovCapacity(o, 1), std::invalid_argument);
}

TEST(Diurnal, LowestAtThePeakHourAndLowerAtWeekends) {
  DiurnalCapacityOptions o;
  o.noise = 0.0;
  o.depth = 0.5;
  o.peak_hour = 21;
  auto d = DiurnalCapacity(o, 1);
  const auto rate_at = [&](double day, double hour) {
    const double t = day * 86400 + hour * 3600;
    return d->MeanRateBps(t, t + 60);
  };
  EXPECT_NEAR(rate_at(0, 21), 250e6, 2e6);  // the full dip
  EXPECT_NEAR(rate_at(0, 9), 500e6, 2e6);   // 12 h away: no dip
  double lowest = 1e18, lowest_hour = -1;
  for (int h = 0; h < 24; ++h) {
    if (rate_at(2, h + 0.5) < lowest) lowest = rate_at(2, h + 0.5), lowest_hour = h + 0.5;
  }
  EXPECT_NEAR(lowest_hour, 21, 0.6);
  EXPECT_LT(rate_at(0, 19), rate_at(0, 15));  // the dip deepens towards the peak
  // Saturday (day 5) is scaled by the weekend factor.
  EXPECT_NEAR(rate_at(5, 9), rate_at(0, 9) * o.weekend_factor, 1e3);
  // start_hour and start_day shift the clock: time 0 is Saturday 21:00.
  o.start_day = 5;
  o.start_hour = 21;
  auto shifted = DiurnalCapacity(o, 1);
  EXPECT_NEAR(shifted->MeanRateBps(0, 60), 250e6 * o.weekend_factor, 2e6);
  ExpectConsistent(*d, 86400);
}

TEST(Diurnal, NoiseIsDeterministicAndSmall) {
  DiurnalCapacityOptions o;
  o.noise = 0.05;
  auto a = DiurnalCapacity(o, 4);
  auto b = DiurnalCapacity(o, 4);
  auto c = DiurnalCapacity(o, 5);
  EXPECT_EQ(a->Cumulative(7200), b->Cumulative(7200));
  EXPECT_NE(a->Cumulative(7200), c->Cumulative(7200));
  // At 09:00 the profile is ~1: one-minute rates scatter ~5% around the base.
  double sum = 0, sum2 = 0;
  const int n = 120;
  for (int i = 0; i < n; ++i) {
    const double r = a->MeanRateBps(9 * 3600 + 60 * i, 9 * 3600 + 60 * (i + 1)) / 500e6;
    sum += r;
    sum2 += r * r;
  }
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, 1.0, 0.02);
  EXPECT_NEAR(sd, 0.05, 0.015);
  EXPECT_NE(a->Describe().find("Mbit/s mean"), std::string::npos);
  o.depth = 1.0;
  EXPECT_EQ(ErrorOf([&] { DiurnalCapacity(o, 1); }),
            "diurnal capacity: depth = 1 must be in [0, 1)");
}

TEST(Scaled, MultipliesRatesAndDividesTimes) {
  auto s = ScaledCapacity(ConstantCapacity(10e6), 0.1);
  EXPECT_DOUBLE_EQ(s->MeanRateBps(0, 5), 1e6);
  EXPECT_DOUBLE_EQ(s->TimeOf(125000), 1.0);
  EXPECT_EQ(s->Describe(), "constant 10 Mbit/s, scaled x0.1 (1 Mbit/s mean)");
  auto m = ScaledCapacity(MahimahiCapacity({10, 20, 30}, "t"), 2.0);
  EXPECT_EQ(m->Cumulative(0.010), 3000);
  EXPECT_DOUBLE_EQ(m->TimeOf(3000), 0.010);
  EXPECT_DOUBLE_EQ(m->TimeOf(3001), 0.020);
  ExpectConsistent(*m, 1.0);
  EXPECT_THROW(ScaledCapacity(ConstantCapacity(1e6), 0), std::invalid_argument);
  EXPECT_THROW(ScaledCapacity(nullptr, 1), std::invalid_argument);
}

TEST(Offset, StartsPartWayIntoALoopedTrace) {
  // Opportunities at 10, 20, 30 ms, period 30 ms; started 15 ms in: the first one at 5 ms.
  auto o = OffsetCapacity(MahimahiCapacity({10, 20, 30}, "t"), 0.015);
  EXPECT_EQ(o->Cumulative(0.0), 0);
  EXPECT_EQ(o->Cumulative(0.004), 0);
  EXPECT_EQ(o->Cumulative(0.005), 1500);
  EXPECT_EQ(o->Cumulative(0.015), 3000);
  EXPECT_EQ(o->Cumulative(0.030), 4500);  // one period later: one loop's worth
  EXPECT_DOUBLE_EQ(o->TimeOf(1500), 0.005);
  EXPECT_DOUBLE_EQ(o->TimeOf(1501), 0.015);
  EXPECT_DOUBLE_EQ(o->PeriodS(), 0.030);
  ExpectConsistent(*o, 1.0);
  // The same rate from any offset on a constant link; offsets beyond a period wrap.
  EXPECT_DOUBLE_EQ(OffsetCapacity(ConstantCapacity(8e6), 7.5)->MeanRateBps(0, 2), 8e6);
  EXPECT_EQ(OffsetCapacity(MahimahiCapacity({10, 20, 30}, "t"), 0.045)->Cumulative(0.010),
            o->Cumulative(0.010));
  EXPECT_NE(o->Describe().find("from 0.015 s"), std::string::npos);
  EXPECT_THROW(OffsetCapacity(ConstantCapacity(1e6), -1), std::invalid_argument);
  EXPECT_THROW(OffsetCapacity(ConstantCapacity(1e6), std::nan("")), std::invalid_argument);
  EXPECT_THROW(OffsetCapacity(nullptr, 1), std::invalid_argument);
}

TEST(TraceFiles, AParsedTraceIsReusedUntilTheFileChanges) {
  const std::string path = ::testing::TempDir() + "/cached.down";
  std::filesystem::remove(path);
  std::ofstream(path) << "1\n2\n";
  auto a = LoadTraceCapacity(path);
  auto b = LoadTraceCapacity(path);
  EXPECT_EQ(a->Cumulative(0.002), b->Cumulative(0.002));
  EXPECT_EQ(a->Cumulative(0.002), 3000);
  // Replaced by another file: read again.
  const std::string other = path + ".new";
  std::ofstream(other) << "1\n1\n1\n2\n";
  std::filesystem::rename(other, path);
  EXPECT_EQ(LoadTraceCapacity(path)->Cumulative(0.002), 6000);
  EXPECT_EQ(a->Cumulative(0.002), 3000);  // what was loaded before is unchanged
}

// The real traces in ../shared/data (when present) against the figures in their README.
TEST(RealTraces, MeanRatesMatchTheDataReadme) {
  std::string path;
  try {
    path = FindTrace("ATT-LTE-driving.down");
  } catch (const std::invalid_argument&) {
    GTEST_SKIP() << "shared traces not present";
  }
  auto c = LoadTraceCapacity(path);
  EXPECT_NE(c->Describe().find("(5.17 Mbit/s mean"), std::string::npos) << c->Describe();
  EXPECT_NEAR(c->MeanRateBps(0, 100000) / 1e6, 5.17, 0.05);
  ExpectConsistent(*c, 10000);
  for (const auto& [name, mbps] : std::vector<std::pair<std::string, double>>{
           {"TMobile-LTE-driving.down", 12.77}, {"Verizon-EVDO-driving.down", 0.52}}) {
    auto other = LoadTraceCapacity(FindTrace(name));
    EXPECT_NEAR(other->MeanRateBps(0, 100000) / 1e6, mbps, 0.006) << name;
  }
}

}  // namespace
}  // namespace linklab::sim
