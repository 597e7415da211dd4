#pragma once
// The real Linux kernel's HTB as the reference for the simulator's (`linklab bench htb`, the
// `live` tests). Two network namespaces joined by a veth pair; on the sending end an HTB tree
// built from an HtbConfig (a root class at the link rate, one child per application class,
// pfifo leaves, u32 filters by destination port); one iperf3 TCP flow per class; each class's
// rate from the tc class byte counters after a warm-up. Runs ip, tc, ss, iperf3 (and ethtool
// when present) by fork/exec, needs root, and removes everything it made, also on errors and
// on SIGINT/SIGTERM. Torch-free and ns-3-free.

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/shaping.h"

namespace linklab::experiments {

// This machine cannot run the kernel check (not root, a program or a kernel feature missing);
// what() says which. Callers report the case as skipped. Other failures are runtime_errors.
class KernelHtbUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct KernelHtbOptions {
  double warmup_s = 2.0;      // the flows run this long before the first counter read
  double measure_s = 8.0;     // time between the two counter reads
  std::string tcp = "cubic";  // iperf3 -C (the machines' default is BBR)
  // Receives a line of progress at each phase (empty: quiet).
  std::function<void(const std::string&)> progress;
};

// One HTB class as the kernel ran it; counts are over the measured interval.
struct KernelHtbClass {
  sim::AppClass app_class = sim::AppClass::kOther;
  double mbps = 0.0;  // what the class sent, counted as HTB counts it (Ethernet frames)
  uint64_t bytes = 0, packets = 0, drops = 0;
  double packet_bytes = 0.0;   // mean size the qdisc saw (a check that GSO is off)
  double quantum_bytes = 0.0;  // the kernel's quantum for the class (`tc -d class show`)
  // The class queue, sampled every 0.25 s: mean packets waiting, and how often none (HTB
  // shares by its rules only what is queued; an often empty class gets what its sender keeps
  // queued, a limit of the sending host rather than of HTB).
  double backlog_packets = 0.0, empty_fraction = 0.0;
  double goodput_mbps = 0.0;  // iperf3's receiver payload rate over its whole run
  int64_t retransmits = 0;    // iperf3's sender retransmissions over its whole run
  std::string tcp;            // the congestion control iperf3 says the sender used
};

struct KernelHtbResult {
  std::vector<KernelHtbClass> classes;  // one per flow class, in the order asked
  double root_mbps = 0.0;               // the root class over the measured interval
  double measured_s = 0.0;              // wall time between the two counter reads
  std::vector<std::string> notes;       // where the set-up differed from the plan
};

// "" when this machine can run RunKernelHtb; otherwise why not (not root; ip, tc, ss or iperf3
// not found; no `tcp` congestion control). Creates nothing.
std::string KernelHtbMissing(const std::string& tcp = "cubic");

// Runs one bulk TCP flow (iperf3, sender in the shaped namespace) per class of `flow_classes`
// through `config` for warmup_s + measure_s. Throws KernelHtbUnavailable when the machine
// cannot (as KernelHtbMissing says, or when namespaces, the veth pair or the htb qdisc cannot
// be made), std::invalid_argument for a bad config or a flow class the config lacks, and
// std::runtime_error naming the command and its stderr when a step fails.
KernelHtbResult RunKernelHtb(const sim::HtbConfig& config,
                             const std::vector<sim::AppClass>& flow_classes,
                             const KernelHtbOptions& options);

}  // namespace linklab::experiments
