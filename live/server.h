#pragma once
// linklab-live's HTTP server (cpp-httplib, one thread of its own): Prometheus text exposition
// and the JSON control API (source 004's client and provider API) over a ControlState.
//
//   GET  /metrics          Prometheus text format 0.0.4 of the state's registry
//   GET  /api/status       the loop's status document, with "adaptive" and "qos" added
//   GET  /api/decisions    the recent decisions, oldest first (?n=1..256, default 50)
//   POST /api/shaping      {"adaptive": true|false}: adaptive shaping on or off
//   POST /api/qos          {"class": "gaming", "min_mbps": 1, "max_rtt_ms": 100,
//                           "max_loss": 0.01}: a class's QoS requirement (keys other than
//                           "class" optional; null clears a bound)
// Changes (POST) need "Authorization: Bearer <token>" when the server listens on an address
// other than loopback; a request without it gets 401. Malformed JSON, unknown keys, wrong
// types, values out of range and bodies over max_body_bytes get a 4xx with {"error": "..."}
// and change nothing; an unknown path 404, a wrong method 405.

#include <memory>
#include <string>

#include "live/control.h"

namespace linklab::live {

struct ServerOptions {
  std::string address = "127.0.0.1";  // where to listen
  int port = 9464;                    // 0: any free port (see ControlServer::port)
  std::string token;                  // required (non-empty) when address is not loopback
  size_t max_body_bytes = 16384;
};

// Parses "ADDR:PORT" (IPv4 or [IPv6]:PORT); throws std::invalid_argument naming `what` and the
// value.
ServerOptions ParseListen(const std::string& text, const std::string& what = "--listen");
// Whether `address` is a loopback address (127.0.0.0/8, ::1, localhost).
bool IsLoopback(const std::string& address);

class ControlServer {
 public:
  // Binds and starts serving; throws std::invalid_argument for a non-loopback address without
  // a token, std::runtime_error naming ADDR:PORT when it cannot bind. httplib's constructor
  // sets SIGPIPE to SIG_IGN for the whole process.
  ControlServer(ControlState& state, ServerOptions options);
  // Stops serving and joins the threads: waits for open connections, up to the read timeout
  // (5 s) for one in the middle of a request, 2 s for an idle kept-alive one.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  int port() const { return port_; }  // the port bound
  const std::string& address() const { return options_.address; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  ServerOptions options_;
  int port_ = 0;
};

}  // namespace linklab::live
