#include "experiments/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "core/json.h"
#include "core/text.h"

extern char** environ;

namespace linklab::experiments {

namespace {

using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_signal = 0;
std::atomic<int> g_guards{0};
extern "C" void OnStopSignal(int sig) { g_signal = sig; }

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

SignalGuard::SignalGuard() {
  if (g_guards.fetch_add(1) == 0) g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

SignalGuard::~SignalGuard() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  g_guards.fetch_sub(1);
}

int PendingStopSignal() { return static_cast<int>(g_signal); }

void CheckInterrupted() {
  if (g_signal != 0) {
    throw std::runtime_error("interrupted by signal " + std::to_string(static_cast<int>(g_signal)));
  }
}

void Sleep(double seconds) {
  const Clock::time_point end =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(std::max(seconds, 0.0)));
  for (Clock::time_point now = Clock::now(); now < end; now = Clock::now()) {
    CheckInterrupted();
    std::this_thread::sleep_for(
        std::min<Clock::duration>(std::chrono::milliseconds(20), end - now));
  }
  CheckInterrupted();
}

std::string FindProgram(const std::string& name) {
  const char* env = std::getenv("PATH");
  std::string dirs = env ? env : "";
  dirs += ":/usr/sbin:/sbin:/usr/bin:/bin";
  for (const std::string& dir : core::Split(dirs, ':')) {
    if (dir.empty()) continue;
    const std::string path = dir + "/" + name;
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

OutputFile::OutputFile() {
  // O_CLOEXEC at creation: a child another thread forks meanwhile does not inherit it (dup2
  // onto 1 and 2 clears the flag for the child it is meant for).
  const char* tmp = std::getenv("TMPDIR");
  for (const char* dir : {tmp, "/tmp"}) {
    if (dir == nullptr || *dir == '\0') continue;
    fd_ = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ >= 0) return;
  }
  // A file system without O_TMPFILE: a named file, unlinked at once.
  char name[] = "/tmp/linklab-out-XXXXXX";
  fd_ = mkostemp(name, O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error(std::string("temporary file: ") + std::strerror(errno));
  unlink(name);
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) close(fd_);
}

std::string OutputFile::Read() const {
  std::string text;
  char buf[4096];
  for (off_t at = 0;;) {
    const ssize_t n = pread(fd_, buf, sizeof buf, at);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    at += n;
  }
  return text;
}

std::string FirstLines(const std::string& text) {
  std::vector<std::string> lines;
  for (const std::string& line : core::Split(text, '\n')) {
    const std::string t = core::Trim(line);
    if (!t.empty() && lines.size() < 3) lines.push_back(t);
  }
  return core::Printable(core::Join(lines, " / "), 300);
}

Child::Child(std::vector<std::string> argv) : argv_(std::move(argv)) {
  if (argv_.empty()) throw std::invalid_argument("Child: empty command line");
  std::vector<char*> args;
  for (std::string& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  const int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) throw std::runtime_error(std::string("/dev/null: ") + std::strerror(errno));
  pid_ = fork();
  if (pid_ == 0) {
    // Only async-signal-safe calls between fork and exec (exec resets caught signals).
    setpgid(0, 0);
    dup2(devnull, 0);
    dup2(out_.fd(), 1);
    dup2(err_.fd(), 2);
    execve(args[0], args.data(), environ);
    static const char kFailed[] = "exec failed\n";
    (void)!write(2, kFailed, sizeof kFailed - 1);
    _exit(127);
  }
  close(devnull);
  if (pid_ > 0) setpgid(pid_, pid_);  // also here, so that a kill(-pid) cannot come first
  if (pid_ < 0) throw std::runtime_error(Text() + ": fork: " + std::strerror(errno));
}

Child::~Child() { Stop(); }

bool Child::Running() {
  if (pid_ <= 0 || done_) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    done_ = true;
    code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return !done_;
}

bool Child::Wait(double timeout_s, bool interruptible) {
  const Clock::time_point t0 = Clock::now();
  while (Running()) {
    if (Since(t0) > timeout_s) return false;
    if (interruptible) CheckInterrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void Child::Stop(double grace_s) {
  if (!Running()) return;
  kill(-pid_, SIGTERM);
  const Clock::time_point t0 = Clock::now();
  while (Running() && Since(t0) < grace_s) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (Running()) {
    kill(-pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    done_ = true;
    code_ = 128 + SIGKILL;
  }
}

void Child::SendSignal(int sig) {
  if (pid_ > 0 && !done_) kill(-pid_, sig);
}

std::string Child::Text() const {
  std::vector<std::string> shown(argv_);
  shown[0] = shown[0].substr(shown[0].find_last_of('/') + 1);
  return core::Join(shown, " ");
}

std::string Child::Failure() const {
  std::string said = FirstLines(Err());
  if (said.empty()) said = FirstLines(Out());
  return "`" + Text() + "` failed (exit " + std::to_string(code_) + ")" +
         (said.empty() ? "" : ": " + said);
}

std::string Run(const std::vector<std::string>& argv, double timeout_s, bool interruptible) {
  Child child(argv);
  if (!child.Wait(timeout_s, interruptible)) {
    child.Stop();
    throw std::runtime_error("`" + child.Text() + "` did not finish in " +
                             core::FormatDouble(timeout_s) + " s");
  }
  if (child.exit_code() != 0) throw std::runtime_error(child.Failure());
  return child.Out();
}

void RemoveStaleNamespaces(const std::string& ip, const std::string& prefix) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    const std::string name = entry.path().filename().string();
    if (!core::StartsWith(name, prefix)) continue;
    const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid <= 0 || kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;
    try {
      Run({ip, "netns", "delete", name}, kCommandTimeoutS, false);
    } catch (const std::runtime_error&) {
      // Someone else's to clean; it does not stand in the way of a run under other names.
    }
  }
}

void DeleteNamespaces(const std::string& ip, const std::vector<std::string>& names) noexcept {
  for (const std::string& ns : names) {
    try {
      Run({ip, "netns", "delete", ns}, kCommandTimeoutS, false);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "linklab: could not remove network namespace %s: %s\n", ns.c_str(),
                   e.what());
    }
  }
}

std::string IperfFailure(const Child& client) {
  try {
    const core::Json report = core::ParseJson(client.Out(), "iperf3 -J output");
    if (report.contains("error") && report.at("error").is_string()) {
      return "`" + client.Text() + "` failed (exit " + std::to_string(client.exit_code()) +
             "): " + report.at("error").get<std::string>();
    }
  } catch (const std::invalid_argument&) {
    // Not JSON: its stderr says more.
  }
  return client.Failure();
}

}  // namespace linklab::experiments
