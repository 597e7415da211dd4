// PPO (Schulman et al. 2017) following CleanRL's ppo.py / ppo_continuous_action.py: GAE,
// clipped surrogate, optional value clipping, entropy bonus, minibatch epochs, learning-rate
// annealing, advantage normalisation, orthogonal initialisation, early stop on a target KL.
// Discrete actions use a categorical policy; Box actions a diagonal Gaussian with a
// state-independent log-std (sampled actions are clipped to the bounds for the env, the
// unclipped ones are learned from). Truncated episodes bootstrap: gamma * V(last obs) is
// added to the last reward. Steps that were autoresets (next-step autoreset) are masked out.
//
//   obs ──► actor MLP (hidden, tanh) ──► logits | Gaussian mean   (+ log-std vector)
//   obs ──► critic MLP (hidden, tanh) ──► V(s)

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "agents/agent.h"
#include "agents/torch_nets.h"
#include "core/files.h"
#include "core/limits.h"
#include "core/serialize.h"

namespace linklab::agents {
namespace {

constexpr double kLog2Pi = 1.8378770664093453;

class Ppo : public Agent {
 public:
  Ppo(const core::Params& p, const AgentContext& c)
      : obs_space_(c.observation_space),
        act_space_(c.action_space),
        discrete_(c.action_space.is_discrete()),
        num_envs_(c.num_envs),
        obs_size_(c.observation_space.size()),
        total_steps_(c.total_steps),
        num_steps_(p.Int("num_steps")),
        lr_(p.Double("learning_rate")),
        anneal_lr_(p.Bool("anneal_lr")),
        gamma_(p.Double("gamma")),
        lambda_(p.Double("gae_lambda")),
        num_minibatches_(p.Int("num_minibatches")),
        update_epochs_(p.Int("update_epochs")),
        norm_adv_(p.Bool("norm_adv")),
        clip_coef_(p.Double("clip_coef")),
        clip_vloss_(p.Bool("clip_vloss")),
        ent_coef_(p.Double("ent_coef")),
        vf_coef_(p.Double("vf_coef")),
        max_grad_norm_(p.Double("max_grad_norm")),
        target_kl_(p.Double("target_kl")),
        rng_(core::Rng::Derive(c.seed, 202)) {
    if (c.observation_space.kind() != envs::Space::Kind::kBox) {
      throw std::invalid_argument(
          "[agent] algo = 'ppo' needs a Box observation space; the env has " +
          c.observation_space.ToString());
    }
    if (!discrete_ && act_space_.kind() != envs::Space::Kind::kBox) {
      throw std::invalid_argument(
          "[agent] algo = 'ppo' needs a Discrete or Box action space; the "
          "env has " +
          act_space_.ToString());
    }
    ConfigureTorchThreads(static_cast<int>(p.Int("torch_threads")));
    act_size_ = act_space_.size();
    out_size_ = discrete_ ? act_space_.n() : act_size_;
    MlpSpec actor, critic;
    actor.activation = critic.activation =
        ParseActivation(p.String("activation"), "[agent] activation");
    actor.sizes = critic.sizes = {obs_size_};
    for (auto h : ParseHiddenSizes(p.String("hidden_sizes"), "[agent] hidden_sizes")) {
      actor.sizes.push_back(h);
      critic.sizes.push_back(h);
    }
    actor.sizes.push_back(out_size_);
    critic.sizes.push_back(1);
    torch::manual_seed(c.seed);
    actor_ = params_.AddMlp(actor, Init::kOrthogonal, 0.01);
    critic_ = params_.AddMlp(critic, Init::kOrthogonal, 1.0);
    if (!discrete_) {
      log_std_ = params_.AddTensor({1, act_size_}, static_cast<float>(p.Double("log_std_init")));
    }
    params_.Finalize();
    optimizer_ = std::make_unique<torch::optim::Adam>(
        std::vector<torch::Tensor>{params_.flat()},
        torch::optim::AdamOptions(lr_).eps(p.Double("adam_eps")));
    // Refuse a rollout this machine cannot hold before allocating: per slot the observation,
    // action and five scalars, and about as much again for the advantages and minibatches of
    // an update.
    core::CheckMemory(
        static_cast<double>(num_steps_) * num_envs_ * (2.0 * (obs_size_ + act_size_) + 10) * 4,
        "[agent] num_steps = " + std::to_string(num_steps_),
        "the rollout (num_envs = " + std::to_string(num_envs_) + ")");
    const int64_t slots = num_steps_ * num_envs_;
    obs_.resize(slots * obs_size_);
    actions_.resize(slots * act_size_);
    logprob_.resize(slots);
    value_.resize(slots);
    reward_.resize(slots);
    done_.resize(slots);
    valid_.resize(slots);
  }

