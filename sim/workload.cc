#include "sim/workload.h"

#include <algorithm>
#include <stdexcept>

#include "core/text.h"

namespace linklab::sim {

void CheckTcpVariant(const std::string& name, const std::string& what) {
  if (name == "newreno" || name == "cubic" || name == "bbr") return;
  throw std::invalid_argument(what + " = '" + name +
                              "': unknown TCP variant; variants: newreno, cubic, bbr");
}

std::vector<WorkloadItem> ParseWorkload(const std::string& spec, const std::string& default_tcp,
                                        const std::string& what) {
  std::vector<WorkloadItem> out;
  if (core::Trim(spec).empty()) return out;
  // Items are separated by ',' or '+' ('+' fits inside a scenario spec "tethered(...)").
  std::string normalized = spec;
  std::replace(normalized.begin(), normalized.end(), '+', ',');
  for (const std::string& raw : core::Split(normalized, ',')) {
    std::string item = core::Trim(raw);
    const std::string where = what + " item '" + item + "'";
    WorkloadItem w;
    w.tcp = default_tcp;
    const size_t slash = item.find('/');
    if (slash != std::string::npos) {
      w.direction = core::Trim(item.substr(slash + 1));
      item = item.substr(0, slash);
      if (w.direction != "down" && w.direction != "up") {
        throw std::invalid_argument(where + ": direction '" + w.direction + "' must be down or up");
      }
    }
    const size_t at = item.find('@');
    if (at != std::string::npos) {
      w.tcp = core::Trim(item.substr(at + 1));
      item = item.substr(0, at);
    }
    CheckTcpVariant(w.tcp, where + " tcp");
    const size_t star = item.find('*');
    if (star != std::string::npos) {
      const int64_t n = core::ParseInt(item.substr(star + 1), where + " count");
      if (n < 1 || n > 10000) {
        throw std::invalid_argument(where + ": count " + std::to_string(n) +
                                    " must be in [1, 10000]");
      }
      w.count = static_cast<int>(n);
      item = item.substr(0, star);
    }
    w.app_class = ParseAppClass(core::Trim(item), where + " class");
    if (w.app_class == AppClass::kCross || w.app_class == AppClass::kOther) {
      throw std::invalid_argument(where + ": class '" + core::Trim(item) +
                                  "' is not a workload; use bulk, video, gaming or web");
    }
    out.push_back(w);
  }
  return out;
}

uint32_t SocketBufferFor(double rate_bps, double rtt_s) {
  const double bdp = rate_bps / 8.0 * rtt_s;
  return static_cast<uint32_t>(std::clamp(2.0 * bdp, 4.0 * 1024 * 1024, 16.0 * 1024 * 1024));
}

}  // namespace linklab::sim
