#pragma once
// Running programs by fork/exec with an argument vector (no shell), for the harnesses that
// drive ip, tc, iperf3 and ping (experiments/kernel_htb.h, experiments/bottleneck.h, `linklab
// bench live`). While a SignalGuard lives, SIGINT and SIGTERM only set a flag that every wait
// here checks and turns into an exception, so that destructors remove what a run made.
// Torch-free and ns-3-free.

#include <sys/types.h>

#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

namespace linklab::experiments {

// Seconds a short command (ip, tc, ss, ethtool) may take before Run gives up on it.
constexpr double kCommandTimeoutS = 15;

// While alive, SIGINT and SIGTERM set the flag CheckInterrupted reads instead of ending the
// process; the handlers before it come back at its destruction. Guards nest: only the
// outermost clears the flag.
class SignalGuard {
 public:
  SignalGuard();
  ~SignalGuard();
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// The stop signal received under a SignalGuard (SIGINT or SIGTERM), or 0 when none came.
int PendingStopSignal();
// Throws std::runtime_error("interrupted by signal N") once a stop signal has come.
void CheckInterrupted();
// Sleeps `seconds` (<= 0: not at all), checking for a stop signal every 20 ms (throws as
// CheckInterrupted does).
void Sleep(double seconds);

// The absolute path of program `name` on PATH or in the system binary folders; "" when not
// found.
std::string FindProgram(const std::string& name);

// An unnamed temporary file a child writes its output to, deleted when closed; not inherited
// by other children.
class OutputFile {
 public:
  OutputFile();
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  int fd() const { return fd_; }
  // Everything written to it so far.
  std::string Read() const;

 private:
  int fd_ = -1;
};

// Up to three non-empty lines of a program's output on one line, " / " between them.
std::string FirstLines(const std::string& text);

// A running program (argv[0] an absolute path) in a process group of its own (a terminal's
// Ctrl-C reaches only this process, which then stops it), stdout and stderr captured to
// files, stdin from /dev/null. The destructor stops it (SIGTERM, then SIGKILL) and reaps it.
class Child {
 public:
  // Starts it; std::runtime_error when fork fails (a failed exec is exit code 127).
  explicit Child(std::vector<std::string> argv);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // True while it runs (reaps it once it has exited).
  bool Running();
  // Waits up to `timeout_s` for it to exit; false when it still runs. Throws when a stop
  // signal comes, unless `interruptible` is false (tearing down).
  bool Wait(double timeout_s, bool interruptible = true);
  // Sends SIGTERM to its process group, waits up to `grace_s`, then SIGKILLs and reaps it.
  // Does nothing once it has exited.
  void Stop(double grace_s = 2.0);
  // Sends `sig` to its process group (nothing once it has been reaped).
  void SendSignal(int sig);
  // Its process id (also its process group's); the exec'd program keeps it.
  pid_t pid() const { return pid_; }
  // The exit status once it has exited: 128 + signal when a signal ended it; -1 before.
  int exit_code() const { return code_; }
  std::string Out() const { return out_.Read(); }
  std::string Err() const { return err_.Read(); }
  // The command line, program without its folder, for messages.
  std::string Text() const;
  // "`cmd` failed (exit 2): <the first lines of its stderr>", for errors.
  std::string Failure() const;

 private:
  std::vector<std::string> argv_;
  OutputFile out_, err_;
  pid_t pid_ = -1;
  bool done_ = false;
  int code_ = -1;
};

// Runs a command to its end; returns its stdout. Throws std::runtime_error naming the command
// with its stderr when it fails or takes longer than `timeout_s`, or when a stop signal comes
// while it runs and `interruptible`.
std::string Run(const std::vector<std::string>& argv, double timeout_s = kCommandTimeoutS,
                bool interruptible = true);

// Deletes the network namespaces named `prefix` + "<pid>..." whose process no longer runs (one
// killed by SIGKILL before its destructors ran), with the `ip` program at that path; leaves
// those it cannot delete.
void RemoveStaleNamespaces(const std::string& ip, const std::string& prefix);

// Deletes the network namespaces `names` (their veth ends with them); never throws, says on
// stderr which it could not remove. For destructors and teardown.
void DeleteNamespaces(const std::string& ip, const std::vector<std::string>& names) noexcept;

// Why an iperf3 client (run with -J) failed: the "error" of its JSON report, else its stderr.
std::string IperfFailure(const Child& client);

}  // namespace linklab::experiments