  Array Act(const Array& obs, int rows, bool explore) override {
    out_.resize(static_cast<size_t>(rows) * out_size_);
    MlpForward(params_.spec(actor_), params_.MlpData(actor_), obs.data(), rows, out_.data());
    Array env_actions(static_cast<size_t>(rows) * act_size_);
    last_actions_.assign(static_cast<size_t>(rows) * act_size_, 0.0f);
    last_logprob_.assign(rows, 0.0f);
    for (int r = 0; r < rows; ++r) {
      const float* o = out_.data() + r * out_size_;
      if (discrete_) {
        // log-softmax, then sample (or take the most likely action).
        const float mx = *std::max_element(o, o + out_size_);
        double z = 0.0;
        for (int64_t k = 0; k < out_size_; ++k) z += std::exp(o[k] - mx);
        const double log_z = mx + std::log(z);
        int64_t a = std::max_element(o, o + out_size_) - o;
        if (explore) {
          double u = rng_.Uniform(), cum = 0.0;
          for (a = 0; a < out_size_ - 1; ++a) {
            cum += std::exp(o[a] - log_z);
            if (u < cum) break;
          }
        }
        env_actions[r] = last_actions_[r] = static_cast<float>(a);
        last_logprob_[r] = static_cast<float>(o[a] - log_z);
      } else {
        const float* log_std = params_.tensor(log_std_).data_ptr<float>();
        double logp = 0.0;
        for (int64_t k = 0; k < act_size_; ++k) {
          const double noise = explore ? rng_.Normal() : 0.0;
          const double a = o[k] + std::exp(log_std[k]) * noise;
          last_actions_[r * act_size_ + k] = static_cast<float>(a);
          logp += -0.5 * noise * noise - log_std[k] - 0.5 * kLog2Pi;
          env_actions[r * act_size_ + k] =
              static_cast<float>(std::clamp(a, act_space_.low()[k], act_space_.high()[k]));
        }
        last_logprob_[r] = static_cast<float>(logp);
      }
    }
    if (explore) {
      last_value_.resize(rows);
      MlpForward(params_.spec(critic_), params_.MlpData(critic_), obs.data(), rows,
                 last_value_.data());
    }
    return env_actions;
  }

  void Observe(const Transition& t) override {
    const int64_t base = pos_ * num_envs_;
    std::copy(t.obs.begin(), t.obs.end(), obs_.begin() + base * obs_size_);
    std::copy(last_actions_.begin(), last_actions_.end(), actions_.begin() + base * act_size_);
    std::vector<float> final_value;
    for (int i = 0; i < num_envs_; ++i) {
      const int64_t s = base + i;
      logprob_[s] = last_logprob_[i];
      value_[s] = last_value_[i];
      double reward = t.result.reward[i];
      if (t.result.truncated[i] && !t.result.terminated[i]) {
        // Bootstrap a time limit from the value of the real last observation.
        if (final_value.empty()) {
          final_value.resize(num_envs_);
          MlpForward(params_.spec(critic_), params_.MlpData(critic_), t.result.obs.data(),
                     num_envs_, final_value.data());
        }
        reward += gamma_ * final_value[i];
      }
      reward_[s] = static_cast<float>(reward);
      done_[s] = t.result.terminated[i] || t.result.truncated[i];
      valid_[s] = t.valid[i];
    }
    next_obs_ = t.result.obs;
    ++pos_;
  }

