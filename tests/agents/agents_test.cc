// Conformance over every registered agent, and the shared training loop.

#include <gtest/gtest.h>

#include <filesystem>

#include "agents/trainer.h"
#include "envs/registry.h"
#include "tests/agents/small_agent.h"

namespace linklab::agents {
namespace {

namespace fs = std::filesystem;

struct Built {
  std::unique_ptr<envs::VectorEnv> env;
  std::unique_ptr<Agent> agent;
};

// Agent `algo` on env `id` with small budgets so that updates happen within a few thousand
// steps.
Built Make(const std::string& algo, const std::string& id, int64_t total_steps, uint64_t seed = 1) {
  Built s;
  envs::VectorOptions o;
  o.num_envs = 2;
  s.env = envs::MakeVectorEnv(id, envs::ResolveEnvParams(id, {}, "test"), o);
  s.agent = linklab::testing::MakeSmallAgent(algo, *s.env, total_steps, seed);
  return s;
}

// Combinations an agent cannot handle must be refused at construction (checked below).
bool Supports(const std::string& algo, const std::string& id) {
  return !(algo == "dqn" && id == "Pendulum-v1");
}

class AgentConformance : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(AgentConformance, ActsInsideTheActionSpace) {
  const auto& [algo, id] = GetParam();
  if (!Supports(algo, id)) {
    EXPECT_THROW(Make(algo, id, 1000), std::invalid_argument);
    return;
  }
  Built s = Make(algo, id, 1000);
  const envs::Array obs = s.env->Reset(0).obs;
  for (bool explore : {true, false}) {
    const envs::Array actions = s.agent->Act(obs, 2, explore);
    const int64_t k = s.env->single_action_space().size();
    ASSERT_EQ(static_cast<int64_t>(actions.size()), 2 * k);
    for (int i = 0; i < 2; ++i) {
      const envs::Array a(actions.begin() + i * k, actions.begin() + (i + 1) * k);
      EXPECT_TRUE(s.env->single_action_space().Contains(a))
          << s.env->single_action_space().Mismatch(a);
    }
  }
}

TEST_P(AgentConformance, SaveLoadRoundTripKeepsThePolicy) {
  const auto& [algo, id] = GetParam();
  if (!Supports(algo, id)) return;  // refused at construction, checked above
  Built trained = Make(algo, id, 1200);
  core::MetricsLog metrics;
  TrainOptions opts;
  opts.total_steps = 1200;
  opts.progress = false;
  Train(*trained.agent, *trained.env, opts, metrics);
  if (algo == "dqn" || algo == "ppo") {
    EXPECT_TRUE(metrics.Has("train/updates")) << "no update ran";
  }
  const std::string dir = ::testing::TempDir() + "/agent_" + algo + "_" + id;
  fs::remove_all(dir);
  fs::create_directories(dir);
  trained.agent->Save(dir);

  Built fresh = Make(algo, id, 1200, /*seed=*/99);  // different initial weights
  fresh.agent->Load(dir);
  core::Rng rng(5);
  envs::Array obs;
  for (int i = 0; i < 32 * trained.env->single_observation_space().size(); ++i) {
    obs.push_back(static_cast<float>(rng.Uniform(-0.2, 0.2)));
  }
  // Deterministic policies agree; so do exploring ones, whose generators were restored too.
  EXPECT_EQ(trained.agent->Act(obs, 32, false), fresh.agent->Act(obs, 32, false));
  EXPECT_EQ(trained.agent->Act(obs, 32, true), fresh.agent->Act(obs, 32, true));
}

std::vector<std::tuple<std::string, std::string>> Cases() {
  std::vector<std::tuple<std::string, std::string>> out;
  for (const auto& algo : AgentRegistry().Names()) {
    for (const char* id : {"CartPole-v1", "Pendulum-v1"}) out.emplace_back(algo, id);
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    AllRegistered, AgentConformance, ::testing::ValuesIn(Cases()),
    [](const ::testing::TestParamInfo<std::tuple<std::string, std::string>>& info) {
      std::string name = std::get<0>(info.param) + "_" + std::get<1>(info.param);
      for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

TEST(Ppo, CheckpointOfAnotherShapeIsRefused) {
  Built a = Make("ppo", "CartPole-v1", 100);
  const std::string dir = ::testing::TempDir() + "/ppo_shape";
  fs::remove_all(dir);
  fs::create_directories(dir);
  a.agent->Save(dir);
  envs::VectorOptions o;
  auto env = envs::MakeVectorEnv("CartPole-v1", envs::ResolveEnvParams("CartPole-v1", {}, "t"), o);
  const auto& entry = AgentRegistry().Find("ppo");
  const core::Params small = core::Params::Resolve(
      entry.params, {{"hidden_sizes", {"32,32", "x"}}, {"num_steps", {"64", "x"}}}, "[agent]");
  auto b =
      entry.make(small, {env->single_observation_space(), env->single_action_space(), 2, 100, 1});
  try {
    b->Load(dir);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is for another model shape: checkpoint has 'mlp 0 "
                                         "tanh sizes 4 64 64 2', this model has 'mlp 0 tanh "
                                         "sizes 4 32 32 2'"),
              std::string::npos)
        << e.what();
  }
}

TEST(Dqn, RefusesContinuousActionsNamingTheSpace) {
  try {
    Make("dqn", "Pendulum-v1", 100);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()),
              "[agent] algo = 'dqn' needs a Discrete action space; the env has "
              "Box(-2, 2, (1,), float32)");
  }
}

TEST(FixedAgent, ActionMustBeInTheSpace) {
  envs::VectorOptions o;
  auto env = envs::MakeVectorEnv("CartPole-v1", envs::ResolveEnvParams("CartPole-v1", {}, "t"), o);
  const auto& entry = AgentRegistry().Find("fixed");
  AgentContext ctx{env->single_observation_space(), env->single_action_space(), 1, 10, 0};
  EXPECT_THROW(
      entry.make(core::Params::Resolve(entry.params, {{"action", {"3", "x"}}}, "[agent]"), ctx),
      std::invalid_argument);
  auto agent =
      entry.make(core::Params::Resolve(entry.params, {{"action", {"1", "x"}}}, "[agent]"), ctx);
  EXPECT_EQ(agent->Act({0, 0, 0, 0}, 1, true), (envs::Array{1.0f}));
}

TEST(Trainer, LogsEveryEpisodeOnceWithItsReturn) {
  // A fixed agent pushing right on CartPole: every episode ends by termination.
  envs::VectorOptions o;
  o.num_envs = 3;
  auto env = envs::MakeVectorEnv("CartPole-v1", envs::ResolveEnvParams("CartPole-v1", {}, "t"), o);
  const auto& entry = AgentRegistry().Find("fixed");
  AgentContext ctx{env->single_observation_space(), env->single_action_space(), 3, 600, 0};
  auto agent =
      entry.make(core::Params::Resolve(entry.params, {{"action", {"1", "x"}}}, "[agent]"), ctx);
  core::MetricsLog metrics;
  TrainOptions opts;
  opts.total_steps = 600;
  opts.progress = false;
  const TrainResult r = Train(*agent, *env, opts, metrics);
  const auto& t = metrics.Get("train/episodes");
  EXPECT_EQ(r.env_steps, 600);
  EXPECT_EQ(static_cast<int64_t>(t.rows), r.episodes);
  // Pushing one way topples the pole in 8 to 11 steps; the reward is 1 per step.
  for (size_t i = 0; i < t.rows; ++i) {
    EXPECT_EQ(t.Column("return")[i], t.Column("length")[i]);
    EXPECT_GE(t.Column("length")[i], 8);
    EXPECT_LE(t.Column("length")[i], 11);
  }
  // 600 steps over 3 envs, one autoreset step after each ~10-step episode.
  EXPECT_GT(r.episodes, 45);
  EXPECT_LT(r.episodes, 70);
}

TEST(Evaluate, RunsExactlyTheRequestedEpisodes) {
  envs::VectorOptions o;
  o.num_envs = 4;
  auto env = envs::MakeVectorEnv("CartPole-v1", envs::ResolveEnvParams("CartPole-v1", {}, "t"), o);
  const auto& entry = AgentRegistry().Find("random");
  AgentContext ctx{env->single_observation_space(), env->single_action_space(), 4, 10, 7};
  auto agent = entry.make(core::Params::Resolve(entry.params, {}, "[agent]"), ctx);
  const EvalResult r = Evaluate(*agent, *env, 10, 3);
  EXPECT_EQ(r.returns.size(), 10u);
  EXPECT_GT(r.mean_return(), 8);
  EXPECT_LT(r.mean_return(), 60);
  EXPECT_THROW(Evaluate(*agent, *env, 0, 3), std::invalid_argument);
}

}  // namespace
}  // namespace linklab::agents
