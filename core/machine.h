#pragma once
// Provenance recorded by every output: git commit of the build, the machine, the time.

#include <string>

#include "core/json.h"

namespace linklab::core {

// The commit the binary was built from, "<sha>[-dirty]" or "unknown" (generated at build time).
const char* GitCommit();
// CPU model, logical cores, memory, kernel, hostname, compiler.
Json MachineInfo();
// Current UTC time: "2026-11-23T13:10:44Z"; `for_path` gives "20261123-131044" instead.
std::string UtcTimestamp(bool for_path = false);

}  // namespace linklab::core
