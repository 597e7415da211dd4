#include "experiments/list.h"

#include <functional>
#include <sstream>
#include <stdexcept>

#include "agents/agent.h"
#include "core/text.h"
#include "envs/registry.h"
#include "models/model.h"
#include "sim/scenario.h"

namespace linklab::experiments {

namespace {

// "snapshot: yes, own process: no, ~0.06 us/step (defaults)" for an entry with its default
// parameters (traits that depend on parameters can differ for others, e.g. backend=fluid).
template <typename Entry>
std::string TraitsLine(const Entry& e, const std::string& cost_unit) {
  if (!e.traits) return "traits not given";
  const core::EntryTraits t = e.Traits(core::Params::Resolve(e.params, {}, e.name));
  std::string line = std::string("snapshot: ") + (t.snapshot ? "yes" : "no") +
                     ", own process: " + (t.own_process ? "yes" : "no");
  if (t.cost_us_per_step > 0)
    line += ", ~" + core::FormatDouble(t.cost_us_per_step) + " " + cost_unit;
  return line + " (defaults)";
}

template <typename Registry>
void ListOne(std::ostringstream& out, const std::string& title, const Registry& registry,
             const std::string& cost_unit) {
  out << title << "\n";
  if (registry.Entries().empty()) out << "  (none registered)\n";
  for (const auto* e : registry.Entries()) {
    out << "  " << e->name << "\n      " << e->description << "\n";
    out << "      " << TraitsLine(*e, cost_unit) << "\n";
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

// Every registry `linklab list` shows: the one place a new registry is added.
struct Listing {
  std::string kind;
  std::function<void(std::ostringstream&)> print;
};

const std::vector<Listing>& Listings() {
  static const std::vector<Listing> listings = {
      {"envs", [](std::ostringstream& o) { ListOne(o, "envs", envs::EnvRegistry(), "us/step"); }},
      {"agents",
       [](std::ostringstream& o) { ListOne(o, "agents", agents::AgentRegistry(), "us/env step"); }},
      {"models",
       [](std::ostringstream& o) { ListOne(o, "models", models::ModelRegistry(), "us/step"); }},
      {"scenarios",
       [](std::ostringstream& o) {
         ListOne(o, "scenarios", sim::ScenarioRegistry(), "us/simulated s");
       }},
  };
  return listings;
}

}  // namespace

std::vector<std::string> ListKinds() {
  std::vector<std::string> kinds;
  for (const auto& l : Listings()) kinds.push_back(l.kind);
  return kinds;
}

std::string ListRegistered(const std::string& kind) {
  std::ostringstream out;
  bool known = false;
  for (const auto& l : Listings()) {
    if (!kind.empty() && l.kind != kind) continue;
    known = true;
    l.print(out);
  }
  if (!known) {
    throw std::invalid_argument("unknown kind '" + kind +
                                "' for list; kinds: " + core::Join(ListKinds(), ", "));
  }
  return out.str();
}

}  // namespace linklab::experiments
