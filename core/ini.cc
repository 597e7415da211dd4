#include "core/ini.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "core/text.h"

namespace linklab::core {

std::vector<IniEntry> ParseIni(const std::string& text, const std::string& name,
                               const std::vector<std::string>& sections) {
  std::vector<IniEntry> out;
  std::map<std::string, int> seen;  // "section.key" -> line
  std::string section;
  // A UTF-8 byte-order mark (some Windows editors write one) is not part of the first line.
  std::istringstream in(StartsWith(text, "\xEF\xBB\xBF") ? text.substr(3) : text);
  int line_no = 0;
  for (std::string raw; std::getline(in, raw);) {
    ++line_no;
    const std::string where = name + ":" + std::to_string(line_no);
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']') {
        throw std::invalid_argument(where + ": section header '" + Printable(line) + "' lacks ']'");
      }
      section = Trim(line.substr(1, line.size() - 2));
      bool known = false;
      for (const auto& s : sections) known = known || s == section;
      if (!known) {
        throw std::invalid_argument(where + ": unknown section [" + Printable(section) +
                                    "]; sections are [" + Join(sections, "], [") + "]");
      }
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) {
      throw std::invalid_argument(where + ": '" + Printable(line) + "' is not 'key = value'");
    }
    if (section.empty()) {
      throw std::invalid_argument(where + ": '" + Printable(line) + "' comes before any [section]");
    }
    IniEntry e{section, Trim(line.substr(0, eq)), Trim(line.substr(eq + 1)), line_no};
    // A comment after the value starts with whitespace then # or ;.
    for (size_t i = 1; i < e.value.size(); ++i) {
      if ((e.value[i] == '#' || e.value[i] == ';') &&
          std::isspace(static_cast<unsigned char>(e.value[i - 1]))) {
        e.value = Trim(e.value.substr(0, i));
        break;
      }
    }
    if (e.key.empty()) throw std::invalid_argument(where + ": empty key");
    const std::string full = section + "." + e.key;
    if (seen.count(full)) {
      throw std::invalid_argument(where + ": [" + section + "] " + Printable(e.key) + " = '" +
                                  Printable(e.value) + "' repeats the key set on line " +
                                  std::to_string(seen[full]));
    }
    seen[full] = line_no;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<IniEntry> ReadIni(const std::string& path, const std::vector<std::string>& sections,
                              const std::string& what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw std::invalid_argument(what + " '" + path + "' is a directory, not an INI file");
  }
  std::ifstream f(path);
  if (!f) throw std::runtime_error("cannot read " + what + " '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string text = ss.str();
  if (const size_t nul = text.find('\0'); nul != std::string::npos) {
    throw std::invalid_argument(what + " '" + path + "' is not a text file (a NUL byte at " +
                                "offset " + std::to_string(nul) + ")");
  }
  return ParseIni(text, path, sections);
}

}  // namespace linklab::core
