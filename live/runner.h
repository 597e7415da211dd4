#pragma once
// linklab-live's control loop: every interval it reads the shaping points (tc class counters
// over netlink, the TCP connections' RTT through INET_DIAG), turns them into LinkSamples,
// asks the policy, bounds the change, and applies it with tc, with metrics, the control API,
// recording and the safety rules:
//   - each total, rate and ceil moves by at most x max_step per interval;
//   - the static safe config (the classes file's) while observations are stale (a read
//     failed, or the loop fell more than stale_factor intervals behind), while the model
//     fails (non-finite output; after max_model_failures in a row the run stops), while the
//     policy's confidence is under min_confidence, and while adaptive shaping is off;
//   - SIGINT, SIGTERM and any error restore the interface as it was found (TcShaper).

#include <string>

namespace linklab::live {

struct LiveOptions {
  std::string iface;
  std::string classes;                    // the classes file
  std::string policy = "static";          // an .onnx file or a baseline name
  std::string predictor;                  // an exported predictor (.onnx), optional
  std::string probe;                      // an IPv4 reflector for ICMP RTT probes ("": none)
  std::string direction = "egress";       // egress | ingress | both
  double interval_ms = 0.0;               // 0: the policy's training step, else 100
  bool shadow = false;                    // decide and log, touch nothing
  std::string listen = "127.0.0.1:9464";  // "" or "off": no server
  std::string token;
  std::string record;       // an HDF5 recording to write ("": none)
  double duration_s = 0.0;  // 0: until a signal
  double min_confidence = 0.0;
  double stale_factor = 3.0;
  double tcp_rtt_ms = 1000.0;  // how often the TCP connections' RTTs are read (not in shadow)
  int max_model_failures = 10;
  double max_step = 1.25;
  double min_link_mbps = 0.5;  // the baselines' range
  double max_link_mbps = 0.0;  // 0: the classes file's link_mbps
  std::string leaf = "pfifo";  // pfifo | fq_codel | auto (fq_codel where the kernel has it)
  std::string state_dir = "/run/linklab-live";
  bool quiet = false;
};

// Runs until a signal, duration_s or an error; returns the exit code (0 after a signal or the
// duration, 1 after an error, the interface restored in every case). Bad options throw
// std::invalid_argument before anything is touched.
int RunLive(const LiveOptions& options);

}  // namespace linklab::live
