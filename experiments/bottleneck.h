#pragma once
// An emulated cellular bottleneck in network namespaces, for the `live` tests and `linklab
// bench live`: a "near" namespace (the phone side, where linklab-live shapes near_dev), a
// "far" namespace (the servers) and between them a "link" namespace that routes between two
// veth pairs:
//
//   near             link                                        far
//   near_dev ─────── link_dev   (router)   ─────────────────────── far_dev
//   10.214.0.1/30    10.214.0.2/30         10.214.0.5/30           10.214.0.6/30
//                    └ egress: HTB 1:1, rate = ceil = capacity(t), over pfifo (deep buffer)
//
// The downlink (far -> near) leaves the link namespace through the bottleneck: an HTB root
// class whose rate follows a capacity series, changed every step by a background thread
// (`tc class change`), over a deep pfifo leaf (a cellular buffer: bufferbloat). The uplink is
// not shaped. The queue sits in a router namespace rather than on the sender's own veth
// because TCP Small Queues keeps a local sender's qdisc backlog at a few packets; a forwarded
// packet no longer belongs to the sending socket, so Cubic fills the buffer as it would a
// base station's. Needs root, ip, tc, ss, iperf3 and ping; torch-free and ns-3-free.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "experiments/process.h"

namespace linklab::experiments {

// This machine cannot run the bottleneck (not root, a program missing, namespaces or the htb
// qdisc cannot be made); what() says which. Callers report the case as skipped.
class BottleneckUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "" when this machine can run an EmulatedBottleneck (root; ip, tc, ss, iperf3, ping on
// PATH); otherwise why not. Creates nothing.
std::string BottleneckMissing();

// The q-quantile (q in [0, 1]) of `values` with linear interpolation between order statistics
// (numpy's default); NaN for no values.
double Percentile(std::vector<double> values, double q);

// A deterministic cellular-like capacity series (Mbit/s per `step_s`) over `duration_s`,
// between 4 and 20 Mbit/s: holds, steps and ramps drawn from `seed`.
std::vector<double> SyntheticCellularSeriesMbps(double duration_s = 30.0, double step_s = 0.1,
                                                uint64_t seed = 1);

struct BottleneckOptions {
  // The downlink capacity (Mbit/s) for each step, looped; rates below kMinCapacityMbps (an
  // outage) are applied as that.
  std::vector<double> capacity_mbps = {10.0};
  double step_s = 0.1;        // how long each value of the series holds
  int buffer_packets = 1000;  // the pfifo under the HTB class
  std::string tcp = "cubic";  // iperf3 -C for the flows (the machines' default is BBR)
};

// The lowest rate the bottleneck applies (HTB has no zero rate).
constexpr double kMinCapacityMbps = 0.05;

// One change of the bottleneck's rate as the thread applied it.
struct CapacityChange {
  double t_s = 0.0;   // seconds since the bottleneck was made
  double mbps = 0.0;  // the rate and ceil now in force
};

// One iperf3 downlink flow's report.
struct FlowResult {
  int port = 0;
  double mbps = 0.0;        // end.sum_received.bits_per_second (payload at the receiver)
  double seconds = 0.0;     // the receiver's measuring time
  int64_t retransmits = 0;  // the sender's, when iperf3 reports them
  std::string tcp;          // the congestion control the sender used
};

// A ping probe's round-trip times.
struct PingResult {
  int sent = 0;                                     // echo requests asked for
  std::vector<double> rtt_ms;                       // one per reply, in order
  double p50_ms = 0.0, p95_ms = 0.0, p99_ms = 0.0;  // NaN when no reply came
  double loss_fraction = 0.0;                       // 1 - replies / sent
};

// Parses ping's output ("... time=12.3 ms" lines) into a PingResult of `sent` requests.
PingResult ParsePing(const std::string& text, int sent);

// Parses one iperf3 -J client report; std::runtime_error naming `what` when it reports an
// error or lacks end.sum_received.
FlowResult ParseIperfReport(const std::string& json_text, int port, const std::string& what);

// A load on the downlink: iperf3 flows (one per port) and a ping probe from near to far
// starting `ping_after_s` into the flows and ending before them.
struct LoadOptions {
  std::vector<int> ports = {5201};
  double duration_s = 10.0;  // iperf3 -t
  double ping_interval_s = 0.1;
  double ping_after_s = 2.0;  // past slow start
  int ping_tos = -1;          // ping -Q (DSCP/TOS byte), -1: none
};

struct LoadResult {
  std::vector<FlowResult> flows;  // in the order of the ports
  double total_mbps = 0.0;        // sum over the flows
  PingResult ping;
};

// An HTTP response: status code and body.
struct HttpResponse {
  int status = 0;
  std::string body;
};

// GET http://host:port/path from inside network namespace `ns` (a server listening on that
// namespace's loopback: linklab-live --listen 127.0.0.1:PORT), HTTP/1.0, within `timeout_s`.
// Throws std::runtime_error when it cannot connect or the answer is not HTTP.
HttpResponse HttpGetInNamespace(const std::string& ns, const std::string& host, int port,
                                const std::string& path, double timeout_s = 2.0);

// The namespaces, the veth pairs, the shaped downlink and its capacity thread. Construction
// builds it all (removing stale namespaces of dead processes first); the destructor stops the
// thread and deletes the namespaces, also when construction fails part way. While it lives,
// SIGINT and SIGTERM interrupt its waits (SignalGuard): they throw, and destructors clean up.
class EmulatedBottleneck {
 public:
  // Throws BottleneckUnavailable when the machine cannot, std::invalid_argument for bad
  // options (empty series, a negative or non-finite rate, step outside [0.01, 60] s, buffer
  // outside [1, 100000] packets), std::runtime_error when a step fails.
  explicit EmulatedBottleneck(BottleneckOptions options);
  ~EmulatedBottleneck();
  EmulatedBottleneck(const EmulatedBottleneck&) = delete;
  EmulatedBottleneck& operator=(const EmulatedBottleneck&) = delete;

  const std::string& near_ns() const { return near_ns_; }
  const std::string& link_ns() const { return link_ns_; }
  const std::string& far_ns() const { return far_ns_; }
  // The near end of the near veth pair (where linklab-live shapes, in near_ns).
  const std::string& near_dev() const { return near_dev_; }
  // The far end of the far veth pair (in far_ns).
  const std::string& far_dev() const { return far_dev_; }
  // The device in link_ns whose egress is the bottleneck (facing near).
  const std::string& link_dev() const { return link_near_dev_; }
  const std::string& near_ip() const { return near_ip_; }
  const std::string& far_ip() const { return far_ip_; }
  const BottleneckOptions& options() const { return options_; }

  // The rate in force now (Mbit/s), and the mean of the series as applied (clamped).
  double CurrentCapacityMbps() const;
  double MeanCapacityMbps() const;
  // Every change the thread made so far (the first at t = 0 by the constructor).
  std::vector<CapacityChange> AppliedCapacity() const;
  // The time-weighted mean rate in force over [t0_s, t1_s] (seconds since the bottleneck was
  // made, as ElapsedS), from the applied changes.
  double MeanAppliedMbps(double t0_s, double t1_s) const;
  // Seconds since the series started.
  double ElapsedS() const;
  // Starts the series again from its first value at t = 0 (ElapsedS restarts, the applied
  // changes are cleared): loads run one after another each see the same capacity.
  void RestartSeries();
  // Throws std::runtime_error when the capacity thread failed (its tc error).
  void CheckHealthy() const;

  // Starts `argv` in namespace `ns` (through `ip netns exec`, which execs: the Child's pid is
  // the program's); argv[0] a name on PATH or a path.
  std::unique_ptr<Child> Spawn(const std::string& ns, std::vector<std::string> argv) const;

  // An iperf3 server in far serving one test on `port`, returned once it listens.
  std::unique_ptr<Child> StartIperfServer(int port) const;
  // An iperf3 client in near, reverse mode (far sends: the downlink), -C options().tcp, -J.
  std::unique_ptr<Child> StartDownlinkFlow(int port, double duration_s) const;
  // Waits for a flow's client to end and parses its report.
  FlowResult FinishFlow(Child& client, int port) const;
  // A ping from near to far: `count` requests every `interval_s`, with -Q `tos` when >= 0.
  std::unique_ptr<Child> StartPing(int count, double interval_s = 0.1, int tos = -1) const;
  // Waits for a ping to end and parses it.
  PingResult FinishPing(Child& ping, int count) const;
  // Ping alone (no load): `count` requests every `interval_s`.
  PingResult Ping(int count, double interval_s = 0.1, int tos = -1) const;
  // Runs a load to its end: servers, flows and the probe. Throws std::runtime_error naming the
  // program when one fails.
  LoadResult RunLoad(const LoadOptions& load) const;

 private:
  void Build();
  void Remove() noexcept;
  void Apply(double mbps);
  void ThreadMain();
  void StopThread();

  BottleneckOptions options_;
  SignalGuard signals_;
  std::string ip_, tc_, ss_, iperf3_, ping_;
  std::string near_ns_, link_ns_, far_ns_;
  std::string near_dev_, link_near_dev_, link_far_dev_, far_dev_;
  std::string near_ip_ = "10.214.0.1", far_ip_ = "10.214.0.6";
  std::vector<std::string> made_;  // namespaces to delete

  std::chrono::steady_clock::time_point t0_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<CapacityChange> applied_;
  double current_mbps_ = 0.0;
  std::string thread_error_;
  std::thread thread_;
};

}  // namespace linklab::experiments
