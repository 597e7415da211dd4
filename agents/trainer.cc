#include "agents/trainer.h"

#include <cmath>
#include <deque>
#include <numeric>
#include <stdexcept>

#include "core/progress.h"
#include "core/text.h"

namespace linklab::agents {

TrainResult Train(Agent& agent, envs::VectorEnv& env, const TrainOptions& options,
                  core::MetricsLog& metrics, const CheckpointFn& checkpoint) {
  const int n = env.num_envs();
  core::Progress progress("train", options.total_steps, "steps", options.progress);
  TrainResult out;
  std::deque<double> recent;  // returns of the last 100 episodes
  std::vector<uint8_t> valid(n, 1);
  Array obs = env.Reset(options.seed).obs;
  int64_t step = 0;
  int64_t next_checkpoint = options.checkpoint_every > 0 ? options.checkpoint_every : -1;
  std::string latest;
  while (step < options.total_steps) {
    const Array actions = agent.Act(obs, n, true);
    const envs::VectorStep& res = env.Step(actions);
    agent.Observe({obs, actions, res, valid});
    step += n;
    for (int i = 0; i < n; ++i) {
      const bool done = res.terminated[i] || res.truncated[i];
      if (valid[i] && done && res.info[i].Has("episode_return")) {
        const double ret = res.info[i].Get("episode_return");
        metrics.Add("train/episodes", {{"step", static_cast<double>(step)},
                                       {"env", static_cast<double>(i)},
                                       {"return", ret},
                                       {"length", res.info[i].Get("episode_length")}});
        recent.push_back(ret);
        if (recent.size() > 100) recent.pop_front();
        ++out.episodes;
      }
      valid[i] = !done;
    }
    obs = res.obs;
    core::Row row = agent.Update(step);
    if (!row.empty()) {
      row.insert(row.begin(), {"step", static_cast<double>(step)});
      metrics.Add("train/updates", row);
      latest.clear();
      for (size_t k = 1; k < row.size() && k < 3; ++k) {
        latest += " | " + row[k].first + " " + core::FormatDouble(std::round(row[k].second * 1e4) / 1e4);
      }
    }
    if (!recent.empty()) {
      const double mean = std::accumulate(recent.begin(), recent.end(), 0.0) / recent.size();
      char buf[64];
      std::snprintf(buf, sizeof buf, "return %.1f (last %zu)", mean, recent.size());
      progress.Update(step, buf + latest);
    } else {
      progress.Update(step, latest);
    }
    if (next_checkpoint > 0 && step >= next_checkpoint && checkpoint) {
      checkpoint(step);
      next_checkpoint += options.checkpoint_every;
    }
  }
  out.env_steps = step;
  out.seconds = progress.ElapsedSeconds();
  out.mean_return_last100 =
      recent.empty() ? std::nan("")
                     : std::accumulate(recent.begin(), recent.end(), 0.0) / recent.size();
  char buf[96];
  std::snprintf(buf, sizeof buf, "%lld episodes, return %.1f (last 100)",
                static_cast<long long>(out.episodes), out.mean_return_last100);
  progress.Finish(buf);
  return out;
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

EvalResult Evaluate(Agent& agent, envs::VectorEnv& env, int episodes, uint64_t seed,
                    bool explore) {
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
