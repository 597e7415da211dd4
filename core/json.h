#pragma once
// JSON for the files linklab writes and reads (summary.json, benchmark reports, the control
// API): nlohmann::ordered_json, whose objects keep insertion order so that reports read in the
// order they were built. This header only forward-declares it; code that builds or reads
// values includes <nlohmann/json.hpp> (about 3 s of compile time per file).

#include <nlohmann/json_fwd.hpp>
#include <string>

#include "core/files.h"  // WriteFileAtomic, for writers of JSON files

namespace linklab::core {

using Json = nlohmann::ordered_json;

// The text of `value`: indent 2, keys in insertion order, a newline at the end. NaN and
// infinities are written as null (JSON has no such numbers; readers see "no value"), and bytes
// that are not UTF-8 as U+FFFD, so that writing a report never fails.
std::string DumpJson(const Json& value);

// Parses JSON text (duplicate keys: the last wins); throws std::invalid_argument naming `what`
// (a file name) with the line and column of the first error.
Json ParseJson(const std::string& text, const std::string& what);

// ParseJson of a file's contents; std::runtime_error when it cannot be read.
Json ReadJsonFile(const std::string& path);

}  // namespace linklab::core
