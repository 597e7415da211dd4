// DQN (Mnih et al. 2015) with the options of CleanRL's dqn.py and SB3: replay buffer, target
// network (hard copy or Polyak), double DQN, MSE or Huber loss, linear epsilon-greedy
// schedule, gradient clipping, train frequency and gradient steps. Truncated episodes
// bootstrap from their real last observation (available thanks to next-step autoreset);
// only terminated ones cut the return.
//
//   obs ──► Q-MLP (hidden, relu) ──► Q(s, a) for every discrete action

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

#include "agents/agent.h"
#include "agents/torch_nets.h"
#include "core/files.h"
#include "core/limits.h"
#include "core/serialize.h"

namespace linklab::agents {
namespace {

class Dqn : public Agent {
 public:
  Dqn(const core::Params& p, const AgentContext& c)
      : obs_space_(c.observation_space),
        act_space_(c.action_space),
        obs_size_(c.observation_space.size()),
        total_steps_(c.total_steps),
        lr_(p.Double("learning_rate")),
        gamma_(p.Double("gamma")),
        tau_(p.Double("tau")),
        start_e_(p.Double("start_epsilon")),
        end_e_(p.Double("end_epsilon")),
        exploration_fraction_(p.Double("exploration_fraction")),
        buffer_size_(p.Int("buffer_size")),
        batch_size_(p.Int("batch_size")),
        learning_starts_(p.Int("learning_starts")),
        train_frequency_(p.Int("train_frequency")),
        gradient_steps_(p.Int("gradient_steps")),
        target_update_interval_(p.Int("target_update_interval")),
        max_grad_norm_(p.Double("max_grad_norm")),
        double_dqn_(p.Bool("double_dqn")),
        huber_(p.String("loss") == "huber"),
        rng_(core::Rng::Derive(c.seed, 101)) {
    if (!c.action_space.is_discrete()) {
      throw std::invalid_argument(
          "[agent] algo = 'dqn' needs a Discrete action space; the env has " +
          c.action_space.ToString());
    }
    if (c.observation_space.kind() != envs::Space::Kind::kBox) {
      throw std::invalid_argument(
          "[agent] algo = 'dqn' needs a Box observation space; the env has " +
          c.observation_space.ToString());
    }
    num_actions_ = c.action_space.n();
    ConfigureTorchThreads(static_cast<int>(p.Int("torch_threads")));
    MlpSpec spec;
    spec.sizes.push_back(obs_size_);
    for (auto h : ParseHiddenSizes(p.String("hidden_sizes"), "[agent] hidden_sizes")) {
      spec.sizes.push_back(h);
    }
    spec.sizes.push_back(num_actions_);
    spec.activation = ParseActivation(p.String("activation"), "[agent] activation");
    torch::manual_seed(c.seed);
    q_index_ = online_.AddMlp(spec, Init::kTorchDefault);
    online_.Finalize();
    target_.AddMlp(spec, Init::kTorchDefault);
    target_.Finalize();
    {
      torch::NoGradGuard no_grad;
      target_.flat().copy_(online_.flat());
    }
    optimizer_ = std::make_unique<torch::optim::Adam>(
        std::vector<torch::Tensor>{online_.flat()},
        torch::optim::AdamOptions(lr_).eps(p.Double("adam_eps")));
    // Refuse sizes this machine cannot hold before allocating: a transition is two observations,
    // an int64 action, a reward and a flag; a batch copies its transitions and runs through the
    // network (activations and gradients).
    core::CheckMemory(static_cast<double>(buffer_size_) * ((2.0 * obs_size_ + 2) * 4 + 8),
                      "[agent] buffer_size = " + std::to_string(buffer_size_), "the replay buffer");
    double widths = 0;
    for (int64_t w : spec.sizes) widths += static_cast<double>(w);
    core::CheckMemory(static_cast<double>(batch_size_) * (2.0 * obs_size_ + 3 + 8 * widths) * 4,
                      "[agent] batch_size = " + std::to_string(batch_size_), "one batch");
    const int64_t cap = buffer_size_;
    buf_obs_.resize(cap * obs_size_);
    buf_next_.resize(cap * obs_size_);
    buf_action_.resize(cap);
    buf_reward_.resize(cap);
    buf_not_done_.resize(cap);
    batch_obs_.resize(batch_size_ * obs_size_);
    batch_next_.resize(batch_size_ * obs_size_);
    batch_action_.resize(batch_size_);
    batch_reward_.resize(batch_size_);
    batch_not_done_.resize(batch_size_);
  }