  core::Row Update(int64_t env_steps) override {
    if (pos_ < num_steps_) return {};
    pos_ = 0;
    const int64_t num_updates = std::max<int64_t>(
        1, (total_steps_ + num_steps_ * num_envs_ - 1) / (num_steps_ * num_envs_));
    const double lr =
        anneal_lr_ ? lr_ * std::max(0.0, 1.0 - static_cast<double>(updates_done_) / num_updates)
                   : lr_;
    for (auto& group : optimizer_->param_groups()) {
      static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
    }
    ++updates_done_;

    // Generalised advantage estimation, per env, backwards in time.
    std::vector<float> next_value(num_envs_);
    MlpForward(params_.spec(critic_), params_.MlpData(critic_), next_obs_.data(), num_envs_,
               next_value.data());
    std::vector<float> adv(num_steps_ * num_envs_, 0.0f), ret(num_steps_ * num_envs_, 0.0f);
    for (int i = 0; i < num_envs_; ++i) {
      double last = 0.0;
      for (int64_t t = num_steps_ - 1; t >= 0; --t) {
        const int64_t s = t * num_envs_ + i;
        if (!valid_[s]) {
          last = 0.0;
          continue;
        }
        const double v_next = t == num_steps_ - 1 ? next_value[i] : value_[s + num_envs_];
        const double nonterminal = done_[s] ? 0.0 : 1.0;
        const double delta = reward_[s] + gamma_ * nonterminal * v_next - value_[s];
        last = delta + gamma_ * lambda_ * nonterminal * last;
        adv[s] = static_cast<float>(last);
        ret[s] = static_cast<float>(last + value_[s]);
      }
    }

    // The valid samples, as tensors.
    std::vector<int64_t> index;
    for (int64_t s = 0; s < num_steps_ * num_envs_; ++s) {
      if (valid_[s]) index.push_back(s);
    }
    const int64_t n = static_cast<int64_t>(index.size());
    if (n == 0) return {};
    auto gather = [&](const std::vector<float>& src, int64_t width) {
      torch::Tensor out = torch::empty({n, width});
      float* dst = out.data_ptr<float>();
      for (int64_t k = 0; k < n; ++k) {
        std::copy_n(src.data() + index[k] * width, width, dst + k * width);
      }
      return out;
    };
    const torch::Tensor b_obs = gather(obs_, obs_size_);
    const torch::Tensor b_act = gather(actions_, act_size_);  // [n, act_size]
    const torch::Tensor b_logp = gather(logprob_, 1).view({n});
    const torch::Tensor b_val = gather(value_, 1).view({n});
    const torch::Tensor b_adv = gather(adv, 1).view({n});
    const torch::Tensor b_ret = gather(ret, 1).view({n});
    const torch::Tensor b_act_index = discrete_ ? b_act.to(torch::kLong).view({n, 1}) : b_act;

    std::vector<int64_t> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    const int64_t mb_size = (n + num_minibatches_ - 1) / num_minibatches_;
    double pg_sum = 0, v_sum = 0, ent_sum = 0, kl_sum = 0, clip_sum = 0;
    int64_t steps = 0;
    for (int64_t epoch = 0; epoch < update_epochs_; ++epoch) {
      for (int64_t k = n - 1; k > 0; --k) {
        std::swap(perm[k], perm[static_cast<int64_t>(rng_.UniformInt(k + 1))]);
      }
      double epoch_kl = 0.0;
      int64_t epoch_mbs = 0;
      for (int64_t start = 0; start < n; start += mb_size) {
        const int64_t len = std::min(mb_size, n - start);
        const torch::Tensor idx = torch::from_blob(perm.data() + start, {len}, torch::kLong);
        const MinibatchStats st = Step(b_obs.index_select(0, idx), b_act_index.index_select(0, idx),
                                       b_logp.index_select(0, idx), b_val.index_select(0, idx),
                                       b_adv.index_select(0, idx), b_ret.index_select(0, idx));
        pg_sum += st.pg;
        v_sum += st.v;
        ent_sum += st.entropy;
        kl_sum += st.kl;
        clip_sum += st.clipfrac;
        epoch_kl += st.kl;
        ++epoch_mbs;
        ++steps;
      }
      if (target_kl_ > 0 && epoch_kl / epoch_mbs > target_kl_) break;
    }
    // Explained variance of the value predictions made during the rollout.
    const double var_ret = b_ret.var(/*unbiased=*/false).item<double>();
    const double explained =
        var_ret > 0 ? 1.0 - (b_ret - b_val).var(false).item<double>() / var_ret : std::nan("");
    return {{"policy_loss", pg_sum / steps},  {"value_loss", v_sum / steps},
            {"entropy", ent_sum / steps},     {"approx_kl", kl_sum / steps},
            {"clipfrac", clip_sum / steps},   {"learning_rate", lr},
            {"explained_variance", explained}};
  }

