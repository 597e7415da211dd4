#pragma once
// Progress of long work: done/total, rate, ETA and the latest figures (return, loss). On a
// terminal one line is redrawn a few times a second; otherwise a plain log line every ~10 s.

#include <chrono>
#include <cstdint>
#include <string>

namespace linklab::core {

class Progress {
 public:
  // `unit` names what is counted ("steps"); total 0 means unknown (no ETA). `start` is where
  // the count begins (a resumed run): rates and ETA count only the work done here.
  Progress(std::string label, int64_t total, std::string unit = "steps", bool enabled = true,
           int64_t start = 0);
  ~Progress();

  // True when the next Update would print (callers can skip building `extra` otherwise).
  bool Due() const;
  // Reports `done` units; `extra` is appended ("return 187.2 | loss 0.031").
  void Update(int64_t done, const std::string& extra = "");
  // Prints the final line (always, when enabled).
  void Finish(const std::string& extra = "");

  double ElapsedSeconds() const;

 private:
  void Print(int64_t done, const std::string& extra, bool final);

  std::string label_, unit_;
  int64_t total_;
  bool enabled_, tty_, finished_ = false;
  int64_t start_count_, last_done_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

// "1.2k", "3.4M": compact counts for progress lines and reports.
std::string HumanCount(double v);
// "1:02:03" or "2:03".
std::string HumanDuration(double seconds);

}  // namespace linklab::core
