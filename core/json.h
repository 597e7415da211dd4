#pragma once
// A JSON value for the files linklab writes (summary.json, benchmark reports). Objects keep
// insertion order so reports read in the order they were built. Writing only.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/files.h"

namespace linklab::core {

class Json {
 public:
  Json() = default;  // null
  Json(bool b) : kind_(Kind::kBool), b_(b) {}
  Json(int v) : kind_(Kind::kInt), i_(v) {}
  Json(int64_t v) : kind_(Kind::kInt), i_(v) {}
  Json(uint64_t v) : kind_(Kind::kInt), i_(static_cast<int64_t>(v)) {}
  Json(double v) : kind_(Kind::kDouble), d_(v) {}
  Json(const char* s) : kind_(Kind::kString), s_(s) {}
  Json(std::string s) : kind_(Kind::kString), s_(std::move(s)) {}

  static Json Object() {
    Json j;
    j.kind_ = Kind::kObject;
    return j;
  }
  static Json Array() {
    Json j;
    j.kind_ = Kind::kArray;
    return j;
  }
  template <typename T>
  static Json ArrayOf(const std::vector<T>& values) {
    Json j = Array();
    for (const auto& v : values) j.Push(Json(v));
    return j;
  }

  // Object member (replaces an existing key); returns *this for chaining.
  Json& Set(const std::string& key, Json value);
  Json& Push(Json value);  // array element
  // Object member by key, created as null when missing.
  Json& operator[](const std::string& key);

  std::string Dump(int indent = 2) const;

 private:
  enum class Kind { kNull, kBool, kInt, kDouble, kString, kArray, kObject };
  void DumpTo(std::string& out, int indent, int depth) const;

  Kind kind_ = Kind::kNull;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0.0;
  std::string s_;
  std::vector<Json> items_;                            // array elements
  std::vector<std::pair<std::string, Json>> members_;  // object members
};

}  // namespace linklab::core
