#include <stdexcept>

#include "agents/agent.h"

namespace linklab::agents {

models::PolicyArtefact Agent::ExportPolicy() const {
  throw std::runtime_error("this agent has no torch-free policy to export");
}

AgentRegistryType& AgentRegistry() {
  static AgentRegistryType* registry = [] {
    auto* r = new AgentRegistryType("agent");
    RegisterBaselines(*r);
    RegisterDqn(*r);
    RegisterPpo(*r);
    return r;
  }();
  return *registry;
}

std::unique_ptr<Agent> MakeAgent(const std::string& name, const core::Params& params,
                                 const AgentContext& context) {
  return AgentRegistry().Find(name).make(params, context);
}

}  // namespace linklab::agents
