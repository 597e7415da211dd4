#include "core/limits.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "core/text.h"

namespace linklab::core {

void CheckSimulatedSpan(double duration_s, double interval_s, const std::string& duration_what,
                        const std::string& interval_what) {
  if (duration_s > kMaxSimulatedSeconds) {
    throw std::invalid_argument(duration_what + " = " + FormatDouble(duration_s) +
                                " s: longer than the limit of 10 years (" +
                                FormatDouble(kMaxSimulatedSeconds) + " s)");
  }
  const double samples = duration_s / interval_s;
  if (samples > kMaxSamples) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  " s: %.3g intervals over %s s, more than the limit of %.0e; use a longer "
                  "interval or a shorter duration",
                  samples, FormatDouble(duration_s).c_str(), kMaxSamples);
    throw std::invalid_argument(interval_what + " = " + FormatDouble(interval_s) + buf);
  }
}

double PhysicalMemoryBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  double bytes =
      pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
  // A container's memory limit (cgroup v2) is what this process can really have.
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");
  double limit = 0;
  if (cgroup >> limit && limit > 0 && (bytes == 0 || limit < bytes)) bytes = limit;
  return bytes;
}

std::string FormatBytes(double bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000.0 && u < 6) {
    bytes /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, bytes < 10 && u > 0 ? "%.1f %s" : "%.0f %s", bytes, kUnits[u]);
  return buf;
}

void CheckMemory(double bytes, const std::string& what, const std::string& purpose) {
  const double have = PhysicalMemoryBytes();
  if (have > 0 && !(bytes <= have)) {
    throw std::invalid_argument(what + ": " + purpose + " needs " + FormatBytes(bytes) +
                                ", this machine has " + FormatBytes(have));
  }
}

}  // namespace linklab::core
