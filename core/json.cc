#include "core/json.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "core/text.h"

namespace linklab::core {

Json& Json::Set(const std::string& key, Json value) {
  (*this)[key] = std::move(value);
  return *this;
}

Json& Json::Push(Json value) {
  if (kind_ == Kind::kNull) kind_ = Kind::kArray;
  if (kind_ != Kind::kArray) throw std::logic_error("Json::Push on a non-array");
  items_.push_back(std::move(value));
  return *this;
}

Json& Json::operator[](const std::string& key) {
  if (kind_ == Kind::kNull) kind_ = Kind::kObject;
  if (kind_ != Kind::kObject) throw std::logic_error("Json member '" + key + "' on a non-object");
  for (auto& [k, v] : members_) {
    if (k == key) return v;
  }
  members_.emplace_back(key, Json());
  return members_.back().second;
}

static void Quote(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void Json::DumpTo(std::string& out, int indent, int depth) const {
  auto newline = [&](int d) {
    if (indent <= 0) return;
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  switch (kind_) {
    case Kind::kNull:
      out += "null";
      break;
    case Kind::kBool:
      out += b_ ? "true" : "false";
      break;
    case Kind::kInt:
      out += std::to_string(i_);
      break;
    case Kind::kDouble:
      out += std::isfinite(d_) ? FormatDouble(d_) : "null";
      break;
    case Kind::kString:
      Quote(out, s_);
      break;
    case Kind::kArray: {
      out += '[';
      // Arrays of plain numbers stay on one line.
      bool flat = true;
      for (const auto& item : items_)
        flat = flat && (item.kind_ == Kind::kInt || item.kind_ == Kind::kDouble);
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i) out += flat || indent <= 0 ? ", " : ",";
        if (!flat) newline(depth + 1);
        items_[i].DumpTo(out, indent, depth + 1);
      }
      if (!flat && !items_.empty()) newline(depth);
      out += ']';
      break;
    }
    case Kind::kObject: {
      out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i) out += ',';
        newline(depth + 1);
        Quote(out, members_[i].first);
        out += ": ";
        members_[i].second.DumpTo(out, indent, depth + 1);
      }
      if (!members_.empty()) newline(depth);
      out += '}';
      break;
    }
  }
}

std::string Json::Dump(int indent) const {
  std::string out;
  DumpTo(out, indent, 0);
  out += '\n';
  return out;
}

}  // namespace linklab::core
