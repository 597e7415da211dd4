#include "experiments/bottleneck.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/json.h"
#include "core/rng.h"
#include "core/text.h"

namespace linklab::experiments {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kNetnsPrefix = "linklab-lab-";

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string Bits(double bps) { return std::to_string(std::llround(bps)) + "bit"; }

// HTB's burst for a rate: a millisecond at that rate plus a packet, as sim::HtbBurstBytes.
std::string BurstBytes(double bps) {
  return std::to_string(std::llround(bps / 8.0 * 0.001 + 1600.0)) + "b";
}

std::string Program(const std::string& name) {
  const std::string path = FindProgram(name);
  if (path.empty()) throw BottleneckUnavailable(name + " not found on PATH");
  return path;
}

double Clamped(double mbps) { return std::max(mbps, kMinCapacityMbps); }

}  // namespace

std::string BottleneckMissing() {
  if (geteuid() != 0) return "not root (network namespaces and tc need root)";
  for (const char* program : {"ip", "tc", "ss", "iperf3", "ping"}) {
    if (FindProgram(program).empty()) return std::string(program) + " not found on PATH";
  }
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::string("no TCP socket: ") + std::strerror(errno);
  const std::string tcp = "cubic";
  const int r = setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, tcp.data(), tcp.size());
  const int err = errno;
  close(fd);
  if (r != 0) return "TCP congestion control " + tcp + " not available: " + std::strerror(err);
  return "";
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return std::nan("");
  if (!(q >= 0.0 && q <= 1.0)) {
    throw std::invalid_argument("Percentile: q = " + core::FormatDouble(q) + " not in [0, 1]");
  }
  std::sort(values.begin(), values.end());
  const double at = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(at));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (at - static_cast<double>(lo));
}

std::vector<double> SyntheticCellularSeriesMbps(double duration_s, double step_s, uint64_t seed) {
  if (!(duration_s > 0) || !(step_s > 0) || duration_s / step_s > 1e7) {
    throw std::invalid_argument("synthetic series: duration " + core::FormatDouble(duration_s) +
                                " s and step " + core::FormatDouble(step_s) +
                                " s must be > 0 (at most 1e7 steps)");
  }
  constexpr double kLow = 4.0, kHigh = 20.0;
  const size_t n = static_cast<size_t>(std::llround(duration_s / step_s));
  core::Rng rng(seed);
  std::vector<double> out;
  out.reserve(n);
  double level = 12.0;
  while (out.size() < n) {
    // A segment of 1 to 4 s: a hold, a step to a new level, or a ramp to it.
    const size_t len = std::max<size_t>(1, std::llround(rng.Uniform(1.0, 4.0) / step_s));
    const double target = rng.Uniform(kLow, kHigh);
    const uint64_t kind = rng.UniformInt(3);
    const double start = level;
    for (size_t i = 0; i < len && out.size() < n; ++i) {
      double v = level;
      if (kind == 1) v = target;
      if (kind == 2) v = start + (target - start) * static_cast<double>(i + 1) / len;
      // Fading: a little fast noise on top, as a cellular link's scheduler gives.
      v += rng.Uniform(-0.5, 0.5);
      out.push_back(std::clamp(v, kLow, kHigh));
    }
    if (kind != 0) level = target;
  }
  return out;
}

PingResult ParsePing(const std::string& text, int sent) {
  PingResult r;
  r.sent = sent;
  for (const std::string& line : core::Split(text, '\n')) {
    if (line.find("bytes from") == std::string::npos) continue;
    size_t at = line.find("time=");
    if (at == std::string::npos) at = line.find("time<");
    if (at == std::string::npos) continue;
    r.rtt_ms.push_back(std::strtod(line.c_str() + at + 5, nullptr));
  }
  r.p50_ms = Percentile(r.rtt_ms, 0.50);
  r.p95_ms = Percentile(r.rtt_ms, 0.95);
  r.p99_ms = Percentile(r.rtt_ms, 0.99);
  r.loss_fraction =
      sent > 0 ? std::max(0.0, 1.0 - static_cast<double>(r.rtt_ms.size()) / sent) : 0.0;
  return r;
}

FlowResult ParseIperfReport(const std::string& json_text, int port, const std::string& what) {
  FlowResult f;
  f.port = port;
  try {
    const core::Json report = core::ParseJson(json_text, "iperf3 -J output");
    if (report.contains("error")) {
      throw std::runtime_error("`" + what + "`: " + report.at("error").get<std::string>());
    }
    const core::Json& end = report.at("end");
    const core::Json& received = end.at("sum_received");
    f.mbps = received.at("bits_per_second").get<double>() / 1e6;
    f.seconds = received.value("seconds", 0.0);
    if (end.contains("sum_sent"))
      f.retransmits = end.at("sum_sent").value("retransmits", int64_t{0});
    f.tcp = end.value("sender_tcp_congestion", std::string());
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("`" + what + "`: unexpected JSON (" + e.what() + ")");
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("`" + what + "`: " + e.what());
  }
  return f;
}

