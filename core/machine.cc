#include "core/machine.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/text.h"

namespace linklab::core {

Json MachineInfo() {
  Json j = Json::object();
  std::string cpu = "unknown";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (StartsWith(line, "model name")) {
      cpu = Trim(line.substr(line.find(':') + 1));
      break;
    }
  }
  j["cpu"] = cpu;
  j["logical_cores"] = static_cast<int64_t>(std::thread::hardware_concurrency());
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    if (StartsWith(line, "MemTotal:")) {
      j["memory_gib"] =
          ParseDouble(Split(Trim(line.substr(9)), ' ')[0], "MemTotal") / (1024.0 * 1024.0);
      break;
    }
  }
  utsname u{};
  if (uname(&u) == 0) {
    j["kernel"] = std::string(u.sysname) + " " + u.release;
    j["hostname"] = std::string(u.nodename);
  }
  j["compiler"] = std::string("g++ ") + __VERSION__;
  return j;
}

std::string UtcTimestamp(bool for_path) {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, for_path ? "%Y%m%d-%H%M%S" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace linklab::core
