#pragma once
// Small text helpers shared by config, spec and trace parsers. Parsers throw
// std::invalid_argument naming `what` (a key, a file:line) and the offending text.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace linklab::core {

std::string Trim(std::string_view s);
std::vector<std::string> Split(std::string_view s, char sep);
// A list value as configs and specs write it: "[a, b]" or "a,b" -> {"a", "b"} (items trimmed,
// empty ones kept so that callers name them); "" or "[]" -> {}.
std::vector<std::string> ParseListValue(std::string_view text);
bool StartsWith(std::string_view s, std::string_view prefix);
// FNV-1a 64-bit hash of `text` (observation-spec hashes, sweep ids).
uint64_t Fnv1a64(std::string_view text);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

// Whole-string conversions; `what` names the value in the error message.
double ParseDouble(std::string_view text, std::string_view what);
int64_t ParseInt(std::string_view text, std::string_view what);
bool ParseBool(std::string_view text, std::string_view what);

// `s` fit for a one-line message: control bytes and invalid UTF-8 as \xNN (valid UTF-8 kept),
// cut after about `max_chars` bytes of output with "..." marking the cut.
std::string Printable(std::string_view s, size_t max_chars = 60);

// Shortest text that reads back to the same double ("0.1", "1e-05", "inf").
std::string FormatDouble(double v);

}  // namespace linklab::core
