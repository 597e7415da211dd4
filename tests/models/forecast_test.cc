// Bandwidth series and the classical forecasters: what each predicts, the figures, series from
// traces and data sets, bad input; and, where the shared traces are present, the baselines'
// figures against ../shared/reference/REFERENCE.md.

#include "models/forecast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/files.h"
#include "datasets/recording.h"
#include "tests/test_util.h"

namespace linklab::models {
namespace {

using linklab::testing::ErrorOf;

const ForecastResult& Of(const std::vector<ForecastResult>& results, const std::string& name) {
  for (const auto& r : results) {
    if (r.forecaster == name) return r;
  }
  throw std::runtime_error("no forecaster " + name);
}

TEST(Forecasters, PredictTheLastValueItsAverageAndTheHarmonicMean) {
  auto f = ClassicalForecasters();
  ASSERT_EQ(f.size(), 3u);
  const Series s{"s", 1.0, {1.0, 2.0, 4.0, 4.0, 8.0, 0.0}, {}};
  for (auto& x : f) x->Start(s);
  for (size_t t = 0; t < 5; ++t) {
    for (auto& x : f) x->Observe(t);
  }
  EXPECT_EQ(f[0]->name(), "last");
  EXPECT_DOUBLE_EQ(f[0]->Predict(1), 8.0);
  // EWMA with alpha 0.3 from the first value: 1, 1.3, 2.11, 2.677, 4.2739.
  EXPECT_EQ(f[1]->name(), "ewma");
  EXPECT_NEAR(f[1]->Predict(5), 4.2739, 1e-12);
  // 5 / (1 + 1/2 + 1/4 + 1/4 + 1/8) = 2.3529...
  EXPECT_EQ(f[2]->name(), "harmonic_mean");
  EXPECT_EQ(f[2]->warmup(), 5);
  EXPECT_NEAR(f[2]->Predict(1), 5.0 / 2.125, 1e-12);
  f[2]->Observe(5);  // an empty interval among the last five
  EXPECT_EQ(f[2]->Predict(1), 0.0);
  // Another target: the same forecasters over that feature.
  Series both = s;
  both.more["latency"] = {50, 60, 70, 80, 90, 100};
  auto lat = ClassicalForecasters("latency");
  lat[0]->Start(both);
  lat[0]->Observe(0);
  lat[0]->Observe(1);
  EXPECT_EQ(lat[0]->Predict(1), 60.0);
  const std::string e = ErrorOf([&] { lat[0]->Start(s); });
  EXPECT_NE(e.find("s: no feature 'latency' (it has bandwidth)"), std::string::npos) << e;
}

TEST(Confidence, RecentAccuracyAndAMonotoneCalibration) {
  RecentAccuracy r;
  EXPECT_DOUBLE_EQ(r.Share(), 0.5);  // nothing checked yet
  for (int i = 0; i < kConfidenceWindow; ++i) r.Add(true);
  EXPECT_DOUBLE_EQ(r.Share(), (kConfidenceWindow + 1.0) / (kConfidenceWindow + 2.0));
  for (int i = 0; i < kConfidenceWindow; ++i) r.Add(false);  // the hits have left the window
  EXPECT_DOUBLE_EQ(r.Share(), 1.0 / (kConfidenceWindow + 2.0));
  // Adjacent violators pooled; an empty bin between pools takes its neighbours' share.
  const std::vector<double> c = FitCalibration({10, 10, 0, 10}, {0.8, 0.2, NAN, 0.5});
  ASSERT_EQ(c.size(), 4u);
  for (double v : c) EXPECT_DOUBLE_EQ(v, 0.5);
  const std::vector<double> rising = FitCalibration({5, 5, 5}, {0.1, 0.4, 0.9});
  EXPECT_EQ(rising, (std::vector<double>{0.1, 0.4, 0.9}));
  // An empty bin between two pools stays between them.
  const std::vector<double> gap = FitCalibration({5, 0, 5}, {0.9, NAN, 0.95});
  EXPECT_EQ(gap, (std::vector<double>{0.9, 0.9, 0.95}));
  const std::vector<double> drop = FitCalibration({5, 0, 5}, {0.9, NAN, 0.5});
  EXPECT_EQ(drop, (std::vector<double>{0.7, 0.7, 0.7}));
}

// A forecaster told the answer: every prediction within +-20 %, its confidence climbs to the
// top bin, where the observed share is 1.
class Oracle : public Forecaster {
 public:
  const std::string& name() const override { return name_; }
  int warmup() const override { return 1; }
  void Start(const Series& s) override { s_ = &s; }
  void Observe(size_t t) override { t_ = t; }
  double Predict(int h) const override { return s_->mbps[t_ + static_cast<size_t>(h)]; }

