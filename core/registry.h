#pragma once
// Creation by name: every env, agent, model and scenario is an entry with a one-line
// description, a parameter schema and a factory. Names are parsed from specs such as
// "shaping(link=tethered,trace=ATT-LTE-driving.down)". Unknown names list what exists.

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/params.h"
#include "core/text.h"

namespace linklab::core {

// A spec such as "shaping(scenario=tethered(rtt_ms=80,backend=fluid),step_s=0.1)": a name and
// its keys in the order given. Items split at commas outside brackets, so a value may itself be a
// spec. A list value is written in square brackets, "workload=[bulk,video*2,gaming]", and read
// back as its comma list ("bulk,video*2,gaming"). `what` ("scenario spec") starts every message.
class Spec {
 public:
  Spec() = default;
  explicit Spec(std::string name, std::string what = "spec");

  // Throws std::invalid_argument naming the column of an unbalanced or stray bracket, an empty
  // name or key, an item without '=', or a key given twice.
  static Spec Parse(const std::string& text, const std::string& what);

  const std::string& name() const { return name_; }
  bool Has(const std::string& key) const;
  // The value of `key` (a list without its brackets); std::invalid_argument when absent.
  const std::string& Get(const std::string& key) const;
  // Replaces the value of an existing key in place, or appends a new key. A value with commas
  // outside brackets is a list. Throws std::invalid_argument on unbalanced brackets.
  Spec& Set(const std::string& key, const std::string& value);
  std::vector<std::string> Keys() const;

  // Canonical text: no spaces around items, list values in brackets. Parse(Text()) == *this.
  std::string Text() const;
  // The values with their origin ("<what> '<Text()>'"), for Params::Resolve.
  RawValues Values() const;

  bool operator==(const Spec& other) const {
    return name_ == other.name_ && items_ == other.items_;
  }

 private:
  std::string name_;
  std::string what_ = "spec";
  std::vector<std::pair<std::string, std::string>> items_;
  std::string source_;  // the text parsed, for messages; cleared by Set
};

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
