#pragma once
// Helpers shared by the test suites.

#include <stdexcept>
#include <string>

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

}  // namespace linklab::testing
