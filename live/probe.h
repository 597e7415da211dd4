#pragma once
// The RTT probe: ICMP echo requests to a reflector every interval, as cake-autorate pings its
// reflectors. The replies cross the shaping point in the class ICMP belongs to (the game's
// echoes in the sim's terms), so their RTT is the delay of a packet that waits in no long
// queue of ours: what the baselines and policies read as the link's queueing delay. IPv4, a
// raw socket (linklab-live runs as root for tc anyway).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace linklab::live {

class IcmpProbe {
 public:
  // `host`: an IPv4 address. Throws std::invalid_argument for a bad address,
  // std::runtime_error when the socket cannot be made (no permission).
  explicit IcmpProbe(const std::string& host);
  ~IcmpProbe();
  IcmpProbe(const IcmpProbe&) = delete;
  IcmpProbe& operator=(const IcmpProbe&) = delete;

  // Sends one echo request (never blocks; a failed send counts as a lost probe).
  void Send();
  // The RTTs (ms) of the replies that came since the last call; requests older than 10 s are
  // forgotten (lost).
  std::vector<double> Collect();
  uint64_t sent() const { return sent_; }
  uint64_t received() const { return received_; }
  const std::string& host() const { return host_; }

 private:
  std::string host_;
  int fd_ = -1;
  uint16_t id_ = 0, seq_ = 0;
  uint32_t addr_ = 0;                   // network order
  std::map<uint16_t, double> pending_;  // sequence -> when sent (CLOCK_REALTIME, s)
  uint64_t sent_ = 0, received_ = 0;
};

}  // namespace linklab::live
