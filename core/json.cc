#include "core/json.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/files.h"

namespace linklab::core {

std::string DumpJson(const Json& value) {
  return value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Json ParseJson(const std::string& text, const std::string& what) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ...".
    std::string message = e.what();
    const size_t bracket = message.find("] ");
    if (message.rfind("[json.exception", 0) == 0 && bracket != std::string::npos) {
      message = message.substr(bracket + 2);
    }
    throw std::invalid_argument(what + ": not JSON (" + message + ")");
  }
}

Json ReadJsonFile(const std::string& path) { return ParseJson(ReadFile(path), path); }

}  // namespace linklab::core
