#include "core/registry.h"

namespace linklab::core {

namespace {

bool IsOpen(char c) { return c == '(' || c == '['; }
bool IsClose(char c) { return c == ')' || c == ']'; }
std::string Column(size_t i) { return "column " + std::to_string(i + 1); }

// The index of the bracket matching each bracket of `t` (npos elsewhere); throws naming the
// column of a stray, mismatched or unclosed bracket. `origin` starts the message.
std::vector<size_t> MatchBrackets(const std::string& t, const std::string& origin) {
  std::vector<size_t> match(t.size(), std::string::npos);
  std::vector<size_t> open;
  for (size_t i = 0; i < t.size(); ++i) {
    if (IsOpen(t[i])) {
      open.push_back(i);
    } else if (IsClose(t[i])) {
      if (open.empty()) {
        throw std::invalid_argument(origin + ": stray '" + t[i] + "' at " + Column(i));
      }
      const size_t o = open.back();
      if ((t[o] == '(') != (t[i] == ')')) {
        throw std::invalid_argument(origin + ": '" + t[i] + "' at " + Column(i) +
                                    " does not close '" + t[o] + "' at " + Column(o));
      }
      open.pop_back();
      match[o] = i;
      match[i] = o;
    }
  }
  if (!open.empty()) {
    throw std::invalid_argument(origin + ": '" + t[open.back()] + "' at " + Column(open.back()) +
                                " is never closed");
  }
  return match;
}

// [begin, end) ranges of `t` between commas outside brackets.
std::vector<std::pair<size_t, size_t>> SplitTopLevel(const std::string& t, size_t begin,
                                                     size_t end) {
  std::vector<std::pair<size_t, size_t>> parts;
  int depth = 0;
  size_t start = begin;
  for (size_t i = begin; i < end; ++i) {
    if (IsOpen(t[i])) ++depth;
    if (IsClose(t[i])) --depth;
    if (t[i] == ',' && depth == 0) {
      parts.emplace_back(start, i);
      start = i + 1;
    }
  }
  parts.emplace_back(start, end);
  return parts;
}

bool HasTopLevelComma(const std::string& v) { return SplitTopLevel(v, 0, v.size()).size() > 1; }

// A value as written in a spec, trimmed; "[a, b]" becomes the list "a,b". `v` is balanced.
std::string NormalizeValue(const std::string& raw) {
  const std::string v = Trim(raw);
  if (v.size() < 2 || v.front() != '[') return v;
  const std::vector<size_t> match = MatchBrackets(v, "");
  if (match[0] != v.size() - 1) return v;
  std::vector<std::string> items;
  for (const auto& [b, e] : SplitTopLevel(v, 1, v.size() - 1)) {
    items.push_back(Trim(std::string_view(v).substr(b, e - b)));
  }
  if (items.size() == 1 && items[0].empty()) return "";
  return Join(items, ",");
}

void CheckKey(const std::string& key, const std::string& where) {
  if (key.empty()) throw std::invalid_argument(where + ": empty key");
  for (char c : key) {
    if (IsOpen(c) || IsClose(c) || c == '=' || c == ',' ||
        std::isspace(static_cast<unsigned char>(c))) {
      throw std::invalid_argument(where + ": key '" + key + "' may not contain '" + c + "'");
    }
  }
}

}  // namespace

Spec::Spec(std::string name, std::string what) : name_(std::move(name)), what_(std::move(what)) {
  CheckKey(name_, what_ + " '" + name_ + "'");
}

Spec Spec::Parse(const std::string& text, const std::string& what) {
  const std::string t = Trim(text);
  const std::string origin = what + " '" + Printable(t, 200) + "'";
  const std::vector<size_t> match = MatchBrackets(t, origin);
  Spec spec;
  spec.what_ = what;
  const size_t open = t.find_first_of("([");
  spec.name_ = Trim(std::string_view(t).substr(0, open));
  if (spec.name_.empty()) throw std::invalid_argument(origin + ": empty name");
  for (char c : spec.name_) {
    if (c == '=' || c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      throw std::invalid_argument(origin + ": name '" + spec.name_ + "' may not contain '" + c +
                                  "'");
    }
  }
  if (open == std::string::npos) return spec;
  if (t[open] == '[') {
    throw std::invalid_argument(origin + ": '[' at " + Column(open) +
                                " after the name; parameters go in '(...)'");
  }
  const size_t close = match[open];
  if (close != t.size() - 1) {
    throw std::invalid_argument(origin + ": unexpected text after ')' at " + Column(close));
  }
  if (Trim(std::string_view(t).substr(open + 1, close - open - 1)).empty()) return spec;
  for (const auto& [b, e] : SplitTopLevel(t, open + 1, close)) {
    const std::string item = Trim(std::string_view(t).substr(b, e - b));
    const std::string where = origin + ": " + Column(b);
    if (item.empty()) throw std::invalid_argument(origin + ": empty item at " + Column(b));
    const size_t eq = t.find('=', b);
    size_t first_open = t.find_first_of("([", b);
    if (eq >= e || (first_open < eq)) {
      throw std::invalid_argument(where + ": '" + item + "' is not key=value");
    }
    const std::string key = Trim(std::string_view(t).substr(b, eq - b));
    CheckKey(key, where);
    if (spec.Has(key)) {
      throw std::invalid_argument(origin + ": key '" + key + "' given twice (again at " +
                                  Column(b) + ")");
    }
    spec.items_.emplace_back(key, NormalizeValue(t.substr(eq + 1, e - eq - 1)));
  }
  spec.source_ = t;
  return spec;
}

bool Spec::Has(const std::string& key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return true;
  }
  return false;
}

const std::string& Spec::Get(const std::string& key) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return v;
  }
  throw std::invalid_argument(what_ + " '" + Text() + "': no key '" + key + "'");
}

Spec& Spec::Set(const std::string& key, const std::string& value) {
  const std::string where = what_ + " '" + Text() + "' " + key + " = '" + value + "'";
  CheckKey(key, where);
  MatchBrackets(value, where);
  source_.clear();
  const std::string v = NormalizeValue(value);
  for (auto& [k, old] : items_) {
    if (k == key) {
      old = v;
      return *this;
    }
  }
  items_.emplace_back(key, v);
  return *this;
}

std::vector<std::string> Spec::Keys() const {
  std::vector<std::string> keys;
  for (const auto& [k, v] : items_) keys.push_back(k);
  return keys;
}

std::string Spec::Text() const {
  if (items_.empty()) return name_;
  std::vector<std::string> parts;
  for (const auto& [k, v] : items_) {
    const bool list = HasTopLevelComma(v) || (!v.empty() && v.front() == '[');
    parts.push_back(k + "=" + (list ? "[" + v + "]" : v));
  }
  return name_ + "(" + Join(parts, ",") + ")";
}

RawValues Spec::Values() const {
  const std::string origin =
      what_ + " '" + Printable(source_.empty() ? Text() : source_, 200) + "'";
  RawValues values;
  for (const auto& [k, v] : items_) values[k] = RawValue{v, origin};
  return values;
}

}  // namespace linklab::core
