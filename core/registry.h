#pragma once
// Creation by name: every env, agent, model and scenario is an entry with a one-line
// description, a parameter schema and a factory. Names are parsed from specs such as
// "shaping(link=tethered,trace=ATT-LTE-driving.down)". Unknown names list what exists.

#include <algorithm>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/params.h"
#include "core/text.h"

namespace linklab::core {

// "name(k=v,k2=v2)" split into its name and raw values (origin: "<what> '<spec>'").
struct Spec {
  std::string name;
  RawValues values;
};
Spec ParseSpec(const std::string& text, const std::string& what);

// What callers need to know about an entry before they make it (vector envs, benchmarks,
// checkpoints, conformance suites read these).
struct EntryTraits {
  // The made object's state saves and restores exactly (Env::SaveState / LoadState), so a
  // checkpoint of a run on it can resume.
  bool snapshot = false;
  // It needs a process of its own (ns-3 allows one simulation per process): vector envs run
  // copies of it in worker processes.
  bool own_process = false;
  // Rough wall microseconds per step on these machines (an env: one Step; a scenario: one
  // simulated second; an agent: one env step of training, updates included); 0: unknown.
  double cost_us_per_step = 0.0;
};
// Traits of an entry for its resolved parameters (a scenario on backend=ns3 needs its own
// process, on backend=fluid it does not).
using TraitsFn = std::function<EntryTraits(const Params&)>;
// Traits that do not depend on the parameters.
inline TraitsFn FixedTraits(EntryTraits traits) {
  return [traits](const Params&) { return traits; };
}

template <typename Factory>
class Registry {
 public:
  struct Entry {
    std::string name;
    std::string description;  // one line
    std::vector<ParamSpec> params;
    Factory make;
    TraitsFn traits = {};  // empty: not filled in (Traits() then answers the conservative defaults)

    // The traits for resolved `params`.
    EntryTraits Traits(const Params& params) const {
      return traits ? traits(params) : EntryTraits{};
    }
  };

  // `kind` names the entries in messages ("env", "agent").
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void Add(Entry entry) {
    if (entries_.count(entry.name)) throw std::logic_error(kind_ + " '" + entry.name + "' twice");
    std::string name = entry.name;
    entries_.emplace(std::move(name), std::move(entry));
  }

  const Entry& Find(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      throw std::invalid_argument("unknown " + kind_ + " '" + name +
                                  "'; known: " + Join(Names(), ", "));
    }
    return it->second;
  }

  bool Has(const std::string& name) const { return entries_.count(name) > 0; }

  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    for (const auto& [name, entry] : entries_) names.push_back(name);
    return names;
  }

  std::vector<const Entry*> Entries() const {
    std::vector<const Entry*> out;
    for (const auto& [name, entry] : entries_) out.push_back(&entry);
    return out;
  }

  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::map<std::string, Entry> entries_;  // sorted by name for listings
};

}  // namespace linklab::core
