#include "agents/trainer.h"

#include <cmath>
#include <deque>
#include <numeric>
#include <stdexcept>

#include "core/progress.h"
#include "core/serialize.h"
#include "core/text.h"
#include "envs/registry.h"

namespace linklab::agents {

std::string TrainState::Save() const {
  core::ByteWriter w;
  w.Put(step);
  w.Put(episodes);
  w.Put(next_checkpoint);
  w.PutVector(obs);
  w.PutVector(valid);
  w.PutVector(recent);
  return w.data();
}

TrainState TrainState::Load(const std::string& data, const std::string& what) {
  core::ByteReader r(data, what);
  TrainState s;
  s.step = r.Get<int64_t>();
  s.episodes = r.Get<int64_t>();
  s.next_checkpoint = r.Get<int64_t>();
  s.obs = r.GetVector<float>();
  s.valid = r.GetVector<uint8_t>();
  s.recent = r.GetVector<double>();
  r.ExpectEnd();
  return s;
}

namespace {
double Mean(const std::deque<double>& v) {
  return v.empty() ? std::nan("") : std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}
}  // namespace

TrainResult Train(Agent& agent, envs::VectorEnv& env, const TrainOptions& options,
                  core::MetricsLog& metrics, const CheckpointFn& checkpoint,
                  const TrainState* resume) {
  const int n = env.num_envs();
  TrainState st;
  if (resume) {
    st = *resume;
    if (static_cast<int>(st.valid.size()) != n ||
        static_cast<int64_t>(st.obs.size()) != n * env.single_observation_space().size()) {
      throw std::runtime_error(
          "checkpoint was taken with another number of envs or another "
          "observation size");
    }
  } else {
    st.obs = env.Reset(options.seed).obs;
    st.valid.assign(n, 1);
    st.next_checkpoint = options.checkpoint_every;
  }
  std::deque<double> recent(st.recent.begin(), st.recent.end());
  core::Progress progress("train", options.total_steps, "steps", options.progress, st.step);
  std::string latest;
  while (st.step < options.total_steps) {
    const Array actions = agent.Act(st.obs, n, true);
    const envs::VectorStep& res = env.Step(actions);
    agent.Observe({st.obs, actions, res, st.valid});
    st.step += n;
    for (int i = 0; i < n; ++i) {
      const bool done = res.terminated[i] || res.truncated[i];
      if (st.valid[i] && done && res.info[i].Has("episode_return")) {
        const double ret = res.info[i].Get("episode_return");
        metrics.Add("train/episodes", {{"step", static_cast<double>(st.step)},
                                       {"env", static_cast<double>(i)},
                                       {"return", ret},
                                       {"length", res.info[i].Get("episode_length")}});
        recent.push_back(ret);
        if (recent.size() > 100) recent.pop_front();
        ++st.episodes;
      }
      st.valid[i] = !done;
    }
    st.obs = res.obs;
    core::Row row = agent.Update(st.step);
    if (!row.empty()) {
      row.insert(row.begin(), {"step", static_cast<double>(st.step)});
      metrics.Add("train/updates", row);
      latest.clear();
      for (size_t k = 1; k < row.size() && k < 3; ++k) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " | %s %.4g", row[k].first.c_str(), row[k].second);
        latest += buf;
      }
    }
    if (progress.Due()) {
      char buf[64] = "";
      if (!recent.empty()) {
        std::snprintf(buf, sizeof buf, "return %.1f (last %zu)", Mean(recent), recent.size());
      }
      progress.Update(st.step, buf + latest);
    }
    if (st.next_checkpoint > 0 && st.step >= st.next_checkpoint && checkpoint) {
      st.next_checkpoint += options.checkpoint_every;
      st.recent.assign(recent.begin(), recent.end());
      checkpoint(st);
    }
  }
  st.recent.assign(recent.begin(), recent.end());
  TrainResult out;
  out.env_steps = st.step;
  out.episodes = st.episodes;
  out.seconds = progress.ElapsedSeconds();
  out.mean_return_last100 = Mean(recent);
  out.final_state = st;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%lld episodes, return %.1f (last 100)",
                static_cast<long long>(out.episodes), out.mean_return_last100);
  progress.Update(st.step);
  progress.Finish(buf);
  return out;
}

models::PolicyArtefact ExportPolicy(const Agent& agent, envs::VectorEnv& env) {
  models::PolicyArtefact a = agent.ExportPolicy();
  if (const auto* n = envs::FindObsNormalizer(env)) {
    a.normalizer =
        models::ObsNormalizer{n->stats().mean(), n->stats().var(), n->clip(), n->epsilon()};
  }
  return a;
}

double EvalResult::mean_return() const {
  if (returns.empty()) return std::nan("");
  return std::accumulate(returns.begin(), returns.end(), 0.0) / returns.size();
}

double EvalResult::std_return() const {
  if (returns.empty()) return std::nan("");
  const double m = mean_return();
  double s = 0.0;
  for (double r : returns) s += (r - m) * (r - m);
  return std::sqrt(s / returns.size());
}

EvalResult Evaluate(Agent& agent, envs::VectorEnv& env, int episodes, uint64_t seed, bool explore) {
  if (episodes < 1) throw std::invalid_argument("episodes must be >= 1");
  const int n = env.num_envs();
  std::vector<int> target(n, episodes / n), done_count(n, 0);
  for (int i = 0; i < episodes % n; ++i) ++target[i];
  EvalResult out;
  std::vector<uint8_t> valid(n, 1);
  Array obs = env.Reset(seed).obs;
  int finished = 0;
  while (finished < episodes) {
    const Array actions = agent.Act(obs, n, explore);
    const envs::VectorStep& res = env.Step(actions);
    for (int i = 0; i < n; ++i) {
      const bool done = res.terminated[i] || res.truncated[i];
      if (valid[i] && done && done_count[i] < target[i]) {
        out.returns.push_back(res.info[i].Get("episode_return"));
        out.lengths.push_back(res.info[i].Get("episode_length"));
        ++done_count[i];
        ++finished;
      }
      valid[i] = !done;
    }
    obs = res.obs;
  }
  return out;
}

}  // namespace linklab::agents
