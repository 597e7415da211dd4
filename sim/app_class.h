#pragma once
// Application classes: the unit of measurement (LinkSample per class) and of shaping (one HTB
// class each). Packets carry their class as a DSCP mark, set by the sending application on
// both ends of a connection, so that the sim and a real Linux interface classify alike.

#include <array>
#include <cstdint>
#include <string>

namespace linklab::sim {

enum class AppClass : uint8_t { kBulk = 0, kVideo, kGaming, kWeb, kCross, kOther };
constexpr int kNumAppClasses = 6;

const char* AppClassName(AppClass c);  // "bulk", "video", "gaming", "web", "cross", "other"
// Throws std::invalid_argument naming `what` and listing the classes.
AppClass ParseAppClass(const std::string& name, const std::string& what);

// Latency rank, the order in which shaping profiles give classes their prio: gaming 0, web 1,
// video 2, bulk 3, cross 4, other 5.
int LatencyRank(AppClass c);

// DSCP marks: bulk CS1 (8), video AF41 (34), gaming EF (46), web AF21 (18), cross-traffic
// CS0 (0) shares "other"'s default. ToS byte = DSCP << 2.
uint8_t DefaultDscp(AppClass c);
// The class of a packet from its DSCP (unknown marks are kOther).
AppClass ClassOfDscp(uint8_t dscp);

}  // namespace linklab::sim
