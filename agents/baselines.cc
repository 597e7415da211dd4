// Baseline agents: uniformly random actions, and one fixed action.

#include <stdexcept>

#include "agents/agent.h"
#include "core/files.h"
#include "core/serialize.h"
#include "core/text.h"

namespace linklab::agents {
namespace {

class RandomAgent : public Agent {
 public:
  RandomAgent(envs::Space space, uint64_t seed) : space_(std::move(space)), rng_(seed) {}
  Array Act(const Array& obs, int rows, bool explore) override {
    Array out;
    out.reserve(static_cast<size_t>(rows) * space_.size());
    for (int r = 0; r < rows; ++r) {
      const Array a = space_.Sample(rng_);
      out.insert(out.end(), a.begin(), a.end());
    }
    return out;
  }
  void Save(const std::string& dir) const override {
    core::ByteWriter w;
    w.Put(rng_);
    core::WriteFileAtomic(dir + "/random_state.bin", w.data());
  }
  void Load(const std::string& dir) override {
    core::ByteReader r(core::ReadFile(dir + "/random_state.bin"), dir + "/random_state.bin");
    rng_ = r.Get<core::Rng>();
    r.ExpectEnd();
  }
  models::PolicyArtefact ExportPolicy() const override {
    throw std::runtime_error(
        "the random baseline has no policy artefact: its actions do not depend on the "
        "observation");
  }

 private:
  envs::Space space_;
  core::Rng rng_;
};

class FixedAgent : public Agent {
 public:
  FixedAgent(Array action, envs::Space obs_space, envs::Space act_space)
      : action_(std::move(action)),
        obs_space_(std::move(obs_space)),
        act_space_(std::move(act_space)) {}
  Array Act(const Array& obs, int rows, bool explore) override {
    Array out;
    out.reserve(static_cast<size_t>(rows) * action_.size());
    for (int r = 0; r < rows; ++r) out.insert(out.end(), action_.begin(), action_.end());
    return out;
  }
  // A constant policy: no network, the fixed action on every step.
  models::PolicyArtefact ExportPolicy() const override {
    models::PolicyArtefact a;
    a.agent = "fixed";
    a.observation_space = obs_space_;
    a.action_space = act_space_;
    a.head.kind = models::ActionHead::Kind::kConstant;
    a.head.constant = action_;
    return a;
  }

 private:
  Array action_;
  envs::Space obs_space_, act_space_;
};

}  // namespace

void RegisterBaselines(AgentRegistryType& registry) {
  registry.Add({"random",
                "uniformly random actions from the action space (baseline)",
                {},
                [](const core::Params&, const AgentContext& c) {
                  return std::make_unique<RandomAgent>(c.action_space, c.seed);
                },
                core::FixedTraits({/*snapshot=*/true, /*own_process=*/false, 0.05})});
  registry.Add({"fixed",
                "the same action on every step (baseline); action is a comma-separated value list",
                {core::StringParam("action", "0", "the action, e.g. '1' or '0.5,0.5'")},
                [](const core::Params& p, const AgentContext& c) {
                  Array action;
                  for (const auto& part : core::Split(p.String("action"), ',')) {
                    action.push_back(static_cast<float>(core::ParseDouble(part, "[agent] action")));
                  }
                  if (!c.action_space.Contains(action)) {
                    throw std::invalid_argument(
                        "[agent] action = '" + p.String("action") + "': not in the action space " +
                        c.action_space.ToString() + ": " + c.action_space.Mismatch(action));
                  }
                  return std::make_unique<FixedAgent>(std::move(action), c.observation_space,
                                                      c.action_space);
                },
                core::FixedTraits({/*snapshot=*/true, /*own_process=*/false, 0.01})});
}

}  // namespace linklab::agents