  Array Act(const Array& obs, int rows, bool explore) override {
    Array actions(rows);
    const double eps = explore ? Epsilon() : 0.0;
    bool need_greedy = false;
    for (int r = 0; r < rows; ++r) {
      if (explore && rng_.Uniform() < eps) {
        actions[r] = static_cast<float>(rng_.UniformInt(num_actions_));
      } else {
        actions[r] = -1.0f;
        need_greedy = true;
      }
    }
    if (need_greedy) {
      q_values_.resize(static_cast<size_t>(rows) * num_actions_);
      MlpForward(online_.spec(q_index_), online_.MlpData(q_index_), obs.data(), rows,
                 q_values_.data());
      for (int r = 0; r < rows; ++r) {
        if (actions[r] >= 0.0f) continue;
        const float* q = q_values_.data() + r * num_actions_;
        actions[r] = static_cast<float>(std::max_element(q, q + num_actions_) - q);
      }
    }
    return actions;
  }

  void Observe(const Transition& t) override {
    const int n = static_cast<int>(t.valid.size());
    for (int i = 0; i < n; ++i) {
      if (!t.valid[i]) continue;
      const int64_t slot = pos_;
      std::copy_n(t.obs.data() + i * obs_size_, obs_size_, buf_obs_.data() + slot * obs_size_);
      std::copy_n(t.result.obs.data() + i * obs_size_, obs_size_,
                  buf_next_.data() + slot * obs_size_);
      buf_action_[slot] = static_cast<int64_t>(t.actions[i]);
      buf_reward_[slot] = static_cast<float>(t.result.reward[i]);
      buf_not_done_[slot] = t.result.terminated[i] ? 0.0f : 1.0f;
      pos_ = (pos_ + 1) % buffer_size_;
      size_ = std::min(size_ + 1, buffer_size_);
    }
  }

  core::Row Update(int64_t env_steps) override {
    const int64_t previous = env_steps_;
    env_steps_ = env_steps;
    if (env_steps <= learning_starts_ || size_ < batch_size_) return {};
    // Train once per train_frequency env steps crossed (several envs may cross several).
    const int64_t trains =
        env_steps / train_frequency_ - std::max(previous, learning_starts_) / train_frequency_;
    core::Row row;
    double loss_sum = 0.0, q_sum = 0.0;
    int64_t done = 0;
    for (int64_t k = 0; k < trains * gradient_steps_; ++k) {
      const auto [loss, q] = GradientStep();
      loss_sum += loss;
      q_sum += q;
      ++done;
    }
    const int64_t targets = env_steps / target_update_interval_ -
                            std::max(previous, learning_starts_) / target_update_interval_;
    if (targets > 0) {
      torch::NoGradGuard no_grad;
      if (tau_ >= 1.0)
        target_.flat().copy_(online_.flat());
      else
        target_.flat().mul_(1.0 - tau_).add_(online_.flat(), tau_);
    }
    if (done == 0) return {};
    return {{"loss", loss_sum / done}, {"q_mean", q_sum / done}, {"epsilon", Epsilon()}};
  }

