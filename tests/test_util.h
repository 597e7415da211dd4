#pragma once
// Helpers shared by the test suites.

#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace linklab::testing {

// The message of the std::invalid_argument `f` throws, or "" when it throws nothing.
template <typename F>
std::string ErrorOf(F f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// Network namespaces in /run/netns named `prefix` + this process's pid + "-..." (what a lab of
// this test process left, where it must leave none).
inline std::vector<std::string> OwnNamespaces(const std::string& prefix) {
  const std::string own = prefix + std::to_string(getpid()) + "-";
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(own, 0) == 0) out.push_back(name);
  }
  return out;
}

}  // namespace linklab::testing
