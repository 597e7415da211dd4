#include "live/server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <utility>

#include "core/json.h"
#include "core/text.h"

namespace linklab::live {

namespace {

constexpr size_t kDefaultDecisions = 50;
constexpr time_t kReadTimeoutS = 5;
constexpr time_t kWriteTimeoutS = 5;
constexpr time_t kKeepAliveTimeoutS = 2;  // an idle keep-alive connection holds a worker
constexpr size_t kWorkerThreads = 4;

// The known paths and the one method each answers (HEAD too, for GET).
struct Route {
  const char* path;
  const char* method;
};
constexpr Route kRoutes[] = {{"/metrics", "GET"},
                             {"/api/status", "GET"},
                             {"/api/decisions", "GET"},
                             {"/api/shaping", "POST"},
                             {"/api/qos", "POST"}};

const Route* FindRoute(const std::string& path) {
  for (const Route& r : kRoutes) {
    if (path == r.path) return &r;
  }
  return nullptr;
}

// "ADDR:PORT", with an IPv6 address in brackets.
std::string HostPort(const std::string& address, int port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

bool ParseIpv4(const std::string& s, in_addr* out) {
  return inet_pton(AF_INET, s.c_str(), out) == 1;
}
bool ParseIpv6(const std::string& s, in6_addr* out) {
  return inet_pton(AF_INET6, s.c_str(), out) == 1;
}

// A value for an error message: its JSON text, cut to a line.
std::string Shown(const core::Json& v) {
  return core::Printable(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void SendJson(httplib::Response& res, int status, const core::Json& body) {
  // httplib cuts a body to a request's Range: 200 is left to it, so that it says 206 then.
  if (status != 200) res.status = status;
  res.set_content(core::DumpJson(body), "application/json");
}

void SendError(httplib::Response& res, int status, const std::string& message) {
  SendJson(res, status, core::Json{{"error", message}});
}

// Compares in time that depends on the lengths only, not on where the texts differ.
bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    diff |= static_cast<unsigned>(x ^ static_cast<unsigned char>(b[i]));
  }
  return diff == 0;
}

// A request body read with a bound: `status` 0 when it was read and fits, else the 4xx to
// answer with `message`.
struct Body {
  std::string text;
  int status = 0;
  std::string message;
};

// Reads the whole body (so that the connection stays in step for keep-alive), keeping at most
// `max_bytes`. httplib 0.11 bounds only bodies with a Content-Length (it answers 413 and skips
// them); chunked bodies and bodies without a length come here unbounded, hence the count.
Body ReadBody(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader, size_t max_bytes) {
  Body body;
  size_t total = 0;
  auto receive = [&](const char* data, size_t n) {
    total += n;
    if (total <= max_bytes) body.text.append(data, n);
    return true;
  };
  bool ok;
  if (req.is_multipart_form_data()) {
    // Drained through the multipart reader (the plain one has no part callbacks there).
    ok = reader([](const httplib::MultipartFormData&) { return true; },
                [&](const char*, size_t n) {
                  total += n;
                  return true;
                });
    if (ok) {
      body.status = 415;
      body.message = "multipart/form-data body: expected a JSON object (application/json)";
      return body;
    }
  } else {
    ok = reader(receive);
  }
  const std::string limit = "request body over " + std::to_string(max_bytes) + " bytes";
  if (!ok) {
    if (res.status == 413) {
      body.status = 413;
      body.message = limit + " (Content-Length " + req.get_header_value("Content-Length") + ")";
    } else if (res.status == 415) {
      body.status = 415;
      body.message = "Content-Encoding '" +
                     core::Printable(req.get_header_value("Content-Encoding")) + "' not supported";
    } else {
      body.status = 400;
      body.message = "cannot read the request body";
    }
    res.status = -1;
  } else if (total > max_bytes) {
    body.status = 413;
    body.message = limit + " (" + std::to_string(total) + ")";
  }
  return body;
}

// Throws std::invalid_argument unless `v` is an object whose keys are all in `allowed`.
void CheckObject(const core::Json& v, std::initializer_list<const char*> allowed) {
  if (!v.is_object()) {
    throw std::invalid_argument("expected a JSON object, got " + Shown(v));
  }
  for (const auto& item : v.items()) {
    bool known = false;
    for (const char* k : allowed) known = known || item.key() == k;
    if (!known) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      throw std::invalid_argument("unknown key '" + core::Printable(item.key()) + "' = " +
                                  Shown(item.value()) + " (keys: " + core::Join(names, ", ") + ")");
    }
  }
}

// What went wrong, for the errors httplib answers itself.
std::string StatusText(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 414:
      return "request URI too long";
    case 415:
      return "unsupported media type (Content-Encoding)";
    case 416:
      return "range not satisfiable";
    default:
      return "HTTP error " + std::to_string(status);
  }
}

core::Json QosToJson(const QosRequirement& q) {
  return {{"min_mbps", q.min_mbps}, {"max_rtt_ms", q.max_rtt_ms}, {"max_loss", q.max_loss}};
}

}  // namespace