EmulatedBottleneck::EmulatedBottleneck(BottleneckOptions options) : options_(std::move(options)) {
  if (options_.capacity_mbps.empty()) {
    throw std::invalid_argument("bottleneck: empty capacity series");
  }
  for (size_t i = 0; i < options_.capacity_mbps.size(); ++i) {
    const double v = options_.capacity_mbps[i];
    if (!std::isfinite(v) || v < 0 || v > 100000) {
      throw std::invalid_argument("bottleneck: capacity series step " + std::to_string(i) + " = " +
                                  core::FormatDouble(v) + " Mbit/s: must be in [0, 100000]");
    }
  }
  if (!(options_.step_s >= 0.01 && options_.step_s <= 60)) {
    throw std::invalid_argument("bottleneck: step " + core::FormatDouble(options_.step_s) +
                                " s: must be in [0.01, 60]");
  }
  if (options_.buffer_packets < 1 || options_.buffer_packets > 100000) {
    throw std::invalid_argument("bottleneck: buffer " + std::to_string(options_.buffer_packets) +
                                " packets: must be in [1, 100000]");
  }
  const std::string missing = BottleneckMissing();
  if (!missing.empty()) throw BottleneckUnavailable(missing);
  ip_ = Program("ip");
  tc_ = Program("tc");
  ss_ = Program("ss");
  iperf3_ = Program("iperf3");
  ping_ = Program("ping");
  try {
    Build();
  } catch (...) {
    Remove();
    throw;
  }
  thread_ = std::thread([this] { ThreadMain(); });
}

EmulatedBottleneck::~EmulatedBottleneck() {
  StopThread();
  Remove();
}

void EmulatedBottleneck::StopThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EmulatedBottleneck::RestartSeries() {
  StopThread();
  CheckHealthy();
  const double mbps = Clamped(options_.capacity_mbps[0]);
  Apply(mbps);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = false;
    t0_ = Clock::now();
    current_mbps_ = mbps;
    applied_.assign(1, {0.0, mbps});
  }
  thread_ = std::thread([this] { ThreadMain(); });
}

