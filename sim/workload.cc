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
    const std::string item = core::Trim(raw);
    const std::string where = what + " item '" + item + "'";
    // The app name, then suffixes each led by one of * @ / : and running to the next.
    const size_t first = item.find_first_of("*@/:");
    WorkloadItem w;
    w.tcp = default_tcp;
    w.app = ParseAppClass(core::Trim(item.substr(0, first)), where + " app");
    if (w.app == AppClass::kCross || w.app == AppClass::kOther) {
      throw std::invalid_argument(where + ": '" + AppClassName(w.app) +
                                  "' is not an application; use bulk, video, gaming or web");
    }
    w.app_class = w.app;
    std::string seen;
    for (size_t pos = first; pos != std::string::npos;) {
      const char lead = item[pos];
      const size_t next = item.find_first_of("*@/:", pos + 1);
      const std::string value = core::Trim(item.substr(pos + 1, next - pos - 1));
      if (seen.find(lead) != std::string::npos) {
        throw std::invalid_argument(where + ": '" + std::string(1, lead) + "' given twice");
      }
      seen += lead;
      switch (lead) {
        case '*': {
          const int64_t n = core::ParseInt(value, where + " count");
          if (n < 1 || n > 10000) {
            throw std::invalid_argument(where + ": count " + std::to_string(n) +
                                        " must be in [1, 10000]");
          }
          w.count = static_cast<int>(n);
          break;
        }
        case '@':
          w.tcp = value;
          break;
        case '/':
          if (value != "down" && value != "up") {
            throw std::invalid_argument(where + ": direction '" + value + "' must be down or up");
          }
          w.direction = value;
          break;
        case ':':
          w.app_class = ParseAppClass(value, where + " class");
          if (w.app_class == AppClass::kCross) {
            throw std::invalid_argument(where + ": class 'cross' is the cross traffic's own");
          }
          break;
      }
      pos = next;
    }
    CheckTcpVariant(w.tcp, where + " tcp");
    out.push_back(w);
  }
  return out;
}

uint32_t SocketBufferFor(double rate_bps, double rtt_s) {
  const double bdp = rate_bps / 8.0 * rtt_s;
  return static_cast<uint32_t>(std::clamp(2.0 * bdp, 4.0 * 1024 * 1024, 16.0 * 1024 * 1024));
}

}  // namespace linklab::sim
