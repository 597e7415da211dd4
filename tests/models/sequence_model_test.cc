// The recurrent predictors, over every registered one: shapes, determinism, learning a
// simple sequence, save/load round trips and mismatches, bad input.

#include "models/sequence_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/rng.h"
#include "tests/test_util.h"

namespace linklab::models {
namespace {

using linklab::testing::ErrorOf;

ModelRegistryType& Registry() {
  RegisterSequenceModels(ModelRegistry());
  return ModelRegistry();
}

std::unique_ptr<Model> Make(const std::string& name, const ModelContext& c,
                            const core::RawValues& values = {}) {
  const auto& e = Registry().Find(name);
  return e.make(core::Params::Resolve(e.params, values, "model " + name), c);
}

int64_t WindowOf(const std::string& name) {
  const auto& e = Registry().Find(name);
  return core::Params::Resolve(e.params, {}, "model").Int("window");
}

// Rows of windows of a noisy sine (period 20 steps) with 2 features, each row's target the
// next value: something every architecture can learn.
void SineBatch(int64_t rows, int64_t window, uint64_t seed, std::vector<float>& x,
               std::vector<float>& y) {
  core::Rng rng(seed);
  x.clear();
  y.clear();
  for (int64_t r = 0; r < rows; ++r) {
    const double phase = rng.Uniform() * 20.0;
    for (int64_t t = 0; t <= window; ++t) {
      const double v = std::sin(2 * M_PI * (phase + t) / 20.0);
      if (t == window) {
        y.push_back(static_cast<float>(v));
      } else {
        x.push_back(static_cast<float>(v));
        x.push_back(static_cast<float>(0.5 * v + 0.05 * rng.Normal()));
      }
    }
  }
}

class EveryModel : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryModel, PredictsShapesLearnsAndRoundTrips) {
  const std::string name = GetParam();
  ModelContext c;
  c.input_size = 2;
  c.window = std::min<int64_t>(WindowOf(name), 12);  // short windows keep the test fast
  // multi_horizon answers one output per branch: the same next value from each of its three.
  const int64_t copies = name == "multi_horizon" ? 3 : 1;
  c.output_size = copies;
  c.horizons = copies;
  c.seed = 3;
  auto model = Make(name, c);
  std::vector<float> x, y;
  auto batch = [&](int64_t rows, uint64_t seed, std::vector<float>& bx, std::vector<float>& by) {
    SineBatch(rows, c.window, seed, bx, by);
    std::vector<float> wide;
    for (float v : by) wide.insert(wide.end(), static_cast<size_t>(copies), v);
    by = wide;
  };
  batch(64, 1, x, y);
  const std::vector<float> before = model->Predict(x, 64);
  ASSERT_EQ(before.size(), static_cast<size_t>(64 * copies));
  for (float v : before) ASSERT_TRUE(std::isfinite(v));
  // The same seed builds the same network.
  EXPECT_EQ(Make(name, c)->Predict(x, 64), before);
  // Training on fresh batches lowers the error on a held-out one.
  std::vector<float> hx, hy;
  batch(64, 99, hx, hy);
  auto mse = [&](Model& m) {
    const std::vector<float> p = m.Predict(hx, 64);
    double s = 0;
    for (size_t i = 0; i < p.size(); ++i) s += (p[i] - hy[i]) * (p[i] - hy[i]);
    return s / p.size();
  };
  const double mse_before = mse(*model);
  for (int step = 0; step < 150; ++step) {
    batch(32, 1000 + step, x, y);
    const core::Row row = model->Fit(x, y, 32);
    ASSERT_EQ(row.at(0).first, "loss");
    ASSERT_TRUE(std::isfinite(row.at(0).second));
  }
  const double mse_after = mse(*model);
  EXPECT_LT(mse_after, 0.1) << name;
  EXPECT_LT(mse_after, 0.5 * mse_before) << name;
  // Save and load into a fresh model: the same predictions.
  const std::string dir = ::testing::TempDir() + "/seq_" + name;
  std::filesystem::remove_all(dir);
  model->Save(dir);
  ModelContext other = c;
  other.seed = 77;
  auto loaded = Make(name, other);
  EXPECT_NE(loaded->Predict(hx, 64), model->Predict(hx, 64));
  loaded->Load(dir);
  EXPECT_EQ(loaded->Predict(hx, 64), model->Predict(hx, 64));
  // A model of another shape refuses the files, naming them.
  ModelContext wider = c;
  wider.input_size = 3;
  std::string e;
  try {
    Make(name, wider)->Load(dir);
  } catch (const std::runtime_error& error) {
    e = error.what();
  }
  EXPECT_NE(e.find(dir), std::string::npos) << e;
}

INSTANTIATE_TEST_SUITE_P(Registered, EveryModel, ::testing::ValuesIn(Registry().Names()),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

TEST(SequenceModels, ArchitecturesAndBadInput) {
  EXPECT_EQ(WindowOf("pba_v1"), 10);
  EXPECT_EQ(WindowOf("pba_v3_datacenter"), 30);
  EXPECT_EQ(WindowOf("pba_v3_internet"), 60);
  EXPECT_EQ(WindowOf("traffic_v1"), 24);
  ModelContext c;
  c.input_size = 6;
  c.window = 10;
  c.output_size = 4;
  auto m = Make("pba_v1", c);
  EXPECT_EQ(m->Predict(std::vector<float>(2 * 10 * 6, 0.5f), 2).size(), 8u);
  EXPECT_NE(ErrorOf([&] { m->Predict(std::vector<float>(7, 0.f), 1); }).find("7 inputs"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              m->Fit(std::vector<float>(60, 0.f), std::vector<float>(4, 0.f), 1);
            }).find("at least 2 rows"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              Make("rnn", c, {{"cells", {"lstm,tcn", "test"}}});
            }).find("'tcn'"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              Make("rnn", c, {{"cells", {"gru", "test"}}, {"units", {"8,8", "test"}}});
            }).find("one unit count per recurrent layer"),
            std::string::npos);
  ModelContext none = c;
  none.input_size = 0;
  EXPECT_NE(ErrorOf([&] { Make("traffic_v1", none); }).find("must be >= 1"), std::string::npos);
  // A GRU stack builds and predicts too.
  auto gru = Make("rnn", c, {{"cells", {"gru,lstm", "test"}}, {"units", {"16,8", "test"}}});
  EXPECT_EQ(gru->Predict(std::vector<float>(10 * 6, 0.1f), 1).size(), 4u);
  // multi_horizon: three branches, each its share of the outputs (two targets at each of
  // three horizons here); four outputs do not split.
  c.output_size = 6;
  c.horizons = 3;
  auto multi = Make("multi_horizon", c, {{"window", {"10", "test"}}});
  EXPECT_EQ(multi->Predict(std::vector<float>(10 * 6, 0.1f), 1).size(), 6u);
  c.output_size = 4;
  EXPECT_NE(ErrorOf([&] { Make("multi_horizon", c); }).find("model multi_horizon: 4 outputs for 3"),
            std::string::npos);
  c.output_size = 6;
  c.horizons = 2;
  EXPECT_NE(ErrorOf([&] { Make("multi_horizon", c); }).find("3 branches, one per horizon, for 2"),
            std::string::npos);
}

}  // namespace
}  // namespace linklab::models