void EmulatedBottleneck::Build() {
  static std::atomic<int> runs{0};
  const std::string pid = std::to_string(getpid());
  const std::string id = pid + "-" + std::to_string(++runs);
  near_ns_ = kNetnsPrefix + id + "-near";
  link_ns_ = kNetnsPrefix + id + "-link";
  far_ns_ = kNetnsPrefix + id + "-far";
  // Device names: at most 15 characters ("lb" + pid up to 7 digits + "-" + run + a letter).
  const std::string dev = "lb" + pid + "-" + std::to_string(runs % 1000);
  near_dev_ = dev + "n";
  link_near_dev_ = dev + "b";
  link_far_dev_ = dev + "c";
  far_dev_ = dev + "f";
  RemoveStaleNamespaces(ip_, kNetnsPrefix);
  try {
    for (const std::string& ns : {near_ns_, link_ns_, far_ns_}) {
      Run({ip_, "netns", "add", ns});
      made_.push_back(ns);
    }
    Run({ip_, "-n", near_ns_, "link", "add", "name", near_dev_, "type", "veth", "peer", "name",
         link_near_dev_, "netns", link_ns_});
    Run({ip_, "-n", far_ns_, "link", "add", "name", far_dev_, "type", "veth", "peer", "name",
         link_far_dev_, "netns", link_ns_});
  } catch (const std::runtime_error& e) {
    throw BottleneckUnavailable(std::string("cannot make network namespaces and veth pairs: ") +
                                e.what());
  }
  const std::string ethtool = FindProgram("ethtool");
  const std::vector<std::pair<std::string, std::string>> ends = {{near_ns_, near_dev_},
                                                                 {link_ns_, link_near_dev_},
                                                                 {link_ns_, link_far_dev_},
                                                                 {far_ns_, far_dev_}};
  for (const auto& [ns, d] : ends) {
    // MTU-sized packets at the qdiscs: GSO would hand HTB 64 KB super-packets.
    Run({ip_, "-n", ns, "link", "set", "dev", d, "gso_max_segs", "1"});
    if (!ethtool.empty()) {
      Run({ip_, "netns", "exec", ns, ethtool, "-K", d, "tso", "off", "gso", "off", "gro", "off"});
    }
  }
  Run({ip_, "-n", near_ns_, "addr", "add", near_ip_ + "/30", "dev", near_dev_});
  Run({ip_, "-n", link_ns_, "addr", "add", "10.214.0.2/30", "dev", link_near_dev_});
  Run({ip_, "-n", link_ns_, "addr", "add", "10.214.0.5/30", "dev", link_far_dev_});
  Run({ip_, "-n", far_ns_, "addr", "add", far_ip_ + "/30", "dev", far_dev_});
  for (const auto& [ns, d] : ends) Run({ip_, "-n", ns, "link", "set", "dev", d, "up"});
  for (const std::string& ns : {near_ns_, link_ns_, far_ns_}) {
    Run({ip_, "-n", ns, "link", "set", "dev", "lo", "up"});
  }
  Run({ip_, "-n", near_ns_, "route", "add", "default", "via", "10.214.0.2"});
  Run({ip_, "-n", far_ns_, "route", "add", "default", "via", "10.214.0.5"});
  const std::string sysctl = FindProgram("sysctl");
  if (!sysctl.empty()) {
    Run({ip_, "netns", "exec", link_ns_, sysctl, "-qw", "net.ipv4.ip_forward=1"});
  } else {
    Run({ip_, "netns", "exec", link_ns_, "/bin/sh", "-c",
         "echo 1 > /proc/sys/net/ipv4/ip_forward"});
  }
  // The bottleneck: HTB root class 1:1 (unclassified traffic's default) over a deep pfifo.
  const double mbps = Clamped(options_.capacity_mbps[0]);
  const std::vector<std::string> tc = {tc_, "-n", link_ns_};
  auto cmd = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = tc;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  try {
    Run(cmd(
        {"qdisc", "add", "dev", link_near_dev_, "root", "handle", "1:", "htb", "default", "1"}));
  } catch (const std::runtime_error& e) {
    throw BottleneckUnavailable(std::string("no htb queue disc (sch_htb): ") + e.what());
  }
  Run(cmd({"class", "add", "dev", link_near_dev_, "parent", "1:", "classid", "1:1", "htb", "rate",
           Bits(mbps * 1e6), "ceil", Bits(mbps * 1e6), "burst", BurstBytes(mbps * 1e6), "cburst",
           BurstBytes(mbps * 1e6)}));
  try {
    Run(cmd({"qdisc", "add", "dev", link_near_dev_, "parent", "1:1", "handle", "10:", "pfifo",
             "limit", std::to_string(options_.buffer_packets)}));
  } catch (const std::runtime_error& e) {
    throw BottleneckUnavailable(std::string("no pfifo queue disc: ") + e.what());
  }
  t0_ = Clock::now();
  current_mbps_ = mbps;
  applied_.push_back({0.0, mbps});
}

void EmulatedBottleneck::Remove() noexcept {
  // Deleting a namespace removes its veth ends, and with them the pairs.
  DeleteNamespaces(ip_, made_);
  made_.clear();
}

void EmulatedBottleneck::Apply(double mbps) {
  const double bps = mbps * 1e6;
  Run({tc_,      "-n",      link_ns_,  "class",         "change", "dev",          link_near_dev_,
       "parent", "1:",      "classid", "1:1",           "htb",    "rate",         Bits(bps),
       "ceil",   Bits(bps), "burst",   BurstBytes(bps), "cburst", BurstBytes(bps)},
      kCommandTimeoutS, false);
}

void EmulatedBottleneck::ThreadMain() {
  const std::vector<double>& series = options_.capacity_mbps;
  const size_t n = series.size();
  int64_t step = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_) {
    const auto when = t0_ + std::chrono::duration_cast<Clock::duration>(
                                std::chrono::duration<double>((step + 1) * options_.step_s));
    if (wake_.wait_until(lock, when, [this] { return stop_; })) break;
    // The step in force now: a late wake-up (a slow tc) skips the steps it missed.
    step = std::max<int64_t>(step + 1, static_cast<int64_t>(Since(t0_) / options_.step_s));
    const double mbps = Clamped(series[static_cast<size_t>(step) % n]);
    if (mbps == current_mbps_) continue;
    lock.unlock();
    std::string error;
    try {
      Apply(mbps);
    } catch (const std::exception& e) {
      error = e.what();
    }
    const double t = Since(t0_);
    lock.lock();
    if (!error.empty()) {
      thread_error_ = "bottleneck capacity thread: " + error;
      break;
    }
    applied_.push_back({t, mbps});
    current_mbps_ = mbps;
  }
}

