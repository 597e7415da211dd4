#pragma once
// INI files (experiment configs, shaping files): `[section]` headers and `key = value` lines;
// comments start with # or ; (also after a value, following whitespace). Every entry keeps its
// line, so that later checks can name file:line.

#include <string>
#include <vector>

namespace linklab::core {

// One `key = value` line of an INI file.
struct IniEntry {
  std::string section, key, value;
  int line = 0;
};

// Parses `text` (named `name` in messages). Throws std::invalid_argument with name:line on a
// malformed line, a section not in `sections`, a key outside any section or a repeated key.
// A leading UTF-8 byte-order mark is skipped; unprintable bytes are shown escaped.
std::vector<IniEntry> ParseIni(const std::string& text, const std::string& name,
                               const std::vector<std::string>& sections);
// ParseIni of a file. `what` names the file's kind in messages ("config file", "shaping
// file"): a directory or a binary file is std::invalid_argument, an unreadable one
// std::runtime_error.
std::vector<IniEntry> ReadIni(const std::string& path, const std::vector<std::string>& sections,
                              const std::string& what);

}  // namespace linklab::core
