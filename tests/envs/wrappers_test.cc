#include <gtest/gtest.h>

#include <cmath>

#include "envs/registry.h"

namespace linklab::envs {
namespace {

std::unique_ptr<VectorEnv> MakeVec(const std::string& id, int n, bool norm_obs, bool norm_rew) {
  VectorOptions o;
  o.num_envs = n;
  o.normalize_obs = norm_obs;
  o.normalize_reward = norm_rew;
  return MakeVectorEnv(id, ResolveEnvParams(id, {}, "test"), o);
}

TEST(EpisodeStatistics, ReportsReturnAndLength) {
  auto env = MakeEnv("Pendulum-v1(max_episode_steps=7)");
  env->Reset(1);
  double total = 0;
  StepResult r;
  for (int t = 0; t < 7; ++t) {
    r = env->Step({0.5f});
    total += r.reward;
    EXPECT_EQ(r.info.Has("episode_return"), t == 6);
  }
  EXPECT_TRUE(r.truncated);
  EXPECT_NEAR(r.info.Get("episode_return"), total, 1e-9);
  EXPECT_EQ(r.info.Get("episode_length"), 7);
}

TEST(RunningMeanStd, MatchesBatchStatistics) {
  RunningMeanStd rms(2);
  std::vector<float> all;
  core::Rng rng(4);
  for (int b = 0; b < 50; ++b) {
    std::vector<float> batch;
    for (int r = 0; r < 8; ++r) {
      batch.push_back(static_cast<float>(3.0 + 2.0 * rng.Normal()));
      batch.push_back(static_cast<float>(-1.0 + 0.5 * rng.Normal()));
    }
    rms.Update(batch.data(), 8);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  for (int j = 0; j < 2; ++j) {
    double m = 0, v = 0;
    const int n = static_cast<int>(all.size() / 2);
    for (int r = 0; r < n; ++r) m += all[2 * r + j];
    m /= n;
    for (int r = 0; r < n; ++r) v += (all[2 * r + j] - m) * (all[2 * r + j] - m);
    v /= n;
    EXPECT_NEAR(rms.mean()[j], m, 1e-4);
    EXPECT_NEAR(rms.var()[j], v, 1e-3);
  }
}

TEST(NormalizeObservation, CentresAndScalesAndCanFreeze) {
  auto env = MakeVec("Pendulum-v1", 4, true, false);
  auto* norm = FindObsNormalizer(*env);
  ASSERT_NE(norm, nullptr);
  env->Reset(0);
  core::Rng rng(1);
  double sum = 0, sq = 0;
  int count = 0;
  for (int t = 0; t < 3000; ++t) {
    Array a;
    for (int i = 0; i < 4; ++i) a.push_back(static_cast<float>(rng.Uniform(-2, 2)));
    const VectorStep& r = env->Step(a);
    if (t > 1000) {
      for (int i = 0; i < 4; ++i) {
        const double x = r.obs[i * 3 + 2];  // angular velocity
        sum += x;
        sq += x * x;
        ++count;
      }
    }
  }
  EXPECT_NEAR(sum / count, 0.0, 0.15);
  EXPECT_NEAR(sq / count, 1.0, 0.2);

  // Frozen statistics do not move; saved statistics load back exactly.
  norm->set_training(false);
  const double count_before = norm->stats().count();
  env->Step(Array(4, 0.0f));
  EXPECT_EQ(norm->stats().count(), count_before);
  core::ByteWriter w;
  norm->stats().Write(w);
  RunningMeanStd copy(3);
  core::ByteReader r(w.data(), "stats");
  copy.Read(r);
  EXPECT_EQ(copy.count(), norm->stats().count());
  EXPECT_EQ(copy.mean(), norm->stats().mean());
  EXPECT_EQ(copy.var(), norm->stats().var());
  RunningMeanStd wrong(4);
  core::ByteReader again(w.data(), "stats");
  EXPECT_THROW(wrong.Read(again), std::runtime_error);
}

TEST(ScaleReward, DividesByReturnStdAndClips) {
  auto env = MakeVec("CartPole-v1", 2, false, true);
  ScaleReward* scaler = FindRewardScaler(*env);
  ASSERT_NE(scaler, nullptr);
  env->Reset(0);
  int checked = 0;
  for (int t = 0; t < 300; ++t) {
    const VectorStep& r = env->Step({1, 0});
    const double expected = std::min(10.0, 1.0 / std::sqrt(scaler->stats().var()[0] + 1e-8));
    for (int i = 0; i < 2; ++i) {
      if (r.reward[i] == 0.0) continue;  // an autoreset step
      EXPECT_NEAR(r.reward[i], expected, 1e-12);
      ++checked;
    }
  }
  EXPECT_GT(checked, 400);
  // The discounted return of +1 rewards varies, so its std exceeds 1 and shrinks rewards.
  EXPECT_GT(scaler->stats().var()[0], 1.0);
}

}  // namespace
}  // namespace linklab::envs
