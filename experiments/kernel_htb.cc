#include "experiments/kernel_htb.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/json.h"
#include "core/text.h"
#include "experiments/process.h"

namespace linklab::experiments {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kNetnsPrefix = "linklab-htb-";
constexpr const char* kSenderAddress = "10.213.0.1/30";
constexpr const char* kReceiverAddress = "10.213.0.2";
constexpr int kBasePort = 5201;  // + the application class's index

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---------------------------------------------------------------------------------------------
// Programs, run by fork/exec with an argument vector (no shell).

// The path of a program the check needs (KernelHtbMissing has looked for it first).
std::string Program(const std::string& name) {
  const std::string path = FindProgram(name);
  if (path.empty()) throw KernelHtbUnavailable(name + " not found on PATH");
  return path;
}

// ---------------------------------------------------------------------------------------------
// The lab: two namespaces and a veth pair, removed by the destructor.

class Lab {
 public:
  Lab(const std::string& ip, const std::string& ethtool, std::vector<std::string>& notes)
      : ip_(ip) {
    static int runs = 0;
    const std::string id = std::to_string(getpid()) + "-" + std::to_string(++runs);
    tx_ns_ = kNetnsPrefix + id + "-tx";
    rx_ns_ = kNetnsPrefix + id + "-rx";
    tx_dev_ = "lh" + std::to_string(getpid()) + "tx";
    rx_dev_ = "lh" + std::to_string(getpid()) + "rx";
    RemoveStaleNamespaces(ip, kNetnsPrefix);
    try {
      MakeNamespace(tx_ns_);
      MakeNamespace(rx_ns_);
      Run({ip, "-n", tx_ns_, "link", "add", "name", tx_dev_, "type", "veth", "peer", "name",
           rx_dev_, "netns", rx_ns_});
    } catch (const std::runtime_error& e) {
      Remove();
      throw KernelHtbUnavailable(std::string("cannot make network namespaces and a veth pair: ") +
                                 e.what());
    }
    try {
      // MTU-sized packets at the qdisc: GSO would hand HTB 64 KB super-packets.
      for (const auto& [ns, dev] : {std::pair{tx_ns_, tx_dev_}, std::pair{rx_ns_, rx_dev_}}) {
        Run({ip, "-n", ns, "link", "set", "dev", dev, "gso_max_segs", "1"});
        if (!ethtool.empty()) {
          Run({ip, "netns", "exec", ns, ethtool, "-K", dev, "tso", "off", "gso", "off", "gro",
               "off"});
        }
      }
      if (ethtool.empty()) notes.push_back("ethtool not found: offloads left on (gso_max_segs 1)");
      Run({ip, "-n", tx_ns_, "addr", "add", kSenderAddress, "dev", tx_dev_});
      Run({ip, "-n", rx_ns_, "addr", "add", std::string(kReceiverAddress) + "/30", "dev", rx_dev_});
      for (const auto& [ns, dev] : {std::pair{tx_ns_, tx_dev_}, std::pair{rx_ns_, rx_dev_}}) {
        Run({ip, "-n", ns, "link", "set", "dev", dev, "up"});
        Run({ip, "-n", ns, "link", "set", "dev", "lo", "up"});
      }
    } catch (...) {
      Remove();
      throw;
    }
  }
  ~Lab() { Remove(); }
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  const std::string& tx_ns() const { return tx_ns_; }
  const std::string& rx_ns() const { return rx_ns_; }
  const std::string& tx_dev() const { return tx_dev_; }

 private:
  void MakeNamespace(const std::string& name) {
    Run({ip_, "netns", "add", name});
    made_.push_back(name);
  }
  // Deleting a namespace removes its end of the veth pair, and with it the pair.
  void Remove() noexcept {
    DeleteNamespaces(ip_, made_);
    made_.clear();
  }

