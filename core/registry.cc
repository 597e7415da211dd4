#include "core/registry.h"

namespace linklab::core {

Spec ParseSpec(const std::string& text, const std::string& what) {
  Spec spec;
  const std::string t = Trim(text);
  const size_t open = t.find('(');
  const std::string origin = what + " '" + t + "'";
  if (open == std::string::npos) {
    spec.name = t;
  } else {
    if (t.back() != ')') throw std::invalid_argument(origin + ": missing ')' at the end");
    spec.name = Trim(t.substr(0, open));
    const std::string inner = t.substr(open + 1, t.size() - open - 2);
    if (!Trim(inner).empty()) {
      for (const auto& item : Split(inner, ',')) {
        const size_t eq = item.find('=');
        if (eq == std::string::npos) {
          throw std::invalid_argument(origin + ": '" + Trim(item) + "' is not key=value");
        }
        const std::string key = Trim(item.substr(0, eq));
        if (spec.values.count(key)) {
          throw std::invalid_argument(origin + ": key '" + key + "' given twice");
        }
        spec.values[key] = RawValue{Trim(item.substr(eq + 1)), origin};
      }
    }
  }
  if (spec.name.empty()) throw std::invalid_argument(origin + ": empty name");
  return spec;
}

}  // namespace linklab::core