  void Save(const std::string& dir) const override {
    SaveTensors(dir + "/dqn_params.pt", online_.Manifest(), {online_.flat(), target_.flat()});
    torch::save(*optimizer_, dir + "/dqn_optimizer.pt");
    core::ByteWriter w;
    w.Put(rng_);
    w.Put(env_steps_);
    w.Put(pos_);
    w.Put(size_);
    w.PutVector(buf_obs_);
    w.PutVector(buf_next_);
    w.PutVector(buf_action_);
    w.PutVector(buf_reward_);
    w.PutVector(buf_not_done_);
    core::WriteFileAtomic(dir + "/dqn_state.bin", w.data());
  }

  void Load(const std::string& dir) override {
    LoadTensors(dir + "/dqn_params.pt", online_.Manifest(), {online_.flat(), target_.flat()});
    LoadOptimizer(*optimizer_, dir + "/dqn_optimizer.pt");
    core::ByteReader r(core::ReadFile(dir + "/dqn_state.bin"), dir + "/dqn_state.bin");
    rng_ = r.Get<core::Rng>();
    env_steps_ = r.Get<int64_t>();
    pos_ = r.Get<int64_t>();
    size_ = r.Get<int64_t>();
    auto obs = r.GetVector<float>();
    auto next = r.GetVector<float>();
    auto action = r.GetVector<int64_t>();
    auto reward = r.GetVector<float>();
    auto not_done = r.GetVector<float>();
    r.ExpectEnd();
    if (obs.size() != buf_obs_.size() || action.size() != buf_action_.size()) {
      throw std::runtime_error(dir + "/dqn_state.bin: replay buffer of " +
                               std::to_string(action.size()) + " transitions, config asks for " +
                               std::to_string(buf_action_.size()));
    }
    buf_obs_ = std::move(obs);
    buf_next_ = std::move(next);
    buf_action_ = std::move(action);
    buf_reward_ = std::move(reward);
    buf_not_done_ = std::move(not_done);
  }

  // The online Q-network with a categorical (argmax) head.
  models::PolicyArtefact ExportPolicy() const override {
    models::PolicyArtefact a = online_.Artefact(q_index_, "dqn", obs_space_, act_space_);
    a.head.kind = models::ActionHead::Kind::kCategorical;
    return a;
  }

 private:
  double Epsilon() const {
    const double duration = exploration_fraction_ * total_steps_;
    if (duration <= 0) return end_e_;
    const double slope = (end_e_ - start_e_) / duration;
    return std::max(slope * env_steps_ + start_e_, end_e_);
  }

  std::pair<double, double> GradientStep() {
    for (int64_t b = 0; b < batch_size_; ++b) {
      const int64_t j = static_cast<int64_t>(rng_.UniformInt(size_));
      std::copy_n(buf_obs_.data() + j * obs_size_, obs_size_, batch_obs_.data() + b * obs_size_);
      std::copy_n(buf_next_.data() + j * obs_size_, obs_size_, batch_next_.data() + b * obs_size_);
      batch_action_[b] = buf_action_[j];
      batch_reward_[b] = buf_reward_[j];
      batch_not_done_[b] = buf_not_done_[j] * static_cast<float>(gamma_);
    }
    const auto obs = torch::from_blob(batch_obs_.data(), {batch_size_, obs_size_});
    const auto next = torch::from_blob(batch_next_.data(), {batch_size_, obs_size_});
    const auto action = torch::from_blob(batch_action_.data(), {batch_size_, 1}, torch::kLong);
    const auto reward = torch::from_blob(batch_reward_.data(), {batch_size_});
    const auto discount = torch::from_blob(batch_not_done_.data(), {batch_size_});
    torch::Tensor target;
    {
      torch::NoGradGuard no_grad;
      const torch::Tensor q_next_all = target_.Forward(q_index_, next);
      torch::Tensor q_next;
      if (double_dqn_) {
        const torch::Tensor best = online_.Forward(q_index_, next).argmax(1, true);
        q_next = q_next_all.gather(1, best).squeeze(1);
      } else {
        q_next = std::get<0>(q_next_all.max(1));
      }
      target = torch::addcmul(reward, discount, q_next);
    }
    const torch::Tensor q = online_.Forward(q_index_, obs).gather(1, action).squeeze(1);
    const torch::Tensor loss =
        huber_ ? torch::smooth_l1_loss(q, target) : torch::mse_loss(q, target);
    online_.grad().zero_();
    loss.backward();
    if (max_grad_norm_ > 0) online_.ClipGradNorm(max_grad_norm_);
    optimizer_->step();
    return {loss.item<double>(), q.mean().item<double>()};
  }

