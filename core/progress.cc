#include "core/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace linklab::core {

std::string HumanCount(double v) {
  char buf[32];
  const double a = std::fabs(v);
  if (a >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2fG", v / 1e9);
  else if (a >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
  else if (a >= 1e4)
    std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string HumanDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

Progress::Progress(std::string label, int64_t total, std::string unit, bool enabled, int64_t start)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      start_count_(start),
      last_done_(start),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

Progress::~Progress() {
  if (enabled_ && tty_ && !finished_ && last_done_ > start_count_) std::fputc('\n', stderr);
}

double Progress::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

bool Progress::Due() const {
  if (!enabled_) return false;
  const double since =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - last_print_).count();
  return since >= (tty_ ? 0.25 : 10.0);
}

void Progress::Update(int64_t done, const std::string& extra) {
  last_done_ = done;
  if (!Due()) return;
  last_print_ = std::chrono::steady_clock::now();
  Print(done, extra, false);
}

void Progress::Finish(const std::string& extra) {
  if (!enabled_ || finished_) return;
  finished_ = true;
  Print(last_done_, extra, true);
}

void Progress::Print(int64_t done, const std::string& extra, bool final) {
  const double elapsed = ElapsedSeconds();
  const double rate = elapsed > 0 ? (done - start_count_) / elapsed : 0.0;
  std::string line = "[" + label_ + "] " + HumanCount(static_cast<double>(done));
  if (total_ > 0) {
    char pct[16];
    std::snprintf(pct, sizeof pct, " (%.0f%%)", 100.0 * done / total_);
    line += "/" + HumanCount(static_cast<double>(total_)) + pct;
  }
  line += " " + unit_ + " | " + HumanCount(rate) + " " + unit_ + "/s | ";
  if (final) {
    line += "took " + HumanDuration(elapsed);
  } else if (total_ > 0 && rate > 0) {
    line += "ETA " + HumanDuration((total_ - done) / rate);
  } else {
    line += HumanDuration(elapsed);
  }
  if (!extra.empty()) line += " | " + extra;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

}  // namespace linklab::core