  std::string ip_, tx_ns_, rx_ns_, tx_dev_, rx_dev_;
  std::vector<std::string> made_;
};

// ---------------------------------------------------------------------------------------------
// The HTB tree and its counters.

std::string Bits(double bps) { return std::to_string(std::llround(bps)) + "bit"; }
std::string Bytes(double bytes) { return std::to_string(std::llround(bytes)) + "b"; }
// tc minor ids are hexadecimal: class i is 1:(10 + i) read as hex, its pfifo handle (10 + i):.
std::string Minor(sim::AppClass c) { return std::to_string(10 + static_cast<int>(c)); }
int Port(sim::AppClass c) { return kBasePort + static_cast<int>(c); }

void InstallHtb(const std::string& tc, const Lab& lab, const sim::HtbConfig& config) {
  const std::vector<std::string> dev = {tc, "-n", lab.tx_ns()};
  auto cmd = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = dev;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  };
  try {
    Run(cmd({"qdisc", "add", "dev", lab.tx_dev(), "root", "handle", "1:", "htb", "default",
             Minor(config.default_class), "r2q", "10"}));
  } catch (const std::runtime_error& e) {
    throw KernelHtbUnavailable(std::string("no htb queue disc (sch_htb): ") + e.what());
  }
  const double root = config.link_rate_bps;
  Run(cmd({"class", "add", "dev", lab.tx_dev(), "parent", "1:", "classid", "1:1", "htb", "rate",
           Bits(root), "ceil", Bits(root), "burst", Bytes(sim::HtbBurstBytes(root)), "cburst",
           Bytes(sim::HtbBurstBytes(root))}));
  for (const sim::HtbClassConfig& c : config.classes) {
    const std::string id = "1:" + Minor(c.app_class);
    std::vector<std::string> args = {"class",
                                     "add",
                                     "dev",
                                     lab.tx_dev(),
                                     "parent",
                                     "1:1",
                                     "classid",
                                     id,
                                     "htb",
                                     "rate",
                                     Bits(c.rate_bps),
                                     "ceil",
                                     Bits(c.ceil_bps),
                                     "prio",
                                     std::to_string(c.prio),
                                     "burst",
                                     Bytes(sim::HtbBurstBytes(c.rate_bps)),
                                     "cburst",
                                     Bytes(sim::HtbBurstBytes(c.ceil_bps))};
    // No quantum given: the kernel works out its own from r2q, which the check compares.
    if (c.quantum_bytes > 0) {
      args.push_back("quantum");
      args.push_back(std::to_string(std::llround(c.quantum_bytes)));
    }
    Run(cmd(args));
    Run(cmd({"qdisc", "add", "dev", lab.tx_dev(), "parent", id, "handle", Minor(c.app_class) + ":",
             "pfifo", "limit", std::to_string(config.class_queue_packets)}));
    Run(cmd({"filter", "add", "dev", lab.tx_dev(), "parent", "1:", "protocol", "ip", "prio", "1",
             "u32", "match", "ip", "dport", std::to_string(Port(c.app_class)), "0xffff", "flowid",
             id}));
  }
}

struct ClassCounters {
  uint64_t bytes = 0, packets = 0, drops = 0;
  uint64_t backlog_packets = 0;
  double quantum = 0.0;
};

// `tc -s -d class show` parsed: per class id ("1:10"), its Sent counters, backlog and quantum.
std::map<std::string, ClassCounters> ReadCounters(const std::string& tc, const Lab& lab) {
  const std::string text =
      Run({tc, "-n", lab.tx_ns(), "-s", "-d", "class", "show", "dev", lab.tx_dev()});
  std::map<std::string, ClassCounters> out;
  std::istringstream in(text);
  std::string line, current;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    if (w.size() >= 3 && w[0] == "class" && w[1] == "htb") {
      current = w[2];
      out[current] = {};
      for (size_t i = 3; i + 1 < w.size(); ++i) {
        if (w[i] == "quantum") out[current].quantum = std::strtod(w[i + 1].c_str(), nullptr);
      }
    } else if (!current.empty() && w.size() >= 7 && w[0] == "Sent" && w[2] == "bytes") {
      // " Sent 6263494 bytes 4152 pkt (dropped 0, overlimits 251 requeues 0)"
      ClassCounters& c = out[current];
      c.bytes = std::strtoull(w[1].c_str(), nullptr, 10);
      c.packets = std::strtoull(w[3].c_str(), nullptr, 10);
      c.drops = std::strtoull(w[6].c_str(), nullptr, 10);
    } else if (!current.empty() && w.size() >= 3 && w[0] == "backlog") {
      // " backlog 3028b 2p requeues 0"
      out[current].backlog_packets = std::strtoull(w[2].c_str(), nullptr, 10);
      current.clear();
    }
  }
  return out;
}

const ClassCounters& CountersOf(const std::map<std::string, ClassCounters>& all,
                                const std::string& id) {
  const auto it = all.find(id);
  if (it == all.end()) throw std::runtime_error("tc class show: no class " + id + " in its output");
  return it->second;
}

