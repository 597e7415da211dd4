#include "experiments/list.h"

#include <sstream>
#include <stdexcept>

#include "agents/agent.h"
#include "core/text.h"
#include "envs/registry.h"
#include "sim/scenario.h"

namespace linklab::experiments {

namespace {

template <typename Registry>
void ListOne(std::ostringstream& out, const std::string& title, const Registry& registry) {
  out << title << "\n";
  for (const auto* e : registry.Entries()) {
    out << "  " << e->name << "\n      " << e->description << "\n";
    for (const auto& p : e->params) {
      std::string line = "      - " + p.name + " (" + core::ParamTypeName(p.type) + ", default " +
                         (p.default_text.empty() ? "''" : p.default_text);
      const std::string range = p.RangeText();
      if (!range.empty()) line += ", " + range;
      out << line << "): " << p.help << "\n";
    }
  }
  out << "\n";
}

}  // namespace

std::string ListRegistered(const std::string& kind) {
  const std::vector<std::string> kinds = {"envs", "agents", "scenarios"};
  bool known = kind.empty();
  for (const auto& k : kinds) known = known || k == kind;
  if (!known) {
    throw std::invalid_argument("unknown kind '" + kind +
                                "' for list; kinds: " + core::Join(kinds, ", "));
  }
  std::ostringstream out;
  if (kind.empty() || kind == "envs") ListOne(out, "envs", envs::EnvRegistry());
  if (kind.empty() || kind == "agents") ListOne(out, "agents", agents::AgentRegistry());
  if (kind.empty() || kind == "scenarios") ListOne(out, "scenarios", sim::ScenarioRegistry());
  return out.str();
}

}  // namespace linklab::experiments