  envs::Space obs_space_, act_space_;
  int64_t obs_size_, num_actions_ = 0, total_steps_;
  double lr_, gamma_, tau_, start_e_, end_e_, exploration_fraction_;
  int64_t buffer_size_, batch_size_, learning_starts_, train_frequency_, gradient_steps_,
      target_update_interval_;
  double max_grad_norm_;
  bool double_dqn_, huber_;
  core::Rng rng_;
  ParamSet online_, target_;
  int q_index_ = 0;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  int64_t env_steps_ = 0, pos_ = 0, size_ = 0;
  std::vector<float> buf_obs_, buf_next_, buf_reward_, buf_not_done_;
  std::vector<int64_t> buf_action_;
  std::vector<float> batch_obs_, batch_next_, batch_reward_, batch_not_done_;
  std::vector<int64_t> batch_action_;
  std::vector<float> q_values_;
};

}  // namespace

void RegisterDqn(AgentRegistryType& registry) {
  using namespace core;
  registry.Add(
      {"dqn",
       "DQN (libtorch): replay, target network, double DQN, epsilon-greedy; Discrete actions",
       {
           DoubleParam("learning_rate", 2.5e-4, "Adam learning rate", 0.0, 1.0),
           DoubleParam("adam_eps", 1e-8, "Adam epsilon", 0.0, 1.0),
           IntParam("buffer_size", 10000, "replay buffer capacity (transitions)", 1),
           IntParam("batch_size", 128, "transitions per gradient step", 1),
           DoubleParam("gamma", 0.99, "discount factor", 0.0, 1.0),
           DoubleParam("tau", 1.0, "target update rate: 1 = hard copy, < 1 = Polyak", 0.0, 1.0),
           IntParam("target_update_interval", 500, "env steps between target updates", 1),
           DoubleParam("start_epsilon", 1.0, "exploration rate at the start", 0.0, 1.0),
           DoubleParam("end_epsilon", 0.05, "final exploration rate", 0.0, 1.0),
           DoubleParam("exploration_fraction", 0.5,
                       "fraction of total_steps over which epsilon decays", 0.0, 1.0),
           IntParam("learning_starts", 10000, "env steps before the first update", 0),
           IntParam("train_frequency", 10, "env steps between updates", 1),
           IntParam("gradient_steps", 1, "gradient steps per update", 1),
           BoolParam("double_dqn", false, "pick next actions with the online network"),
           StringParam("loss", "mse", "TD loss", {"mse", "huber"}),
           DoubleParam("max_grad_norm", 0.0, "clip the gradient's L2 norm; 0: no clipping", 0.0),
           StringParam("hidden_sizes", "120,84", "hidden layer sizes, comma-separated"),
           StringParam("activation", "relu", "hidden activation", {"relu", "tanh"}),
           IntParam("torch_threads", 1, "libtorch/BLAS threads", 1, 256),
       },
       [](const Params& p, const AgentContext& c) { return std::make_unique<Dqn>(p, c); },
       // Save/Load round-trip exactly (replay buffer included); ~41 k env steps/s on
       // CartPole-v1 (results/reference/bench/agents.json).
       FixedTraits({/*snapshot=*/true, /*own_process=*/false, /*cost_us_per_step=*/25.0})});
}

}  // namespace linklab::agents