  void Save(const std::string& dir) const override {
    SaveTensors(dir + "/ppo_params.pt", params_.Manifest(), {params_.flat()});
    torch::save(*optimizer_, dir + "/ppo_optimizer.pt");
    core::ByteWriter w;
    w.Put(rng_);
    w.Put(pos_);
    w.Put(updates_done_);
    for (const auto* v : {&obs_, &actions_, &logprob_, &value_, &reward_, &next_obs_}) {
      w.PutVector(*v);
    }
    w.PutVector(done_);
    w.PutVector(valid_);
    core::WriteFileAtomic(dir + "/ppo_state.bin", w.data());
  }

  void Load(const std::string& dir) override {
    LoadTensors(dir + "/ppo_params.pt", params_.Manifest(), {params_.flat()});
    LoadOptimizer(*optimizer_, dir + "/ppo_optimizer.pt");
    const std::string path = dir + "/ppo_state.bin";
    core::ByteReader r(core::ReadFile(path), path);
    rng_ = r.Get<core::Rng>();
    pos_ = r.Get<int64_t>();
    updates_done_ = r.Get<int64_t>();
    for (auto* v : {&obs_, &actions_, &logprob_, &value_, &reward_, &next_obs_}) {
      const size_t expected = v->size();
      *v = r.GetVector<float>();
      if (v != &next_obs_ && v->size() != expected) {
        throw std::runtime_error(path + ": rollout of another size (num_steps or num_envs differ)");
      }
    }
    done_ = r.GetVector<uint8_t>();
    valid_ = r.GetVector<uint8_t>();
    r.ExpectEnd();
  }

  // The actor: categorical argmax (Discrete) or the Gaussian mean clipped to the bounds (Box).
  models::PolicyArtefact ExportPolicy() const override {
    models::PolicyArtefact a = params_.Artefact(actor_, "ppo", obs_space_, act_space_);
    a.head.kind = discrete_ ? models::ActionHead::Kind::kCategorical
                            : models::ActionHead::Kind::kGaussianMean;
    a.head.clip_to_bounds = true;
    return a;
  }

 private:
  struct MinibatchStats {
    double pg, v, entropy, kl, clipfrac;
  };

  MinibatchStats Step(const torch::Tensor& obs, const torch::Tensor& act,
                      const torch::Tensor& old_logp, const torch::Tensor& old_val,
                      torch::Tensor adv, const torch::Tensor& ret) {
    const torch::Tensor out = params_.Forward(actor_, obs);
    const torch::Tensor value = params_.Forward(critic_, obs).view({-1});
    torch::Tensor logp, entropy;
    if (discrete_) {
      const torch::Tensor logp_all = torch::log_softmax(out, 1);
      logp = logp_all.gather(1, act).squeeze(1);
      entropy = -(logp_all.exp() * logp_all).sum(1);
    } else {
      const torch::Tensor& log_std = params_.tensor(log_std_);
      const torch::Tensor z = (act - out) * torch::exp(-log_std);
      logp = (-0.5 * z * z - log_std - 0.5 * kLog2Pi).sum(1);
      entropy = (log_std + 0.5 + 0.5 * kLog2Pi).sum(1).expand({obs.size(0)});
    }
    const torch::Tensor logratio = logp - old_logp;
    const torch::Tensor ratio = logratio.exp();
    double kl, clipfrac;
    {
      torch::NoGradGuard no_grad;
      kl = ((ratio - 1) - logratio).mean().item<double>();
      clipfrac = ((ratio - 1.0).abs() > clip_coef_).to(torch::kFloat).mean().item<double>();
    }
    if (norm_adv_ && adv.size(0) > 1) adv = (adv - adv.mean()) / (adv.std() + 1e-8);
    const torch::Tensor pg_loss =
        torch::max(-adv * ratio, -adv * torch::clamp(ratio, 1 - clip_coef_, 1 + clip_coef_)).mean();
    torch::Tensor v_loss;
    if (clip_vloss_) {
      const torch::Tensor unclipped = (value - ret).pow(2);
      const torch::Tensor clipped =
          (old_val + torch::clamp(value - old_val, -clip_coef_, clip_coef_) - ret).pow(2);
      v_loss = 0.5 * torch::max(unclipped, clipped).mean();
    } else {
      v_loss = 0.5 * (value - ret).pow(2).mean();
    }
    const torch::Tensor ent = entropy.mean();
    const torch::Tensor loss = pg_loss - ent_coef_ * ent + vf_coef_ * v_loss;
    params_.grad().zero_();
    loss.backward();
    if (max_grad_norm_ > 0) params_.ClipGradNorm(max_grad_norm_);
    optimizer_->step();
    return {pg_loss.item<double>(), v_loss.item<double>(), ent.item<double>(), kl, clipfrac};
  }

