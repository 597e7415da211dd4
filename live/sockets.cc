#include "live/sockets.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace linklab::live {

namespace {

constexpr uint32_t kEstablished = 1;  // TCP_ESTABLISHED

class DiagSocket {
 public:
  DiagSocket() : fd_(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) {
    if (fd_ < 0) {
      throw std::runtime_error(std::string("inet_diag: cannot open a sock_diag socket: ") +
                               std::strerror(errno));
    }
  }
  ~DiagSocket() { close(fd_); }
  DiagSocket(const DiagSocket&) = delete;
  DiagSocket& operator=(const DiagSocket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

void Dump(int fd, uint8_t family, std::vector<TcpSocket>& out) {
  struct {
    nlmsghdr nlh;
    inet_diag_req_v2 req;
  } msg{};
  msg.nlh.nlmsg_len = sizeof msg;
  msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  msg.req.sdiag_family = family;
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = 1u << kEstablished;
  msg.req.idiag_ext =
      (1u << (INET_DIAG_INFO - 1)) | (1u << (INET_DIAG_TOS - 1)) | (1u << (INET_DIAG_TCLASS - 1));
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
    throw std::runtime_error(std::string("inet_diag: request: ") + std::strerror(errno));
  }
  alignas(nlmsghdr) char buf[32768];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("inet_diag: receive: ") + std::strerror(errno));
    }
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) return;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) continue;
        throw std::runtime_error(std::string("inet_diag: the kernel refused the dump: ") +
                                 std::strerror(-e->error));
      }
      const auto* d = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
      TcpSocket s;
      s.cookie = (static_cast<uint64_t>(d->id.idiag_cookie[1]) << 32) | d->id.idiag_cookie[0];
      s.local_port = ntohs(d->id.idiag_sport);
      s.remote_port = ntohs(d->id.idiag_dport);
      s.ipv6 = family == AF_INET6;
      int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *d));
      for (auto* a = reinterpret_cast<rtattr*>(const_cast<inet_diag_msg*>(d) + 1); RTA_OK(a, len);
           a = RTA_NEXT(a, len)) {
        if (a->rta_type == (s.ipv6 ? INET_DIAG_TCLASS : INET_DIAG_TOS) && RTA_PAYLOAD(a) >= 1) {
          s.tos = *static_cast<const uint8_t*>(RTA_DATA(a));  // the traffic class for IPv6
        } else if (a->rta_type == INET_DIAG_INFO) {
          tcp_info info{};
          std::memcpy(&info, RTA_DATA(a), std::min<size_t>(RTA_PAYLOAD(a), sizeof info));
          s.rtt_ms = info.tcpi_rtt / 1000.0;
          s.rcv_rtt_ms = info.tcpi_rcv_rtt / 1000.0;
          s.bytes_acked = info.tcpi_bytes_acked;
          s.bytes_received = info.tcpi_bytes_received;
        }
      }
      out.push_back(s);
    }
  }
}

}  // namespace

std::vector<TcpSocket> ListTcpSockets() {
  DiagSocket sock;
  std::vector<TcpSocket> out;
  Dump(sock.fd(), AF_INET, out);
  Dump(sock.fd(), AF_INET6, out);
  return out;
}

}  // namespace linklab::live
