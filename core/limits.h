#pragma once
// Upper bounds on what one command may ask for, checked before any work or output starts, so
// that a typo (a duration of 1e300 s, an interval of 1e-9 s, a replay buffer of 1e12
// transitions) is one clear error instead of a run that never ends or a bare std::bad_alloc.

#include <cstdint>
#include <string>

namespace linklab::core {

// Longest simulated span of one command: ten years.
inline constexpr double kMaxSimulatedSeconds = 10 * 365.25 * 86400;
// Most sampling intervals (duration / interval) of one command.
inline constexpr double kMaxSamples = 1e8;
// Most env steps of one training run, and of any step count in a config.
inline constexpr int64_t kMaxSteps = 1'000'000'000'000;

// Throws std::invalid_argument when `duration_s` exceeds kMaxSimulatedSeconds or
// duration_s / interval_s exceeds kMaxSamples; `duration_what` and `interval_what` name the
// options ("--duration") in the message. Both must already be > 0.
void CheckSimulatedSpan(double duration_s, double interval_s, const std::string& duration_what,
                        const std::string& interval_what);

// Memory this process can have, in bytes: the machine's physical memory (sysconf), or a lower
// cgroup v2 limit (a container's); 0 when unknown.
double PhysicalMemoryBytes();
// "512 B", "1.5 kB", "24 GB", "32 TB" (decimal units).
std::string FormatBytes(double bytes);
// Throws std::invalid_argument "<what>: <purpose> needs <bytes>, this machine has <memory>" when
// `bytes` exceed the physical memory. `what` names the key and value ("[agent] buffer_size =
// 1000000000000"), `purpose` the allocation ("the replay buffer").
void CheckMemory(double bytes, const std::string& what, const std::string& purpose);

}  // namespace linklab::core
