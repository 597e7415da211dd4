// The policy artefact of every learning agent on every registered env acts exactly like the
// agent's own greedy Act: train a little, export, write, load with the torch-free loader,
// compare on a batch of raw observations (normalised for the agent when the env normalises).

#include <gtest/gtest.h>

#include <cmath>
#include <ostream>
#include <set>

#include "agents/trainer.h"
#include "envs/registry.h"
#include "models/policy.h"
#include "tests/agents/small_agent.h"

namespace linklab::agents {
namespace {

struct Case {
  std::string algo, env;
  bool normalize;
};

// Raw observations: some from a random rollout of the env, some sampled from its space
// (these reach past where training went, so normalised values also hit the clip).
envs::Array RawObservations(const std::string& id, int rows) {
  const core::Params params = envs::ResolveEnvParams(id, {}, "test");
  auto env = envs::MakeEnv(id, params);
  core::Rng rng(11);
  envs::Array out = env->Reset(7).obs;
  while (static_cast<int>(out.size()) < rows / 2 * env->observation_space().size()) {
    const envs::StepResult r = env->Step(env->action_space().Sample(rng));
    out.insert(out.end(), r.obs.begin(), r.obs.end());
    if (r.terminated || r.truncated) env->Reset();
  }
  while (static_cast<int>(out.size()) < rows * env->observation_space().size()) {
    const envs::Array x = env->observation_space().Sample(rng);
    out.insert(out.end(), x.begin(), x.end());
  }
  return out;
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.algo << " on " << c.env << (c.normalize ? ", normalised" : "");
}

class PolicyRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(PolicyRoundTrip, LoadedArtefactActsLikeTheAgent) {
  const Case& c = GetParam();
  envs::VectorOptions o;
  o.num_envs = 2;
  o.normalize_obs = c.normalize;
  auto env = envs::MakeVectorEnv(c.env, envs::ResolveEnvParams(c.env, {}, "test"), o);
  constexpr int64_t kSteps = 1500;
  auto agent = linklab::testing::MakeSmallAgent(c.algo, *env, kSteps, 3);
  constexpr int kRows = 64;
  const envs::Array raw = RawObservations(c.env, kRows);
  const models::PolicyArtefact initial = agent->ExportPolicy();
  {
    // Untrained networks tell the observations apart, so a constant answer cannot pass for
    // a match (a briefly trained DQN on a constant reward may prefer one action everywhere).
    const envs::Array want = agent->Act(raw, kRows, false);
    EXPECT_EQ(models::Policy(initial).Act(raw, kRows), want);
    if (env->single_action_space().is_discrete()) {
      EXPECT_GT(std::set<float>(want.begin(), want.end()).size(), 1u);
    }
  }
  core::MetricsLog metrics;
  TrainOptions opts;
  opts.total_steps = kSteps;
  opts.progress = false;
  Train(*agent, *env, opts, metrics);
  ASSERT_TRUE(metrics.Has("train/updates")) << "no update ran";

  const models::PolicyArtefact exported = ExportPolicy(*agent, *env);
  EXPECT_NE(exported.params, initial.params) << "training changed nothing";
  EXPECT_EQ(exported.agent, c.algo);
  EXPECT_EQ(exported.observation_space, env->single_observation_space());
  EXPECT_EQ(exported.action_space, env->single_action_space());
  ASSERT_EQ(exported.normalizer.has_value(), c.normalize);
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& ch : name) ch = ch == '/' ? '_' : ch;
  const std::string path = ::testing::TempDir() + "/policy_" + name + ".bin";
  models::WritePolicy(path, exported);
  const models::Policy policy = models::Policy::Load(path);

  envs::Array seen = raw;  // what the agent sees: the env's normalised observations
  if (auto* n = envs::FindObsNormalizer(*env)) n->Apply(seen.data(), kRows);
  const envs::Array want = agent->Act(seen, kRows, /*explore=*/false);
  const envs::Array got = policy.Act(raw, kRows);
  ASSERT_EQ(got.size(), want.size());
  if (env->single_action_space().is_discrete()) {
    EXPECT_EQ(got, want);
  } else {
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5) << "row " << i;
  }
  // The normaliser is the env's, and it is the whole difference: the bare network acts on
  // normalised inputs as the agent does.
  if (c.normalize) {
    EXPECT_EQ(exported.normalizer->mean, envs::FindObsNormalizer(*env)->stats().mean());
    EXPECT_EQ(exported.normalizer->var, envs::FindObsNormalizer(*env)->stats().var());
    models::PolicyArtefact bare = exported;
    bare.normalizer.reset();
    EXPECT_EQ(models::Policy(bare).Act(seen, kRows), want);
  }
}

std::vector<Case> Cases() {
  std::vector<Case> out;
  for (const std::string algo : {"ppo", "dqn"}) {
    for (const auto& id : envs::EnvRegistry().Names()) {
      // DQN needs Discrete actions (it refuses the others, see agents_test).
      if (algo == "dqn" && !envs::MakeEnv(id)->action_space().is_discrete()) continue;
      for (bool normalize : {false, true}) out.push_back({algo, id, normalize});
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllClassicEnvs, PolicyRoundTrip, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.algo + "_" + info.param.env +
                                              (info.param.normalize ? "_normalised" : "");
                           for (char& ch : name) {
                             ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           }
                           return name;
                         });

TEST(PolicyExport, BaselinesExportConstantOrRefuse) {
  envs::VectorOptions o;
  auto env = envs::MakeVectorEnv("Pendulum-v1", envs::ResolveEnvParams("Pendulum-v1", {}, "t"), o);
  const AgentContext ctx{env->single_observation_space(), env->single_action_space(), 1, 10, 0};
  const auto& fixed = AgentRegistry().Find("fixed");
  auto agent =
      fixed.make(core::Params::Resolve(fixed.params, {{"action", {"0.5", "x"}}}, "[agent]"), ctx);
  const models::Policy policy(ExportPolicy(*agent, *env));
  const envs::Array obs = {1, 0, 0, 0, 1, 3};
  EXPECT_EQ(policy.Act(obs, 2), agent->Act(obs, 2, false));
  EXPECT_EQ(policy.Act(obs, 2), (envs::Array{0.5f, 0.5f}));

  const auto& random = AgentRegistry().Find("random");
  auto r = random.make(core::Params::Resolve(random.params, {}, "[agent]"), ctx);
  try {
    r->ExportPolicy();
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("random baseline has no policy artefact"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace linklab::agents