double EmulatedBottleneck::CurrentCapacityMbps() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_mbps_;
}

double EmulatedBottleneck::MeanCapacityMbps() const {
  double sum = 0.0;
  for (double v : options_.capacity_mbps) sum += Clamped(v);
  return sum / static_cast<double>(options_.capacity_mbps.size());
}

std::vector<CapacityChange> EmulatedBottleneck::AppliedCapacity() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return applied_;
}

double EmulatedBottleneck::MeanAppliedMbps(double t0_s, double t1_s) const {
  const std::vector<CapacityChange> changes = AppliedCapacity();
  if (!(t1_s > t0_s) || changes.empty()) return std::nan("");
  double integral = 0.0;
  for (size_t i = 0; i < changes.size(); ++i) {
    const double a = std::max(changes[i].t_s, t0_s);
    const double b = std::min(i + 1 < changes.size() ? changes[i + 1].t_s : t1_s, t1_s);
    if (b > a) integral += changes[i].mbps * (b - a);
  }
  return integral / (t1_s - std::max(t0_s, changes.front().t_s));
}

double EmulatedBottleneck::ElapsedS() const { return Since(t0_); }

void EmulatedBottleneck::CheckHealthy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!thread_error_.empty()) throw std::runtime_error(thread_error_);
}

std::unique_ptr<Child> EmulatedBottleneck::Spawn(const std::string& ns,
                                                 std::vector<std::string> argv) const {
  if (argv.empty()) throw std::invalid_argument("bottleneck: Spawn of an empty command line");
  std::vector<std::string> full = {ip_, "netns", "exec", ns};
  full.insert(full.end(), argv.begin(), argv.end());
  return std::make_unique<Child>(std::move(full));
}

std::unique_ptr<Child> EmulatedBottleneck::StartIperfServer(int port) const {
  auto server = Spawn(far_ns_, {iperf3_, "-s", "-1", "-p", std::to_string(port)});
  const Clock::time_point t0 = Clock::now();
  const std::string needle = ":" + std::to_string(port) + " ";
  while (true) {
    const std::string text = Run({ip_, "netns", "exec", far_ns_, ss_, "-H", "-l", "-t", "-n"});
    if (text.find(needle) != std::string::npos) return server;
    if (!server->Running()) throw std::runtime_error(server->Failure());
    if (Since(t0) > 5.0) {
      throw std::runtime_error("`" + server->Text() + "` is not listening after 5 s");
    }
    Sleep(0.02);
  }
}

std::unique_ptr<Child> EmulatedBottleneck::StartDownlinkFlow(int port, double duration_s) const {
  const int t = std::max(1, static_cast<int>(std::lround(duration_s)));
  return Spawn(near_ns_,
               {iperf3_, "-c", far_ip_, "-R", "-C", options_.tcp, "-J", "-t", std::to_string(t),
                "-p", std::to_string(port), "--connect-timeout", "5000"});
}

FlowResult EmulatedBottleneck::FinishFlow(Child& client, int port) const {
  // iperf3 -t T runs T seconds after its connection; its end exchange takes a moment more.
  if (!client.Wait(3600.0)) throw std::runtime_error("`" + client.Text() + "` did not finish");
  if (client.exit_code() != 0) throw std::runtime_error(IperfFailure(client));
  FlowResult f = ParseIperfReport(client.Out(), port, client.Text());
  if (f.tcp != options_.tcp) {
    throw std::runtime_error("`" + client.Text() + "` ran " + (f.tcp.empty() ? "?" : f.tcp) +
                             ", not " + options_.tcp);
  }
  return f;
}

std::unique_ptr<Child> EmulatedBottleneck::StartPing(int count, double interval_s, int tos) const {
  if (count < 1 || !(interval_s >= 0.01)) {
    throw std::invalid_argument("bottleneck: ping count " + std::to_string(count) +
                                " and interval " + core::FormatDouble(interval_s) +
                                " s must be >= 1 and >= 0.01 s");
  }
  char interval[32];
  std::snprintf(interval, sizeof interval, "%.3f", interval_s);
  std::vector<std::string> argv = {ping_, "-n", "-i", interval, "-c", std::to_string(count)};
  if (tos >= 0) {
    argv.push_back("-Q");
    argv.push_back(std::to_string(tos));
  }
  argv.push_back(far_ip_);
  return Spawn(near_ns_, std::move(argv));
}