  envs::Space obs_space_, act_space_;
  bool discrete_;
  int num_envs_;
  int64_t obs_size_, act_size_ = 0, out_size_ = 0, total_steps_, num_steps_;
  double lr_;
  bool anneal_lr_;
  double gamma_, lambda_;
  int64_t num_minibatches_, update_epochs_;
  bool norm_adv_;
  double clip_coef_;
  bool clip_vloss_;
  double ent_coef_, vf_coef_, max_grad_norm_, target_kl_;
  core::Rng rng_;
  ParamSet params_;
  int actor_ = 0, critic_ = 0, log_std_ = 0;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  // Rollout, [num_steps, num_envs, ...] row-major.
  std::vector<float> obs_, actions_, logprob_, value_, reward_, next_obs_;
  std::vector<uint8_t> done_, valid_;
  int64_t pos_ = 0, updates_done_ = 0;
  // From the last Act(explore = true).
  std::vector<float> out_, last_actions_, last_logprob_, last_value_;
};

}  // namespace

void RegisterPpo(AgentRegistryType& registry) {
  using namespace core;
  registry.Add(
      {"ppo",
       "PPO (libtorch): GAE, clipped surrogate, minibatch epochs; Discrete or Box actions",
       {
           DoubleParam("learning_rate", 2.5e-4, "Adam learning rate", 0.0, 1.0),
           BoolParam("anneal_lr", true, "anneal the learning rate linearly to 0"),
           DoubleParam("adam_eps", 1e-5, "Adam epsilon", 0.0, 1.0),
           IntParam("num_steps", 128, "rollout length per env between updates", 1),
           DoubleParam("gamma", 0.99, "discount factor", 0.0, 1.0),
           DoubleParam("gae_lambda", 0.95, "GAE lambda", 0.0, 1.0),
           IntParam("num_minibatches", 4, "minibatches per epoch", 1),
           IntParam("update_epochs", 4, "epochs over each rollout", 1),
           BoolParam("norm_adv", true, "normalise advantages per minibatch"),
           DoubleParam("clip_coef", 0.2, "surrogate (and value) clipping coefficient", 0.0),
           BoolParam("clip_vloss", true, "clip the value loss as in the PPO paper's code"),
           DoubleParam("ent_coef", 0.01, "entropy bonus coefficient", 0.0),
           DoubleParam("vf_coef", 0.5, "value loss coefficient", 0.0),
           DoubleParam("max_grad_norm", 0.5, "clip the gradient's L2 norm; 0: no clipping", 0.0),
           DoubleParam("target_kl", 0.0, "stop an update's epochs past this KL; 0: never", 0.0),
           StringParam("hidden_sizes", "64,64", "hidden layer sizes, comma-separated"),
           StringParam("activation", "tanh", "hidden activation", {"tanh", "relu"}),
           DoubleParam("log_std_init", 0.0, "initial log-std of Gaussian actions (Box only)"),
           IntParam("torch_threads", 1, "libtorch/BLAS threads", 1, 256),
       },
       [](const Params& p, const AgentContext& c) { return std::make_unique<Ppo>(p, c); },
       // Save/Load round-trip exactly; ~55 k env steps/s with these defaults on CartPole-v1
       // (results/reference/bench/agents.json).
       FixedTraits({/*snapshot=*/true, /*own_process=*/false, /*cost_us_per_step=*/18.0})});
}

}  // namespace linklab::agents
