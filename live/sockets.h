#pragma once
// The local TCP connections and their transport RTT, through INET_DIAG (NETLINK_SOCK_DIAG):
// what the live runner turns into each class's RTT samples and, in shadow mode (no tc classes
// of its own to count), each class's bytes.

#include <cstdint>
#include <vector>

namespace linklab::live {

struct TcpSocket {
  uint64_t cookie = 0;  // the kernel's id of the socket
  uint16_t local_port = 0, remote_port = 0;
  uint8_t tos = 0;  // the socket's TOS byte (DSCP << 2)
  bool ipv6 = false;
  double rtt_ms = 0.0;       // smoothed RTT of what it sent (tcpi_rtt); 0: none
  double rcv_rtt_ms = 0.0;   // the receiver's estimate (tcpi_rcv_rtt); 0: none
  uint64_t bytes_acked = 0;  // sent and acknowledged
  uint64_t bytes_received = 0;
};

// Every established TCP socket of this network namespace (IPv4 and IPv6). Throws
// std::runtime_error naming the failure (no permission, no sock_diag in the kernel).
std::vector<TcpSocket> ListTcpSockets();

}  // namespace linklab::live