ServerOptions ParseListen(const std::string& text, const std::string& what) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument(what + " '" + core::Printable(text) + "': " + why +
                                " (expected ADDR:PORT, e.g. 127.0.0.1:9464 or [::1]:9464)");
  };
  ServerOptions options;
  std::string port_text;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find("]:");
    if (close == std::string::npos) fail("'[' without ']:PORT'");
    options.address = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
    in6_addr a6;
    if (!ParseIpv6(options.address, &a6)) fail("not an IPv6 address in brackets");
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos) fail("no port");
    options.address = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (options.address.empty()) fail("no address");
    if (options.address.find(':') != std::string::npos) {
      fail("an IPv6 address goes in brackets");
    }
    const bool numeric = options.address.find_first_not_of("0123456789.") == std::string::npos;
    in_addr a4;
    if (numeric) {
      if (!ParseIpv4(options.address, &a4)) fail("not an IPv4 address");
    } else if (options.address.find_first_not_of(
                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") !=
                   std::string::npos ||
               options.address.front() == '-' || options.address.front() == '.') {
      fail("not an address or host name");
    }
  }
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos) {
    fail("port '" + core::Printable(port_text) + "' is not a number 0..65535");
  }
  const int port = std::stoi(port_text);
  if (port > 65535) fail("port " + port_text + " outside 0..65535");
  options.port = port;
  return options;
}

