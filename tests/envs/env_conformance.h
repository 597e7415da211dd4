#pragma once
// The env conformance suite: the Env contract checked on one env spec per test parameter
// (spaces, bounds, reset/step contract, seeding, truncation, traits, snapshots). A test
// binary includes this and instantiates EnvConformance over its envs:
// tests/envs/conformance_test.cc over every env registered in linklab_envs,
// tests/envs/shaping_env_test.cc over the shaping env (which lives in its own library).

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/registry.h"
#include "envs/registry.h"

namespace linklab::envs {

// The parameter is an env spec: a registered name, or a name with parameters
// ("shaping(action=continuous)"), built through the registry as experiments build them.
class EnvConformance : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Env> Make() { return MakeEnv(GetParam()); }
  core::Spec Parsed() { return core::Spec::Parse(GetParam(), "test env spec"); }
  std::string Name() { return Parsed().name(); }
  core::Params Params() { return ResolveEnvParams(Name(), Parsed().Values(), "test"); }
  int64_t MaxSteps() { return Params().Int("max_episode_steps"); }
  // The spec with `key` set to `value`.
  std::string With(const std::string& key, const std::string& value) {
    core::Spec s = Parsed();
    s.Set(key, value);
    return s.Text();
  }
};

// Plays `steps` random steps from Reset(seed) with actions drawn from `action_seed`,
// resetting (without a seed) at episode ends; returns all observations and rewards.
inline std::vector<float> Rollout(Env& env, uint64_t seed, uint64_t action_seed, int steps) {
  core::Rng rng(action_seed);
  std::vector<float> trace = env.Reset(seed).obs;
  for (int i = 0; i < steps; ++i) {
    const StepResult r = env.Step(env.action_space().Sample(rng));
    trace.insert(trace.end(), r.obs.begin(), r.obs.end());
    trace.push_back(static_cast<float>(r.reward));
    trace.push_back(r.terminated);
    trace.push_back(r.truncated);
    if (r.done()) {
      const ResetResult rr = env.Reset();
      trace.insert(trace.end(), rr.obs.begin(), rr.obs.end());
    }
  }
  return trace;
}

TEST_P(EnvConformance, SpacesAreWellFormed) {
  auto env = Make();
  EXPECT_GT(env->observation_space().size(), 0);
  EXPECT_GT(env->action_space().size(), 0);
  for (size_t i = 0; i < env->observation_space().low().size(); ++i) {
    EXPECT_LE(env->observation_space().low()[i], env->observation_space().high()[i]);
  }
}

TEST_P(EnvConformance, ObservationsStayInTheSpace) {
  auto env = Make();
  core::Rng rng(1);
  ResetResult rr = env->Reset(3);
  ASSERT_TRUE(env->observation_space().Contains(rr.obs))
      << env->observation_space().Mismatch(rr.obs);
  for (int i = 0; i < 2000; ++i) {
    const StepResult r = env->Step(env->action_space().Sample(rng));
    ASSERT_TRUE(env->observation_space().Contains(r.obs))
        << "step " << i << ": " << env->observation_space().Mismatch(r.obs);
    ASSERT_TRUE(std::isfinite(r.reward));
    if (r.done()) env->Reset();
  }
}

TEST_P(EnvConformance, SameSeedSameTrajectory) {
  auto a = Make();
  auto b = Make();
  EXPECT_EQ(Rollout(*a, 11, 5, 1500), Rollout(*b, 11, 5, 1500));
  // The same env object reset with the same seed again also repeats itself.
  EXPECT_EQ(Rollout(*a, 11, 5, 300), Rollout(*b, 11, 5, 300));
}

TEST_P(EnvConformance, ResetWithSameSeedTwiceGivesSameObservation) {
  auto env = Make();
  const Array first = env->Reset(123).obs;
  EXPECT_EQ(env->Reset(123).obs, first);
  // A different seed gives a different start (the generator really is reseeded).
  EXPECT_NE(env->Reset(124).obs, first);
}

TEST_P(EnvConformance, ResetWithoutSeedContinuesTheGenerator) {
  auto env = Make();
  const Array first = env->Reset(7).obs;
  const Array second = env->Reset().obs;
  EXPECT_NE(first, second);
  // ... deterministically: the same sequence after the same seed.
  auto other = Make();
  other->Reset(7);
  EXPECT_EQ(other->Reset().obs, second);
}

