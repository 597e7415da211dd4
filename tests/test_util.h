#pragma once
// Helpers shared by the test suites.

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
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

// What a linklab command printed (stdout and stderr) and its exit code.
struct CliOutput {
  int code;
  std::string text;
};

#ifdef LINKLAB_BINARY
// Runs the linklab binary with `args` (a shell command line) and returns what it printed.
inline CliOutput RunCli(const std::string& args) {
  const std::string cmd = std::string(LINKLAB_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  CliOutput out{-1, ""};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.text.append(buf.data(), n);
  const int status = pclose(p);
  out.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}
#endif

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
