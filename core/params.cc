#include "core/params.h"

#include <cmath>
#include <stdexcept>

#include "core/text.h"

namespace linklab::core {

const char* ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kInt:
      return "int";
    case ParamType::kDouble:
      return "float";
    case ParamType::kBool:
      return "bool";
    case ParamType::kString:
      return "string";
  }
  return "?";
}

std::string ParamSpec::RangeText() const {
  if (type == ParamType::kString) {
    return choices.empty() ? "" : "one of " + Join(choices, "|");
  }
  if (type == ParamType::kBool) return "";
  const bool has_min = std::isfinite(min) && min > -9.2e18;
  const bool has_max = std::isfinite(max) && max < 9.2e18;
  if (!has_min && !has_max) return "";
  auto fmt = [&](double v) {
    return type == ParamType::kInt ? std::to_string(static_cast<int64_t>(v)) : FormatDouble(v);
  };
  return "[" + (has_min ? fmt(min) : std::string("-inf")) + ", " +
         (has_max ? fmt(max) : std::string("inf")) + "]";
}

ParamSpec IntParam(std::string name, int64_t default_value, std::string help, int64_t min,
                   int64_t max) {
  return {std::move(name),
          ParamType::kInt,
          std::to_string(default_value),
          std::move(help),
          static_cast<double>(min),
          static_cast<double>(max),
          {}};
}

ParamSpec DoubleParam(std::string name, double default_value, std::string help, double min,
                      double max) {
  return {std::move(name),
          ParamType::kDouble,
          FormatDouble(default_value),
          std::move(help),
          min,
          max,
          {}};
}

ParamSpec BoolParam(std::string name, bool default_value, std::string help) {
  ParamSpec spec;
  spec.name = std::move(name);
  spec.type = ParamType::kBool;
  spec.default_text = default_value ? "true" : "false";
  spec.help = std::move(help);
  return spec;
}

ParamSpec StringParam(std::string name, std::string default_value, std::string help,
                      std::vector<std::string> choices) {
  ParamSpec spec;
  spec.name = std::move(name);
  spec.type = ParamType::kString;
  spec.default_text = std::move(default_value);
  spec.help = std::move(help);
  spec.choices = std::move(choices);
  return spec;
}

Params Params::Resolve(const std::vector<ParamSpec>& schema, const RawValues& given,
                       const std::string& context) {
  Params out;
  out.schema_ = schema;
  std::vector<std::string> known;
  for (const auto& spec : schema) known.push_back(spec.name);

  for (const auto& [key, raw] : given) {
    bool found = false;
    for (const auto& spec : schema) found = found || spec.name == key;
    if (!found) {
      throw std::invalid_argument(
          raw.origin + ": " + context + " unknown key '" + Printable(key) + "' (value '" +
          Printable(raw.text) + "'); known keys: " + (known.empty() ? "none" : Join(known, ", ")));
    }
  }

  for (const auto& spec : schema) {
    auto it = given.find(spec.name);
    const std::string text = it == given.end() ? spec.default_text : Trim(it->second.text);
    const std::string origin = it == given.end() ? "default" : it->second.origin;
    const std::string what = origin + ": " + context + " " + spec.name;
    Value v;
    v.type = spec.type;
    auto check_range = [&](double x) {
      if (x < spec.min || x > spec.max) {
        throw std::invalid_argument(what + " = '" + Printable(text) + "': out of range " +
                                    spec.RangeText());
      }
    };
    switch (spec.type) {
      case ParamType::kInt:
        v.i = ParseInt(text, what);
        check_range(static_cast<double>(v.i));
        break;
      case ParamType::kDouble:
        v.d = ParseDouble(text, what);
        check_range(v.d);
        break;
      case ParamType::kBool:
        v.b = ParseBool(text, what);
        break;
      case ParamType::kString:
        v.s = text;
        if (!spec.choices.empty()) {
          bool ok = false;
          for (const auto& c : spec.choices) ok = ok || c == text;
          if (!ok) {
            throw std::invalid_argument(what + " = '" + Printable(text) + "': must be one of " +
                                        Join(spec.choices, ", "));
          }
        }
        break;
    }
    out.values_[spec.name] = std::move(v);
  }
  return out;
}

const Params::Value& Params::Get(const std::string& name, ParamType type) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("parameter '" + name + "' is not in the schema");
  if (it->second.type != type) {
    throw std::logic_error("parameter '" + name + "' is a " + ParamTypeName(it->second.type) +
                           ", read as " + ParamTypeName(type));
  }
  return it->second;
}

int64_t Params::Int(const std::string& name) const { return Get(name, ParamType::kInt).i; }
double Params::Double(const std::string& name) const { return Get(name, ParamType::kDouble).d; }
bool Params::Bool(const std::string& name) const { return Get(name, ParamType::kBool).b; }
const std::string& Params::String(const std::string& name) const {
  return Get(name, ParamType::kString).s;
}

std::string Params::Text(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("parameter '" + name + "' is not in the schema");
  const Value& v = it->second;
  switch (v.type) {
    case ParamType::kInt:
      return std::to_string(v.i);
    case ParamType::kDouble:
      return FormatDouble(v.d);
    case ParamType::kBool:
      return v.b ? "true" : "false";
    case ParamType::kString:
      return v.s;
  }
  return "";
}

}  // namespace linklab::core
