// linklab-live: applies a trained shaping policy (or a baseline) to a real Linux interface.
// See live/runner.h for what it does and README.md ("Live: linklab-live") for how to run it.

#include <boost/program_options.hpp>
#include <cstdio>
#include <exception>
#include <iostream>

#include "live/runner.h"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  linklab::live::LiveOptions o;
  po::options_description desc(
      "linklab-live --iface IF --classes FILE --policy P.onnx|static|autorate|static_htb|none "
      "[options]\nOptions");
  // clang-format off
  desc.add_options()
    ("help,h", "this help")
    ("iface", po::value(&o.iface)->required(), "the interface to shape")
    ("classes", po::value(&o.classes)->required(),
     "the classes file (a shaping file with match = port:N, dscp:N, proto:P per class)")
    ("policy", po::value(&o.policy)->default_value(o.policy),
     "an exported policy (.onnx) or a baseline: static (the classes file's config), none, "
     "static_htb, autorate")
    ("predictor", po::value(&o.predictor), "an exported predictor (.onnx)")
    ("probe", po::value(&o.probe),
     "an IPv4 reflector pinged every interval: RTT samples of the class ICMP belongs to")
    ("direction", po::value(&o.direction)->default_value(o.direction),
     "egress, ingress (through an ifb device) or both")
    ("interval-ms", po::value(&o.interval_ms)->default_value(0),
     "decision interval; 0: the policy's training step, else 100")
    ("shadow", po::bool_switch(&o.shadow), "decide and log, touch nothing")
    ("listen", po::value(&o.listen)->default_value(o.listen),
     "ADDR:PORT of /metrics and the control API; off: none")
    ("token", po::value(&o.token), "bearer token for changes when listening beyond loopback")
    ("record", po::value(&o.record), "write samples and decisions to this HDF5 data set")
    ("duration-s", po::value(&o.duration_s)->default_value(0), "stop after this long; 0: on a signal")
    ("min-confidence", po::value(&o.min_confidence)->default_value(0),
     "the static safe config while the policy's confidence is below this")
    ("tcp-rtt-ms", po::value(&o.tcp_rtt_ms)->default_value(o.tcp_rtt_ms),
     "read the TCP connections' RTTs (INET_DIAG) this often; shadow mode: every interval")
    ("stale-factor", po::value(&o.stale_factor)->default_value(o.stale_factor),
     "observations are stale when the loop falls this many intervals behind")
    ("max-model-failures", po::value(&o.max_model_failures)->default_value(o.max_model_failures),
     "stop (restoring the interface) after this many model failures in a row")
    ("max-step", po::value(&o.max_step)->default_value(o.max_step),
     "the most a total, rate or ceil changes per interval (factor)")
    ("min-link-mbps", po::value(&o.min_link_mbps)->default_value(o.min_link_mbps),
     "the baselines' lowest total")
    ("max-link-mbps", po::value(&o.max_link_mbps)->default_value(0),
     "the baselines' highest total; 0: the classes file's link_mbps")
    ("leaf", po::value(&o.leaf)->default_value(o.leaf),
     "leaf qdisc: pfifo, fq_codel, or auto (fq_codel where the kernel has it)")
    ("state-dir", po::value(&o.state_dir)->default_value(o.state_dir),
     "where the state that undoes a dead run is kept")
    ("quiet", po::bool_switch(&o.quiet), "no progress lines");
  // clang-format on
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return 0;
    }
    po::notify(vm);
    return linklab::live::RunLive(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "linklab-live: error: %s\n", e.what());
    return 2;
  }
}