PingResult EmulatedBottleneck::FinishPing(Child& ping, int count) const {
  if (!ping.Wait(3600.0)) throw std::runtime_error("`" + ping.Text() + "` did not finish");
  // Exit 1: some replies missing (counted as loss); 2 and more: an error.
  if (ping.exit_code() != 0 && ping.exit_code() != 1) throw std::runtime_error(ping.Failure());
  return ParsePing(ping.Out(), count);
}

PingResult EmulatedBottleneck::Ping(int count, double interval_s, int tos) const {
  auto ping = StartPing(count, interval_s, tos);
  return FinishPing(*ping, count);
}

LoadResult EmulatedBottleneck::RunLoad(const LoadOptions& load) const {
  if (load.ports.empty() || !(load.duration_s >= 1) ||
      !(load.ping_after_s >= 0 && load.ping_after_s < load.duration_s - 1)) {
    throw std::invalid_argument(
        "bottleneck load: needs a port, a duration >= 1 s and ping_after_s in [0, duration - 1)");
  }
  std::vector<std::unique_ptr<Child>> servers, clients;
  for (int port : load.ports) servers.push_back(StartIperfServer(port));
  for (int port : load.ports) clients.push_back(StartDownlinkFlow(port, load.duration_s));
  Sleep(load.ping_after_s);
  for (auto& c : clients) {
    if (!c->Running() && c->exit_code() != 0) throw std::runtime_error(IperfFailure(*c));
  }
  // The probe ends a second before the flows do.
  const int count = std::max(
      1, static_cast<int>((load.duration_s - load.ping_after_s - 1.0) / load.ping_interval_s));
  auto ping = StartPing(count, load.ping_interval_s, load.ping_tos);
  LoadResult r;
  r.ping = FinishPing(*ping, count);
  for (size_t i = 0; i < clients.size(); ++i) {
    r.flows.push_back(FinishFlow(*clients[i], load.ports[i]));
    r.total_mbps += r.flows.back().mbps;
  }
  for (auto& s : servers) {
    if (!s->Wait(5.0)) s->Stop();
  }
  CheckHealthy();
  return r;
}

HttpResponse HttpGetInNamespace(const std::string& ns, const std::string& host, int port,
                                const std::string& path, double timeout_s) {
  const std::string what = "GET http://" + host + ":" + std::to_string(port) + path + " in " + ns;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    throw std::invalid_argument(what + ": not an IPv4 address");
  }
  // A socket belongs to the namespace of the thread that made it: a thread of its own enters
  // the namespace, makes the socket and ends; the socket then works from any thread.
  int fd = -1;
  std::string error;
  std::thread maker([&] {
    const int ns_fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) {
      error = std::string("open /run/netns/") + ns + ": " + std::strerror(errno);
      return;
    }
    if (setns(ns_fd, CLONE_NEWNET) != 0) {
      error = std::string("setns: ") + std::strerror(errno);
    } else {
      fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) error = std::string("socket: ") + std::strerror(errno);
    }
    close(ns_fd);
  });
  maker.join();
  if (fd < 0) throw std::runtime_error(what + ": " + error);
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  const Clock::time_point t0 = Clock::now();
  auto wait_for = [&](short events) {
    pollfd p{fd, events, 0};
    while (true) {
      CheckInterrupted();
      const double left = timeout_s - Since(t0);
      if (left <= 0)
        throw std::runtime_error(what + ": no answer in " + core::FormatDouble(timeout_s) + " s");
      const int r = poll(&p, 1, static_cast<int>(std::min(left, 0.05) * 1000) + 1);
      if (r > 0) return;
      if (r < 0 && errno != EINTR) {
        throw std::runtime_error(what + ": poll: " + std::strerror(errno));
      }
    }
  };
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) throw std::runtime_error(what + ": connect: " + std::strerror(errno));
    wait_for(POLLOUT);
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) throw std::runtime_error(what + ": connect: " + std::strerror(err));
  }
  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
  for (size_t sent = 0; sent < request.size();) {
    wait_for(POLLOUT);
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      throw std::runtime_error(what + ": send: " + std::strerror(errno));
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  std::string text;
  char buf[8192];
  while (true) {
    wait_for(POLLIN);
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      throw std::runtime_error(what + ": recv: " + std::strerror(errno));
    }
    text.append(buf, static_cast<size_t>(n));
  }
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  HttpResponse r;
  if (!core::StartsWith(text, "HTTP/") || text.find(' ') == std::string::npos) {
    throw std::runtime_error(what + ": not an HTTP answer: " + core::Printable(text, 80));
  }
  r.status = std::atoi(text.c_str() + text.find(' ') + 1);
  const size_t body = text.find("\r\n\r\n");
  r.body = body == std::string::npos ? "" : text.substr(body + 4);
  return r;
}

}  // namespace linklab::experiments
