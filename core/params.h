#pragma once
// Typed parameters with defaults, ranges and help text: the schema behind every registry entry
// (envs, agents, models, scenarios) and every experiment config section. Resolving raw text
// against a schema either gives a complete Params (defaults filled in) or throws
// std::invalid_argument naming where the value came from, the key and the offending value.

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace linklab::core {

enum class ParamType { kInt, kDouble, kBool, kString };
const char* ParamTypeName(ParamType type);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  std::string default_text;  // canonical text of the default
  std::string help;
  double min = -std::numeric_limits<double>::infinity();  // inclusive, numbers only
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // strings only; empty means free text

  std::string RangeText() const;  // "[0, 1]", "one of a|b", or "" when unconstrained
};

ParamSpec IntParam(std::string name, int64_t default_value, std::string help,
                   int64_t min = std::numeric_limits<int64_t>::min(),
                   int64_t max = std::numeric_limits<int64_t>::max());
ParamSpec DoubleParam(std::string name, double default_value, std::string help,
                      double min = -std::numeric_limits<double>::infinity(),
                      double max = std::numeric_limits<double>::infinity());
ParamSpec BoolParam(std::string name, bool default_value, std::string help);
ParamSpec StringParam(std::string name, std::string default_value, std::string help,
                      std::vector<std::string> choices = {});

// A value as written by the user, and where: "exp.ini:12", "--set agent.lr=...", "spec '...'".
struct RawValue {
  std::string text;
  std::string origin;
};
using RawValues = std::map<std::string, RawValue>;

class Params {
 public:
  Params() = default;

  // Checks `given` against `schema` (unknown keys, types, ranges, choices) and fills defaults.
  // `context` names the section or spec in messages, e.g. "[agent]" or "env CartPole-v1".
  static Params Resolve(const std::vector<ParamSpec>& schema, const RawValues& given,
                        const std::string& context);

  int64_t Int(const std::string& name) const;
  double Double(const std::string& name) const;
  bool Bool(const std::string& name) const;
  const std::string& String(const std::string& name) const;
  // Canonical text of a value, as written to effective configs.
  std::string Text(const std::string& name) const;
  bool Has(const std::string& name) const { return values_.count(name) > 0; }

  const std::vector<ParamSpec>& schema() const { return schema_; }

 private:
  struct Value {
    ParamType type = ParamType::kString;
    int64_t i = 0;
    double d = 0.0;
    bool b = false;
    std::string s;
  };
  const Value& Get(const std::string& name, ParamType type) const;

  std::vector<ParamSpec> schema_;
  std::map<std::string, Value> values_;
};

}  // namespace linklab::core