TEST_P(EnvConformance, TruncatesAtTheTimeLimit) {
  const int64_t limit = MaxSteps();
  ASSERT_GT(limit, 0);
  // A short limit through the registry parameter, so terminal states are rarely reached.
  auto env = MakeEnv(With("max_episode_steps", "5"));
  core::Rng rng(2);
  for (int episode = 0; episode < 20; ++episode) {
    env->Reset(episode);
    for (int t = 1; t <= 5; ++t) {
      const StepResult r = env->Step(env->action_space().Sample(rng));
      if (r.terminated) break;
      EXPECT_EQ(r.truncated, t == 5) << "step " << t;
      if (r.done()) {
        EXPECT_DOUBLE_EQ(r.info.Get("episode_length"), t);
        EXPECT_TRUE(r.info.Has("episode_return"));
      }
    }
  }
}

TEST_P(EnvConformance, StepContractErrors) {
  auto env = Make();
  core::Rng rng(3);
  EXPECT_THROW(env->Step(env->action_space().Sample(rng)), std::logic_error);  // before Reset
  env->Reset(0);
  Array bad(env->action_space().size(), 1e9f);
  EXPECT_THROW(env->Step(bad), std::invalid_argument);
  EXPECT_THROW(env->Step(Array(env->action_space().size() + 1, 0.0f)), std::invalid_argument);
  // Run the episode out, then one more step is an error.
  StepResult r;
  do {
    r = env->Step(env->action_space().Sample(rng));
  } while (!r.done());
  EXPECT_THROW(env->Step(env->action_space().Sample(rng)), std::logic_error);
  env->Reset();
  EXPECT_NO_THROW(env->Step(env->action_space().Sample(rng)));
}

TEST_P(EnvConformance, TraitsAreGiven) {
  const auto& entry = EnvRegistry().Find(Name());
  ASSERT_TRUE(entry.traits) << "registered without traits";
  const core::EntryTraits t = EnvTraits(Name(), Params());
  EXPECT_GT(t.cost_us_per_step, 0.0);
}

// The snapshot trait decides which checks run: an env claiming snapshots restores a state
// saved mid-episode into a fresh env that then continues exactly like the original; an env
// not claiming them refuses to save (so its checkpoints say they cannot resume).
TEST_P(EnvConformance, SnapshotTraitIsTruthful) {
  const bool snapshot = EnvTraits(Name(), Params()).snapshot;
  auto env = Make();
  core::Rng rng(4);
  env->Reset(21);
  for (int i = 0; i < 7; ++i) {
    if (env->Step(env->action_space().Sample(rng)).done()) env->Reset();
  }
  if (!snapshot) {
    core::ByteWriter w;
    EXPECT_THROW(env->SaveState(w), std::runtime_error);
    return;
  }
  core::ByteWriter w;
  ASSERT_NO_THROW(env->SaveState(w));
  auto copy = Make();
  core::ByteReader r(w.data(), "snapshot");
  copy->LoadState(r);
  EXPECT_NO_THROW(r.ExpectEnd());
  // Same actions from here (episode ends and reset generators included) give the same trace.
  const uint64_t action_seed = 9;
  auto continue_from = [&](Env& e) {
    core::Rng actions(action_seed);
    std::vector<float> trace;
    for (int i = 0; i < 1500; ++i) {
      const StepResult s = e.Step(e.action_space().Sample(actions));
      trace.insert(trace.end(), s.obs.begin(), s.obs.end());
      trace.push_back(static_cast<float>(s.reward));
      trace.push_back(s.terminated);
      trace.push_back(s.truncated);
      if (s.done()) {
        const ResetResult rr = e.Reset();
        trace.insert(trace.end(), rr.obs.begin(), rr.obs.end());
      }
    }
    return trace;
  };
  EXPECT_EQ(continue_from(*copy), continue_from(*env));
  // And through a vector env, as checkpoints save them.
  VectorOptions opts;
  opts.num_envs = 2;
  const core::Params params = Params();
  auto a = MakeVectorEnv(Name(), params, opts);
  auto b = MakeVectorEnv(Name(), params, opts);
  a->Reset(5);
  Array actions;
  core::Rng vrng(6);
  auto sample = [&] {
    actions.clear();
    for (int i = 0; i < 2; ++i) {
      const Array x = a->single_action_space().Sample(vrng);
      actions.insert(actions.end(), x.begin(), x.end());
    }
    return actions;
  };
  for (int i = 0; i < 30; ++i) a->Step(sample());
  b->LoadState(a->SaveState());
  for (int i = 0; i < 300; ++i) {
    const Array act = sample();
    const VectorStep x = a->Step(act);
    const VectorStep& y = b->Step(act);
    ASSERT_EQ(x.obs, y.obs) << "vector step " << i;
    ASSERT_EQ(x.reward, y.reward) << "vector step " << i;
  }
}

// A test name from an env spec.
inline std::string ConformanceName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name;
  for (char c : info.param) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name;
}

}  // namespace linklab::envs