 private:
  std::string name_ = "oracle";
  const Series* s_ = nullptr;
  size_t t_ = 0;
};

// pba_v3's mode detector follows the part that has been right; the hybrid leans on it.
TEST(Confidence, EnsemblesFollowTheConfidentPart) {
  Series s{"saw", 1.0, {}, {}};
  for (int i = 0; i < 400; ++i) s.mbps.push_back(1.0 + i % 7);
  auto parts = [] {
    std::vector<std::unique_ptr<Forecaster>> p;
    p.push_back(std::move(ClassicalForecasters()[0]));  // last: wrong at most steps of the saw
    p.push_back(std::make_unique<Oracle>());
    return p;
  };
  std::vector<std::unique_ptr<Forecaster>> f;
  f.push_back(MakeEnsemble("mode", "bandwidth", parts()));
  f.push_back(MakeEnsemble("hybrid", "bandwidth", parts()));
  f.push_back(std::move(ClassicalForecasters()[0]));
  const auto results = EvaluateForecasters({s}, 1, f);
  const double last = Of(results, "last").overall.mae;
  EXPECT_GT(last, 1.0);
  // The mode detector needs a few checked predictions before it trusts the oracle.
  EXPECT_LT(Of(results, "mode").overall.mae, 0.05 * last);
  EXPECT_LT(Of(results, "hybrid").overall.mae, 0.5 * last);
  // The hybrid blends only the parts near the top confidence: here mostly the oracle alone.
  EXPECT_GE(Of(results, "hybrid").overall.mae, Of(results, "mode").overall.mae);
  EXPECT_NE(ErrorOf([&] { MakeEnsemble("average", "bandwidth", parts()); }).find("'average'"),
            std::string::npos);
  std::vector<std::unique_ptr<Forecaster>> one;
  one.push_back(std::make_unique<Oracle>());
  EXPECT_NE(ErrorOf([&] { MakeEnsemble("mode", "bandwidth", std::move(one)); }).find("two or more"),
            std::string::npos);
}

TEST(Confidence, EvaluationBinsPredictionsByConfidence) {
  Series s{"saw", 1.0, {}, {}};
  for (int i = 0; i < 400; ++i) s.mbps.push_back(1.0 + i % 7);
  std::vector<std::unique_ptr<Forecaster>> f;
  f.push_back(std::make_unique<Oracle>());
  for (auto& c : ClassicalForecasters()) f.push_back(std::move(c));
  const auto results = EvaluateForecasters({s}, 2, f, "bandwidth", true);
  for (const auto& r : results) {
    ASSERT_EQ(r.calibration.size(), static_cast<size_t>(kConfidenceBins)) << r.forecaster;
    int64_t binned = 0;
    for (const auto& b : r.calibration) binned += b.predictions;
    EXPECT_EQ(binned, r.overall.samples) << r.forecaster;  // every prediction in one bin
  }
  const ForecastResult& oracle = Of(results, "oracle");
  EXPECT_EQ(oracle.overall.accuracy, 1.0);
  const CalibrationBin& top = oracle.calibration.back();
  EXPECT_GT(top.predictions, 300);
  EXPECT_EQ(top.observed, 1.0);
  // The kept predictions: sample t + 2 predicted after sample t.
  ASSERT_EQ(oracle.predicted.size(), 1u);
  // The longest warm-up is 5: the first prediction, after sample 4, is of sample 6.
  EXPECT_TRUE(std::isnan(oracle.predicted[0][5]));
  EXPECT_FLOAT_EQ(oracle.predicted[0][6], static_cast<float>(s.mbps[6]));
  EXPECT_GT(oracle.confidence[0][399], 0.9f);
}

TEST(Forecasters, FiguresOverTheSamePredictedSamplesWithoutOutages) {
  // 10, 10, ... then 20 from sample 8, and an outage at sample 11: at horizon 1 every
  // forecaster predicts samples 5..11 (after the longest warm-up of 5); the outage is left out.
  Series s{"steps", 1.0, {10, 10, 10, 10, 10, 10, 10, 10, 20, 20, 20, 0.0}, {}};
  const auto results = EvaluateForecasters({s}, 1, ClassicalForecasters());
  const ForecastFigures& last = Of(results, "last").overall;
  EXPECT_EQ(last.samples, 6);  // samples 5..10
  EXPECT_EQ(last.below_floor, 1);
  // last: wrong by 10 once (sample 8), right otherwise.
  EXPECT_NEAR(last.mae, 10.0 / 6, 1e-12);
  EXPECT_NEAR(last.rmse, std::sqrt(100.0 / 6), 1e-12);
  EXPECT_NEAR(last.mape_pct, 100.0 * 0.5 / 6, 1e-9);
  EXPECT_NEAR(last.accuracy, 5.0 / 6, 1e-12);
  EXPECT_EQ(Of(results, "last").per_series.size(), 1u);
  // Horizon 3: sample t + 3 from samples up to t.
  const auto h3 = EvaluateForecasters({s}, 3, ClassicalForecasters());
  EXPECT_EQ(Of(h3, "last").overall.samples + Of(h3, "last").overall.below_floor, 5);  // 7..11
  // Too short for the warm-up and the horizon: named.
  Series tiny{"tiny.down", 1.0, {1, 2, 3, 4, 5}, {}};
  const std::string e = ErrorOf([&] { EvaluateForecasters({tiny}, 1, ClassicalForecasters()); });
  EXPECT_NE(e.find("tiny.down: 5 samples"), std::string::npos) << e;
  EXPECT_NE(e.find("at least 6"), std::string::npos) << e;
}

TEST(Series, FromTracesAndDataSetsAtTheRequestedInterval) {
  const std::string dir = ::testing::TempDir() + "/forecast_series";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  // Mahimahi: two opportunities per ms for 2 s (24 Mbit/s), then one (12 Mbit/s) for 2 s.
  std::string mm;
  for (int ms = 1; ms <= 4000; ++ms) {
    for (int k = 0; k < (ms <= 2000 ? 2 : 1); ++k) mm += std::to_string(ms) + "\n";
  }
  core::WriteFileAtomic(dir + "/a.down", mm);
  core::WriteFileAtomic(dir + "/README", "not a trace\n");
  const std::vector<Series> traces = LoadSeries({dir}, "mahimahi", 1.0);
  ASSERT_EQ(traces.size(), 1u);  // the README is skipped
  EXPECT_EQ(traces[0].name, "a.down");
  ASSERT_EQ(traces[0].mbps.size(), 4u);
  EXPECT_NEAR(traces[0].mbps[0], 24.0, 0.02);
  EXPECT_NEAR(traces[0].mbps[3], 12.0, 0.02);
  // Pensieve: rates held until the next sample.
  core::WriteFileAtomic(dir + "/b.log", "0\t2.0\n1\t4.0\n2\t6.0\n3\t8.0\n");
  const std::vector<Series> logs = LoadSeries({dir + "/b.log"}, "pensieve", 2.0);
  ASSERT_EQ(logs[0].mbps.size(), 2u);
  EXPECT_NEAR(logs[0].mbps[0], 3.0, 1e-9);
  EXPECT_NEAR(logs[0].mbps[1], 7.0, 1e-9);
  // A data set imported at 1 s, read at 2 s: pairs averaged.
  datasets::ImportTraces({dir + "/a.down"}, "mahimahi", 1.0, 0.0, dir + "/a.h5");
  const std::vector<Series> h5 = LoadSeries({dir + "/a.h5"}, "h5", 2.0);
  ASSERT_EQ(h5.size(), 1u);
  EXPECT_EQ(h5[0].name, "a.h5:a.down");
  ASSERT_EQ(h5[0].mbps.size(), 2u);
  EXPECT_NEAR(h5[0].mbps[0], 24.0, 0.02);
  EXPECT_NEAR(h5[0].mbps[1], 12.0, 0.02);
  // Bad input names the file or the value.
  EXPECT_NE(ErrorOf([&] { LoadSeries({dir + "/a.h5"}, "h5", 1.5); }).find("whole multiple"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              LoadSeries({dir + "/nothing"}, "mahimahi", 1.0);
            }).find("trace '" + dir + "/nothing' not found"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { LoadSeries({dir + "/a.down"}, "csv", 1.0); }).find("'csv'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              LoadSeries({dir + "/a.down"}, "mahimahi", 10.0);
            }).find("less than one interval"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              LoadSeries({dir + "/a.down"}, "h5", 1.0);
            }).find("a.down: not a linklab data set"),
            std::string::npos);
  // An imported trace carries the bandwidth only.
  EXPECT_TRUE(h5[0].more.empty());
  EXPECT_NE(ErrorOf([&] { h5[0].Feature("jitter"); }).find("no feature 'jitter'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { h5[0].Feature("colour"); }).find("features: bandwidth, latency"),
            std::string::npos);
}