// True when `port` listens for TCP in namespace `ns`.
bool Listening(const std::string& ip, const std::string& ss, const std::string& ns, int port) {
  const std::string text = Run({ip, "netns", "exec", ns, ss, "-H", "-l", "-t", "-n"});
  return text.find(":" + std::to_string(port) + " ") != std::string::npos;
}

}  // namespace

std::string KernelHtbMissing(const std::string& tcp) {
  if (geteuid() != 0) return "not root (network namespaces and tc need root)";
  for (const char* program : {"ip", "tc", "ss", "iperf3"}) {
    if (FindProgram(program).empty()) return std::string(program) + " not found on PATH";
  }
  // The congestion control iperf3 -C asks for: a root socket may load it, as iperf3's will.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::string("no TCP socket: ") + std::strerror(errno);
  const int r = setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, tcp.data(), tcp.size());
  const int err = errno;
  close(fd);
  if (r != 0) return "TCP congestion control " + tcp + " not available: " + std::strerror(err);
  return "";
}

KernelHtbResult RunKernelHtb(const sim::HtbConfig& config,
                             const std::vector<sim::AppClass>& flow_classes,
                             const KernelHtbOptions& options) {
  config.Validate();
  if (flow_classes.empty()) throw std::invalid_argument("kernel HTB check: no flow classes");
  for (size_t i = 0; i < flow_classes.size(); ++i) {
    const sim::AppClass c = flow_classes[i];
    const bool configured =
        std::any_of(config.classes.begin(), config.classes.end(),
                    [c](const sim::HtbClassConfig& k) { return k.app_class == c; });
    if (!configured || std::count(flow_classes.begin(), flow_classes.end(), c) > 1) {
      throw std::invalid_argument(std::string("kernel HTB check: flow class ") +
                                  sim::AppClassName(c) +
                                  (configured ? " given twice" : " has no class in the config"));
    }
  }
  if (!(options.warmup_s >= 0) || !(options.measure_s > 0)) {
    throw std::invalid_argument("kernel HTB check: warm-up " +
                                core::FormatDouble(options.warmup_s) + " s and measuring time " +
                                core::FormatDouble(options.measure_s) + " s must be >= 0 and > 0");
  }
  const std::string missing = KernelHtbMissing(options.tcp);
  if (!missing.empty()) throw KernelHtbUnavailable(missing);
  const std::string ip = Program("ip"), tc = Program("tc"), ss = Program("ss"),
                    iperf3 = Program("iperf3"), ethtool = FindProgram("ethtool");
  auto progress = [&](const std::string& line) {
    if (options.progress) options.progress(line);
  };

  SignalGuard signals;
  KernelHtbResult result;
  // Destruction runs in reverse: the flows stop before the namespaces go.
  Lab lab(ip, ethtool, result.notes);
  InstallHtb(tc, lab, config);

  // Servers in the receiving namespace, one port per class; each serves one test.
  std::vector<std::unique_ptr<Child>> servers, clients;
  for (sim::AppClass c : flow_classes) {
    servers.push_back(std::make_unique<Child>(std::vector<std::string>{
        ip, "netns", "exec", lab.rx_ns(), iperf3, "-s", "-1", "-p", std::to_string(Port(c))}));
  }
  for (size_t i = 0; i < flow_classes.size(); ++i) {
    const Clock::time_point t0 = Clock::now();
    while (!Listening(ip, ss, lab.rx_ns(), Port(flow_classes[i]))) {
      if (!servers[i]->Running()) throw std::runtime_error(servers[i]->Failure());
      if (Since(t0) > 5.0) {
        throw std::runtime_error("`" + servers[i]->Text() + "` is not listening after 5 s");
      }
      Sleep(0.02);
    }
  }
  const int run_s = static_cast<int>(std::ceil(options.warmup_s + options.measure_s + 1.0));
  progress("kernel: " + std::to_string(flow_classes.size()) + " iperf3 -C " + options.tcp +
           " flows for " + std::to_string(run_s) + " s (warm-up " +
           core::FormatDouble(options.warmup_s) + " s)");
  for (sim::AppClass c : flow_classes) {
    clients.push_back(std::make_unique<Child>(
        std::vector<std::string>{ip, "netns", "exec", lab.tx_ns(), iperf3, "-c", kReceiverAddress,
                                 "-p", std::to_string(Port(c)), "-C", options.tcp, "-t",
                                 std::to_string(run_s), "-J", "--connect-timeout", "5000"}));
  }
  auto check_clients = [&] {
    for (auto& client : clients) {
      if (!client->Running()) throw std::runtime_error(IperfFailure(*client));
    }
  };
  Sleep(options.warmup_s);
  check_clients();
  Clock::time_point t_read = Clock::now();
  const auto before = ReadCounters(tc, lab);
  const Clock::time_point t0 = t_read + (Clock::now() - t_read) / 2;
  progress("kernel: measuring " + core::FormatDouble(options.measure_s) + " s");
  // Backlog samples: HTB shares out by its rules only what waits in its queues; a class whose
  // queue is often empty gets what its sender keeps queued.
  constexpr double kSampleS = 0.25;
  std::vector<double> backlog(flow_classes.size(), 0.0), empty(flow_classes.size(), 0.0);
  int samples = 0;
  const Clock::time_point end = t0 + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(options.measure_s));
  while (std::chrono::duration<double>(end - Clock::now()).count() > kSampleS) {
    Sleep(kSampleS);
    const auto now = ReadCounters(tc, lab);
    for (size_t i = 0; i < flow_classes.size(); ++i) {
      const uint64_t b = CountersOf(now, "1:" + Minor(flow_classes[i])).backlog_packets;
      backlog[i] += static_cast<double>(b);
      empty[i] += b == 0 ? 1.0 : 0.0;
    }
    ++samples;
  }
  Sleep(std::chrono::duration<double>(end - Clock::now()).count());
  check_clients();
  t_read = Clock::now();
  const auto after = ReadCounters(tc, lab);
  const Clock::time_point t1 = t_read + (Clock::now() - t_read) / 2;
  result.measured_s = std::chrono::duration<double>(t1 - t0).count();

  auto rate = [&](const ClassCounters& a, const ClassCounters& b) {
    return (b.bytes - a.bytes) * 8.0 / result.measured_s / 1e6;
  };
  result.root_mbps = rate(CountersOf(before, "1:1"), CountersOf(after, "1:1"));
  for (size_t i = 0; i < flow_classes.size(); ++i) {
    const std::string id = "1:" + Minor(flow_classes[i]);
    const ClassCounters &a = CountersOf(before, id), &b = CountersOf(after, id);
    KernelHtbClass k;
    k.app_class = flow_classes[i];
    k.mbps = rate(a, b);
    k.bytes = b.bytes - a.bytes;
    k.packets = b.packets - a.packets;
    k.drops = b.drops - a.drops;
    k.packet_bytes = k.packets > 0 ? static_cast<double>(k.bytes) / k.packets : 0.0;
    k.quantum_bytes = b.quantum;
    k.backlog_packets = samples > 0 ? backlog[i] / samples : std::nan("");
    k.empty_fraction = samples > 0 ? empty[i] / samples : std::nan("");
    result.classes.push_back(k);
  }

  // The clients' reports: each must have run its test with the congestion control asked for.
  for (size_t i = 0; i < clients.size(); ++i) {
    Child& client = *clients[i];
    if (!client.Wait(run_s + 10.0)) {
      throw std::runtime_error("`" + client.Text() + "` did not finish");
    }
    if (client.exit_code() != 0) throw std::runtime_error(IperfFailure(client));
    core::Json report;
    try {
      report = core::ParseJson(client.Out(), "iperf3 -J output");
      KernelHtbClass& k = result.classes[i];
      if (report.contains("error")) {
        throw std::runtime_error("`" + client.Text() +
                                 "`: " + report.at("error").get<std::string>());
      }
      const core::Json& end = report.at("end");
      k.goodput_mbps = end.at("sum_received").at("bits_per_second").get<double>() / 1e6;
      k.retransmits = end.at("sum_sent").value("retransmits", int64_t{0});
      k.tcp = end.value("sender_tcp_congestion", std::string());
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error("`" + client.Text() + "`: unexpected JSON (" + e.what() + ")");
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error("`" + client.Text() + "`: " + e.what());
    }
    if (result.classes[i].tcp != options.tcp) {
      throw std::runtime_error("`" + client.Text() + "` ran " + result.classes[i].tcp + ", not " +
                               options.tcp);
    }
  }
  for (auto& server : servers) {
    if (!server->Wait(5.0)) server->Stop();
  }
  return result;
}

}  // namespace linklab::experiments
