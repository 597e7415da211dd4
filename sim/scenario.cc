#include "sim/scenario.h"

namespace linklab::sim {

ScenarioRegistryType& ScenarioRegistry() {
  static ScenarioRegistryType* registry = [] {
    auto* r = new ScenarioRegistryType("scenario");
    RegisterScenarioFamilies(*r);
    return r;
  }();
  return *registry;
}

std::unique_ptr<Scenario> MakeScenario(const std::string& name, const core::Params& params) {
  return ScenarioRegistry().Find(name).make(params);
}

std::unique_ptr<Scenario> MakeScenario(const std::string& spec) {
  const core::Spec parsed = core::Spec::Parse(spec, "scenario spec");
  const auto& entry = ScenarioRegistry().Find(parsed.name());
  return entry.make(
      core::Params::Resolve(entry.params, parsed.Values(), "scenario " + parsed.name()));
}

}  // namespace linklab::sim