TEST(Series, RecordedDataSetsCarryLatencyLossJitterAndTheClock) {
  const std::string path = ::testing::TempDir() + "/forecast_recorded.h5";
  datasets::RecordOptions o;
  o.scenario = "tethered(backend=fluid)";
  o.duration_s = 1200;
  o.interval_s = 60;
  o.progress = false;
  datasets::GenerateDataset(o, path);
  const std::vector<Series> series = LoadSeries({path}, "h5", 120.0);
  ASSERT_EQ(series.size(), 2u);  // down and up
  for (const Series& s : series) {
    ASSERT_EQ(s.mbps.size(), 10u) << s.name;  // 20 one-minute samples in pairs
    for (const char* f : {"latency", "loss", "jitter", "hour", "day"}) {
      ASSERT_EQ(s.Feature(f).size(), 10u) << s.name << " " << f;
    }
    for (size_t i = 0; i < 10; ++i) {
      EXPECT_GT(s.mbps[i], 0.0);
      EXPECT_GT(s.Feature("latency")[i], 0.0) << s.name << " " << i;
      EXPECT_GE(s.Feature("loss")[i], 0.0);
      EXPECT_LE(s.Feature("loss")[i], 1.0);
      EXPECT_GE(s.Feature("hour")[i], 0.0);
      EXPECT_LT(s.Feature("hour")[i], 24.0);
    }
    // The link's traffic as rates: offered at least what was delivered, both some Mbit/s.
    double offered = 0, delivered = 0;
    for (size_t i = 0; i < 10; ++i) {
      offered += s.Feature("traffic")[i];
      delivered += s.Feature("throughput")[i];
      EXPECT_GE(s.Feature("packets")[i], 0.0);
    }
    EXPECT_GT(delivered, 0.0) << s.name;
    EXPECT_GE(offered, delivered * 0.99) << s.name;
    if (s.name.find(":down") != std::string::npos) {
      EXPECT_LT(delivered / 10, 1.1 * s.mbps[0] + 50) << s.name;  // Mbit/s, not bytes
    }
    // Hour: the group's last sample, two minutes on per step (within the hour or its wrap).
    const double step_h = std::fmod(s.Feature("hour")[1] - s.Feature("hour")[0] + 24.0, 24.0);
    EXPECT_NEAR(step_h, 2.0 / 60.0, 1e-9) << s.name;
  }
}