bool IsLoopback(const std::string& address) {
  std::string a = address;
  if (a.size() >= 2 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
  std::string lower;
  for (char ch : a) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (lower == "localhost") return true;
  in_addr a4;
  if (ParseIpv4(a, &a4)) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6;
  if (ParseIpv6(a, &a6)) {
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;  // ::ffff:127.x.x.x
  }
  return false;
}

struct ControlServer::Impl {
  Impl(ControlState& s, const ServerOptions& o) : state(s), options(o) {}

  // Whether `req` may change the state: always on loopback, else with the bearer token.
  bool Authorized(const httplib::Request& req) const {
    if (IsLoopback(options.address)) return true;
    return ConstantTimeEqual(req.get_header_value("Authorization"), "Bearer " + options.token);
  }

  // Reads and checks a POST (token, size, JSON) and hands the value to `apply`, which throws
  // std::invalid_argument for a 400.
  template <typename F>
  void HandlePost(const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader, F apply) {
    const bool authorized = Authorized(req);
    Body body = ReadBody(req, res, reader, options.max_body_bytes);
    if (!authorized) {
      res.set_header("WWW-Authenticate", "Bearer");
      const bool given = req.has_header("Authorization");
      SendError(res, 401, given ? "wrong token" : "changes need 'Authorization: Bearer <token>'");
      return;
    }
    if (body.status != 0) {
      SendError(res, body.status, body.message);
      return;
    }
    try {
      apply(core::ParseJson(body.text, "request body"), res);
    } catch (const std::invalid_argument& e) {
      SendError(res, 400, e.what());
    } catch (const nlohmann::json::exception& e) {
      // What core::ParseJson lets through: a number overflow ("1e400").
      std::string message = e.what();
      const size_t bracket = message.find("] ");
      if (bracket != std::string::npos) message = message.substr(bracket + 2);
      SendError(res, 400, "request body: not JSON (" + message + ")");
    }
  }

  void Metrics(httplib::Response& res) {
    res.set_content(prometheus::TextSerializer().Serialize(state.registry().Collect()),
                    "text/plain; version=0.0.4; charset=utf-8");
  }

  void Status(httplib::Response& res) {
    core::Json status;
    try {
      status = core::ParseJson(state.StatusJson(), "status document");
    } catch (const std::invalid_argument& e) {
      SendError(res, 500, e.what());
      return;
    }
    if (!status.is_object()) {
      SendError(res, 500, "status document is not a JSON object");
      return;
    }
    status["adaptive"] = state.adaptive();
    const std::map<sim::AppClass, QosRequirement> qos = state.qos();
    core::Json by_class = core::Json::object();
    for (sim::AppClass c : state.classes()) {
      by_class[sim::AppClassName(c)] = QosToJson(qos.at(c));
    }
    status["qos"] = std::move(by_class);
    SendJson(res, 200, status);
  }

  void Decisions(const httplib::Request& req, httplib::Response& res) {
    size_t n = kDefaultDecisions;
    if (req.has_param("n")) {
      const std::string text = req.get_param_value("n");
      const bool digits = !text.empty() && text.size() <= 4 &&
                          text.find_first_not_of("0123456789") == std::string::npos;
      const int value = digits ? std::stoi(text) : 0;
      if (value < 1 || value > static_cast<int>(ControlState::kMaxDecisions)) {
        SendError(res, 400,
                  "n = '" + core::Printable(text) + "': expected an integer 1.." +
                      std::to_string(ControlState::kMaxDecisions));
        return;
      }
      n = static_cast<size_t>(value);
    }
    core::Json list = core::Json::array();
    for (const Decision& d : state.RecentDecisions(n)) list.push_back(DecisionToJson(d));
    SendJson(res, 200,
             core::Json{{"decisions", std::move(list)}, {"total", state.decisions_total()}});
  }

  void Shaping(const core::Json& v, httplib::Response& res) {
    CheckObject(v, {"adaptive"});
    if (!v.contains("adaptive")) throw std::invalid_argument("missing key 'adaptive'");
    const core::Json& on = v.at("adaptive");
    if (!on.is_boolean()) {
      throw std::invalid_argument("adaptive = " + Shown(on) + ": expected true or false");
    }
    state.SetAdaptive(on.get<bool>());
    SendJson(res, 200, core::Json{{"adaptive", on.get<bool>()}});
  }

  void Qos(const core::Json& v, httplib::Response& res) {
    CheckObject(v, {"class", "min_mbps", "max_rtt_ms", "max_loss"});
    if (!v.contains("class")) throw std::invalid_argument("missing key 'class'");
    const core::Json& name = v.at("class");
    if (!name.is_string()) {
      throw std::invalid_argument("class = " + Shown(name) + ": expected a class name");
    }
    const sim::AppClass c = sim::ParseAppClass(name.get<std::string>(), "class");
    // One change at a time, so that two posts for a class do not lose each other's keys.
    std::lock_guard<std::mutex> lock(qos_mutex);
    const std::map<sim::AppClass, QosRequirement> all = state.qos();
    auto it = all.find(c);
    QosRequirement q = it == all.end() ? QosRequirement{} : it->second;
    auto merge = [&](const char* key, double cleared, double* field) {
      if (!v.contains(key)) return;
      const core::Json& x = v.at(key);
      if (x.is_null()) {
        *field = cleared;
      } else if (x.is_number()) {
        *field = x.get<double>();
      } else {
        throw std::invalid_argument(std::string(key) + " = " + Shown(x) +
                                    ": expected a number or null");
      }
    };
    merge("min_mbps", 0.0, &q.min_mbps);
    merge("max_rtt_ms", NAN, &q.max_rtt_ms);
    merge("max_loss", NAN, &q.max_loss);
    state.SetQos(c, q);  // validates; throws (a 400) for an unshaped class or a bad value
    core::Json out = {{"class", sim::AppClassName(c)}};
    out.update(QosToJson(q));
    SendJson(res, 200, out);
  }

  // 404 for an unknown path, 405 for a known one asked with another method; a JSON body for
  // every error that has none yet.
  void Error(const httplib::Request& req, httplib::Response& res) {
    const Route* route = FindRoute(req.path);
    const bool no_such_method =
        res.status == 404 ||
        (res.status == 400 && (req.method == "TRACE" || req.method == "CONNECT"));
    if (route != nullptr && no_such_method && res.body.empty()) {
      res.status = 405;
      res.set_header("Allow", std::string(route->method) == "GET" ? "GET, HEAD" : "POST");
      SendError(res, 405,
                req.method + " " + req.path + ": method not allowed (use " + route->method + ")");
      return;
    }
    if (!res.body.empty()) return;
    if (res.status == 404) {
      SendError(res, 404, "no such path: " + core::Printable(req.path));
    } else if (res.status == 413) {
      SendError(res, 413, "request body over " + std::to_string(options.max_body_bytes) + " bytes");
    } else {
      SendError(res, res.status, StatusText(res.status));
    }
  }

  ControlState& state;
  ServerOptions options;
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> finished{false};
  std::mutex qos_mutex;
};

ControlServer::ControlServer(ControlState& state, ServerOptions options)
    : options_(std::move(options)) {
  const std::string listen = HostPort(options_.address, options_.port);
  if (options_.port < 0 || options_.port > 65535) {
    throw std::invalid_argument("--listen " + listen + ": port outside 0..65535");
  }
  if (!IsLoopback(options_.address) && options_.token.empty()) {
    throw std::invalid_argument("--listen " + listen +
                                ": an address other than loopback needs a token (changes "
                                "would be open to the network)");
  }
  if (options_.max_body_bytes == 0) {
    throw std::invalid_argument("ControlServer: max_body_bytes must be > 0");
  }
  impl_ = std::make_unique<Impl>(state, options_);
  Impl* impl = impl_.get();
  httplib::Server& server = impl->server;

  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  // httplib's default sets SO_REUSEPORT, which lets a second server bind a port in use;
  // SO_REUSEADDR alone only allows rebinding over TIME_WAIT connections.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.set_read_timeout(kReadTimeoutS, 0);
  server.set_write_timeout(kWriteTimeoutS, 0);
  server.set_keep_alive_timeout(kKeepAliveTimeoutS);
  server.set_payload_max_length(options_.max_body_bytes);

  server.Get("/metrics",
             [impl](const httplib::Request&, httplib::Response& res) { impl->Metrics(res); });
  server.Get("/api/status",
             [impl](const httplib::Request&, httplib::Response& res) { impl->Status(res); });
  server.Get("/api/decisions", [impl](const httplib::Request& req, httplib::Response& res) {
    impl->Decisions(req, res);
  });
  server.Post("/api/shaping", [impl](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
    impl->HandlePost(req, res, reader,
                     [impl](const core::Json& v, httplib::Response& r) { impl->Shaping(v, r); });
  });
  server.Post("/api/qos", [impl](const httplib::Request& req, httplib::Response& res,
                                 const httplib::ContentReader& reader) {
    impl->HandlePost(req, res, reader,
                     [impl](const core::Json& v, httplib::Response& r) { impl->Qos(v, r); });
  });
  // Every other request with a body: read it within the bound, then 404 or 405.
  auto other = [impl](const httplib::Request& req, httplib::Response& res,
                      const httplib::ContentReader& reader) {
    Body body = ReadBody(req, res, reader, impl->options.max_body_bytes);
    if (body.status == 413 || body.status == 400) {
      SendError(res, body.status, body.message);
      return;
    }
    res.status = 404;
    impl->Error(req, res);
  };
  server.Post(".*", other);
  server.Put(".*", other);
  server.Patch(".*", other);
  server.Delete(".*", other);
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [impl](const httplib::Request& req, httplib::Response& res) {
        impl->Error(req, res);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        SendError(res, 500, "internal error: " + what);
      });

  errno = 0;
  bool bound;
  if (options_.port == 0) {
    port_ = server.bind_to_any_port(options_.address);
    bound = port_ > 0;
  } else {
    port_ = options_.port;
    bound = server.bind_to_port(options_.address, options_.port);
  }
  if (!bound) {
    const int err = errno;
    throw std::runtime_error("--listen " + listen + ": cannot bind" +
                             (err != 0 ? std::string(" (") + std::strerror(err) + ")" : ""));
  }

  impl->thread = std::thread([impl] {
    impl->server.listen_after_bind();
    impl->finished = true;
  });
  // stop() acts only once the server runs: wait for that, so that the destructor never misses.
  while (!server.is_running() && !impl->finished) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

ControlServer::~ControlServer() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace linklab::live
