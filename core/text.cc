#include "core/text.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace linklab::core {

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

double ParseDouble(std::string_view text, std::string_view what) {
  const std::string s = Trim(text);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || std::isnan(v) || errno == ERANGE) {
    throw std::invalid_argument(std::string(what) + " = '" + Printable(text) + "': not a number");
  }
  return v;
}

int64_t ParseInt(std::string_view text, std::string_view what) {
  const std::string s = Trim(text);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE) {
    // Accept integral values written in exponent form, e.g. "1e6".
    char* dend = nullptr;
    const double d = std::strtod(s.c_str(), &dend);
    if (!s.empty() && dend == s.c_str() + s.size() && std::isfinite(d) && d == std::floor(d) &&
        std::fabs(d) < 9.0e18) {
      return static_cast<int64_t>(d);
    }
    throw std::invalid_argument(std::string(what) + " = '" + Printable(text) + "': not an integer");
  }
  return v;
}

bool ParseBool(std::string_view text, std::string_view what) {
  const std::string s = Trim(text);
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  throw std::invalid_argument(std::string(what) + " = '" + Printable(text) +
                              "': not a boolean (true/false)");
}

std::string Printable(std::string_view s, size_t max_chars) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (out.size() >= max_chars) return out + "...";
    const unsigned char c = static_cast<unsigned char>(s[i]);
    // Length of a valid UTF-8 sequence starting at i (0 when invalid).
    size_t n = c < 0x80                ? 1
               : c >= 0xc2 && c < 0xe0 ? 2
               : c >= 0xe0 && c < 0xf0 ? 3
               : c >= 0xf0 && c < 0xf5 ? 4
                                       : 0;
    if (i + n > s.size()) n = 0;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) n = 0;
    }
    if (n == 1 && c >= 0x20 && c != 0x7f) {
      out += s[i];
    } else if (n > 1) {
      out.append(s.substr(i, n));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
    i += n ? n : 1;
  }
  return out;
}

std::string FormatDouble(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::vector<std::string> ParseListValue(std::string_view text) {
  std::string body = Trim(text);
  if (body.size() >= 2 && body.front() == '[' && body.back() == ']') {
    body = body.substr(1, body.size() - 2);
  }
  std::vector<std::string> out;
  if (Trim(body).empty()) return out;
  for (const std::string& item : Split(body, ',')) out.push_back(Trim(item));
  return out;
}

uint64_t Fnv1a64(std::string_view text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace linklab::core