// The classical baselines on every shared mahimahi trace (down and up) at 1 s bins, against
// ../shared/reference/REFERENCE.md's figures (measured there by another implementation).
TEST(RealTraces, ClassicalBaselinesMatchTheReferenceFigures) {
  const std::string dir = std::string(LINKLAB_SOURCE_DIR) + "/../shared/data/traces/mahimahi";
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << dir << " is not here";
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.size() > 5 && (n.rfind(".down") == n.size() - 5 || n.rfind(".up") == n.size() - 3)) {
      files.push_back(e.path().string());
    }
  }
  const std::vector<Series> series = LoadSeries(files, "mahimahi", 1.0);
  struct Ref {
    int horizon;
    const char* name;
    double mae, mape;
  };
  const Ref refs[] = {{1, "last", 0.762, 34.5},          {1, "harmonic_mean", 1.000, 43.5},
                      {1, "ewma", 0.861, 45.4},          {5, "last", 1.305, 68.0},
                      {5, "harmonic_mean", 1.345, 68.0}, {5, "ewma", 1.234, 69.4}};
  for (const Ref& r : refs) {
    const auto results = EvaluateForecasters(series, r.horizon, ClassicalForecasters());
    const ForecastFigures& f = Of(results, r.name).overall;
    EXPECT_NEAR(f.mae, r.mae, 0.03 * r.mae) << r.name << " at " << r.horizon << " s";
    EXPECT_NEAR(f.mape_pct, r.mape, 1.5) << r.name << " at " << r.horizon << " s";
  }
}

}  // namespace
}  // namespace linklab::models
