#include "live/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace linklab::live {

namespace {

uint16_t Checksum(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

}  // namespace

IcmpProbe::IcmpProbe(const std::string& host) : host_(host) {
  in_addr a{};
  if (inet_pton(AF_INET, host.c_str(), &a) != 1) {
    throw std::invalid_argument("--probe " + host + ": not an IPv4 address");
  }
  addr_ = a.s_addr;
  fd_ = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
  if (fd_ < 0) {
    throw std::runtime_error("--probe " + host + ": cannot open an ICMP socket: " +
                             std::strerror(errno) + (errno == EPERM ? " (run as root)" : ""));
  }
  id_ = static_cast<uint16_t>(getpid() & 0xFFFF);
  // The kernel stamps each reply on arrival: replies are read once per interval, later.
  const int on = 1;
  if (setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) {
    close(fd_);
    throw std::runtime_error("--probe " + host + ": SO_TIMESTAMPNS: " + std::strerror(errno));
  }
}

IcmpProbe::~IcmpProbe() {
  if (fd_ >= 0) close(fd_);
}

void IcmpProbe::Send() {
  struct {
    icmphdr h;
    uint8_t payload[16];
  } msg{};
  msg.h.type = ICMP_ECHO;
  msg.h.un.echo.id = htons(id_);
  msg.h.un.echo.sequence = htons(++seq_);
  std::memcpy(msg.payload, "linklab-live", 12);
  msg.h.checksum = Checksum(&msg, sizeof msg);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = addr_;
  ++sent_;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  if (sendto(fd_, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0) {
    pending_[seq_] = now.tv_sec + now.tv_nsec * 1e-9;
  }
}

std::vector<double> IcmpProbe::Collect() {
  std::vector<double> rtts;
  uint8_t buf[1500];
  alignas(cmsghdr) char control[256];
  for (;;) {
    sockaddr_in from{};
    iovec iov{buf, sizeof buf};
    msghdr m{};
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    const ssize_t n = recvmsg(fd_, &m, 0);
    if (n < 0) break;  // EAGAIN: nothing more
    double arrived = -1;
    for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec t{};
        std::memcpy(&t, CMSG_DATA(c), sizeof t);
        arrived = t.tv_sec + t.tv_nsec * 1e-9;
      }
    }
    if (arrived < 0) continue;
    const auto* ip = reinterpret_cast<const iphdr*>(buf);
    const size_t ihl = static_cast<size_t>(ip->ihl) * 4;
    if (static_cast<size_t>(n) < ihl + sizeof(icmphdr) || from.sin_addr.s_addr != addr_) continue;
    const auto* h = reinterpret_cast<const icmphdr*>(buf + ihl);
    if (h->type != ICMP_ECHOREPLY || ntohs(h->un.echo.id) != id_) continue;
    const auto it = pending_.find(ntohs(h->un.echo.sequence));
    if (it == pending_.end()) continue;
    const double rtt_ms = (arrived - it->second) * 1e3;
    // A step of the wall clock between send and arrival gives nonsense: drop it.
    if (rtt_ms >= 0 && rtt_ms < 10000) rtts.push_back(rtt_ms);
    pending_.erase(it);
    ++received_;
  }
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const double old = now.tv_sec + now.tv_nsec * 1e-9 - 10.0;
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = it->second < old ? pending_.erase(it) : std::next(it);
  }
  return rtts;
}

}  // namespace linklab::live
