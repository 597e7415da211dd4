// linklab-live on an emulated bottleneck (ctest label `live`, run as root): namespaces joined
// by veth pairs (experiments/bottleneck.h), the runner started as a program in the near
// namespace, tc read back with `tc`. Each case checks the interface is left as it was found.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "core/text.h"
#include "experiments/bottleneck.h"
#include "experiments/process.h"

namespace linklab::experiments {
namespace {

namespace fs = std::filesystem;

const char* kClasses = R"([shaping]
link_mbps = 8
default = other
queue_packets = 200
[bulk]
rate_mbps = 2
ceil_mbps = 8
prio = 3
match = port:5201
[video]
rate_mbps = 2
ceil_mbps = 8
prio = 2
match = port:5202
[gaming]
rate_mbps = 1
ceil_mbps = 8
prio = 0
match = proto:icmp
[other]
rate_mbps = 1
ceil_mbps = 8
prio = 7
)";

class LiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = BottleneckMissing();
    if (!missing.empty()) {
      GTEST_SKIP() << "cannot make the emulated bottleneck: " << missing;
    }
    if (!fs::exists(LINKLAB_LIVE_BINARY)) {
      GTEST_SKIP() << LINKLAB_LIVE_BINARY << " not built";
    }
    dir_ = fs::temp_directory_path() / ("linklab-live-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    classes_ = Write("classes.ini", kClasses);
    BottleneckOptions o;
    o.capacity_mbps = {10.0};
    try {
      lab_ = std::make_unique<EmulatedBottleneck>(o);
    } catch (const BottleneckUnavailable& e) {
      GTEST_SKIP() << "cannot make the emulated bottleneck: " << e.what();
    }
    ip_ = FindProgram("ip");
    tc_ = FindProgram("tc");
    before_ = TcState();
  }
  void TearDown() override {
    live_.reset();
    if (lab_) {
      EXPECT_EQ(TcState(), before_) << "the interface was not left as it was found";
    }
    lab_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::string Tc(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {ip_, "netns", "exec", lab_->near_ns(), tc_};
    argv.insert(argv.end(), args.begin(), args.end());
    return experiments::Run(argv);
  }
  // Qdiscs and filters of the near interface, and the devices of the namespace.
  std::string TcState() {
    return Tc({"qdisc", "show", "dev", lab_->near_dev()}) +
           Tc({"filter", "show", "dev", lab_->near_dev(), "ingress"}) + Devices();
  }
  std::string Devices() {
    std::string names;
    for (const std::string& line :
         core::Split(experiments::Run({ip_, "-n", lab_->near_ns(), "-o", "link", "show"}), '\n')) {
      const auto parts = core::Split(line, ':');
      if (parts.size() > 1) names += core::Trim(parts[1]) + " ";
    }
    return names;
  }
  // linklab-live on the near interface with the test's classes file, unless `extra` names
  // another --iface or --classes.
  std::unique_ptr<Child> StartLive(std::vector<std::string> extra, int port = 9464) {
    std::vector<std::string> argv = {LINKLAB_LIVE_BINARY};
    for (const char* key : {"--iface", "--classes"}) {
      if (std::find(extra.begin(), extra.end(), key) == extra.end()) {
        argv.push_back(key);
        argv.push_back(key == std::string("--iface") ? lab_->near_dev() : classes_);
      }
    }
    argv.insert(argv.end(),
                {"--interval-ms", "100", "--listen", "127.0.0.1:" + std::to_string(port),
                 "--state-dir", (dir_ / "state").string()});
    argv.insert(argv.end(), extra.begin(), extra.end());
    return lab_->Spawn(lab_->near_ns(), argv);
  }
  // Waits up to `timeout_s` for `ok`; false when it never held.
  static bool WaitFor(const std::function<bool()>& ok, double timeout_s) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    while (std::chrono::steady_clock::now() < end) {
      if (ok()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return ok();
  }
  // The /metrics text; "" while nothing answers.
  std::string Metrics(int port = 9464) {
    try {
      return HttpGetInNamespace(lab_->near_ns(), "127.0.0.1", port, "/metrics").body;
    } catch (const std::runtime_error&) {
      return "";
    }
  }
  // Runs python in the near namespace (the control API's POSTs, the Prometheus parser).
  std::string Python(const std::string& code) {
    return experiments::Run({ip_, "netns", "exec", lab_->near_ns(), "/usr/bin/python3", "-c", code},
                            20);
  }
  std::string Post(const std::string& path, const std::string& json, int port = 9464) {
    return Python(
        "import urllib.request,urllib.error\n"
        "r=urllib.request.Request('http://127.0.0.1:" +
        std::to_string(port) + path + "',data=b'" + json +
        "',method='POST',headers={'Content-Type':'application/json'})\n"
        "try:\n  print(urllib.request.urlopen(r,timeout=5).status)\n"
        "except urllib.error.HTTPError as e:\n  print(e.code)\n");
  }
  // The HTB classes of the shaping tree: "4c4c:10 rate 2Mbit ..." lines.
  std::string Classes(const std::string& dev) { return Tc({"class", "show", "dev", dev}); }
  std::string Ifb() {
    for (const std::string& name : core::Split(Devices(), ' ')) {
      if (core::StartsWith(name, "llifb")) return name.substr(0, name.find('@'));
    }
    return "";
  }
  void Stop(Child& c, int sig = SIGTERM) {
    c.SendSignal(sig);
    ASSERT_TRUE(c.Wait(10)) << "linklab-live did not stop";
    if (sig == SIGTERM) {
      EXPECT_EQ(c.exit_code(), 0) << c.Err();
    }
  }

  fs::path dir_;
  std::string classes_, ip_, tc_, before_;
  std::unique_ptr<EmulatedBottleneck> lab_;
  std::unique_ptr<Child> live_;
};

TEST_F(LiveTest, IngressInstallsTheClassesThroughAnIfbAndSigtermRestores) {
  live_ = StartLive({"--direction", "ingress", "--policy", "static"});
  ASSERT_TRUE(WaitFor(
      [&] { return !Ifb().empty() && Classes(Ifb()).find("4c4c:12") != std::string::npos; }, 10))
      << live_->Err();
  const std::string classes = Classes(Ifb());
  EXPECT_NE(classes.find("class htb 4c4c:1 root rate 8Mbit"), std::string::npos) << classes;
  EXPECT_NE(classes.find("class htb 4c4c:10 parent 4c4c:1 leaf 10: prio 3 rate 2Mbit ceil 8Mbit"),
            std::string::npos)
      << classes;
  EXPECT_NE(classes.find("4c4c:15"), std::string::npos) << "the default class, other";
  const std::string ingress = Tc({"filter", "show", "dev", lab_->near_dev(), "ingress"});
  EXPECT_NE(ingress.find("mirred"), std::string::npos) << ingress;
  const std::string filters = Tc({"filter", "show", "dev", Ifb()});
  EXPECT_NE(filters.find("flowid 4c4c:10"), std::string::npos) << filters;
  EXPECT_NE(filters.find("flowid 4c4c:12"), std::string::npos) << filters;
  Stop(*live_);
  EXPECT_EQ(Ifb(), "");
}

TEST_F(LiveTest, EgressRootIsRestoredAfterSigterm) {
  live_ = StartLive({"--direction", "egress", "--policy", "static"});
  ASSERT_TRUE(
      WaitFor([&] { return Classes(lab_->near_dev()).find("4c4c:15") != std::string::npos; }, 10))
      << live_->Err();
  EXPECT_NE(Tc({"qdisc", "show", "dev", lab_->near_dev()}).find("qdisc htb 4c4c: root"),
            std::string::npos);
  Stop(*live_);
  EXPECT_EQ(Tc({"qdisc", "show", "dev", lab_->near_dev()}).find("htb"), std::string::npos);
}

TEST_F(LiveTest, AutorateChangesTheRatesUnderLoadAndMetricsParse) {
  const std::string record = (dir_ / "run.h5").string();
  live_ = StartLive({"--direction", "ingress", "--policy", "autorate", "--max-link-mbps", "20",
                     "--probe", lab_->far_ip(), "--record", record});
  ASSERT_TRUE(WaitFor([&] { return !Ifb().empty(); }, 10)) << live_->Err();
  auto server = lab_->StartIperfServer(5201);
  auto flow = lab_->StartDownlinkFlow(5201, 8);
  std::set<std::string> totals;
  const std::regex root(R"(class htb 4c4c:1 root rate (\S+))");
  for (int i = 0; i < 70; ++i) {
    std::smatch m;
    const std::string text = Classes(Ifb());
    if (std::regex_search(text, m, root)) totals.insert(m[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const std::string loaded = Metrics();
  const FlowResult r = lab_->FinishFlow(*flow, 5201);
  EXPECT_GT(r.mbps, 3.0);
  // The receiving connection's RTT through INET_DIAG: the bulk class has samples under load.
  const std::regex rtt(R"(linklab_live_class_rtt_p50_ms\{class="bulk",point="ingress"\} (\S+))");
  std::smatch rm;
  ASSERT_TRUE(std::regex_search(loaded, rm, rtt)) << loaded;
  EXPECT_GT(std::stod(rm[1]), 1.0) << loaded;
  EXPECT_GE(totals.size(), 3u) << "the total should follow autorate's decisions";
  const std::string text = Metrics();
  // Debian's prometheus_client parser reads the exposition; the families the issue names.
  const std::string parsed = Python(
      "import sys,urllib.request\n"
      "from prometheus_client.parser import text_string_to_metric_families\n"
      "t=urllib.request.urlopen('http://127.0.0.1:9464/metrics',timeout=5).read().decode()\n"
      "print(' '.join(sorted(f.name for f in text_string_to_metric_families(t))))\n");
  for (const char* family :
       {"linklab_live_class_rate_bps", "linklab_live_class_ceil_bps",
        "linklab_live_class_delivered_bps", "linklab_live_class_queue_delay_ms",
        "linklab_live_class_rtt_p95_ms", "linklab_live_class_loss_ratio",
        "linklab_live_inference_seconds", "linklab_live_decisions", "linklab_live_fallbacks"}) {
    EXPECT_NE(parsed.find(family), std::string::npos) << family << " in " << parsed;
  }
  EXPECT_NE(text.find("linklab_live_class_delivered_bps{class=\"bulk\",point=\"ingress\"}"),
            std::string::npos);
  Stop(*live_);
  // The recording is a data set the sim replays: its downlink as a trace.
  const std::string trace = (dir_ / "replay").string();
  experiments::Run({LINKLAB_BINARY, "dataset", "trace", "--dataset", record, "-o", trace}, 60);
  ASSERT_TRUE(fs::exists(trace + ".down"));
  EXPECT_GT(fs::file_size(trace + ".down"), 1000u) << "a few seconds of megabits";
}

TEST_F(LiveTest, ShadowModeLeavesTcUntouchedAndStillDecides) {
  live_ = StartLive({"--direction", "ingress", "--policy", "autorate", "--shadow"});
  ASSERT_TRUE(WaitFor(
      [&] { return Metrics().find("linklab_live_decisions_total") != std::string::npos; }, 10))
      << live_->Err();
  EXPECT_EQ(TcState(), before_);
  EXPECT_NE(Metrics().find("linklab_live_shadow 1"), std::string::npos);
  Stop(*live_);
}

TEST_F(LiveTest, ControlApiTurnsShapingOffAndOn) {
  live_ = StartLive({"--direction", "ingress", "--policy", "autorate", "--max-link-mbps", "20"});
  ASSERT_TRUE(WaitFor([&] { return !Ifb().empty(); }, 10)) << live_->Err();
  auto server = lab_->StartIperfServer(5201);
  auto flow = lab_->StartDownlinkFlow(5201, 10);
  const std::regex root(R"(class htb 4c4c:1 root rate (\S+))");
  auto total = [&] {
    std::smatch m;
    const std::string text = Classes(Ifb());
    return std::regex_search(text, m, root) ? std::string(m[1]) : std::string();
  };
  EXPECT_TRUE(WaitFor([&] { return total() != "8Mbit"; }, 5)) << "autorate moves the total";
  EXPECT_EQ(core::Trim(Post("/api/shaping", "{\"adaptive\": false}")), "200");
  EXPECT_TRUE(WaitFor([&] { return total() == "8Mbit"; }, 3)) << "off: the classes file's config";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(total(), "8Mbit") << "and it stays there";
  EXPECT_EQ(core::Trim(Post("/api/shaping", "{\"adaptive\": 3}")), "400");
  EXPECT_EQ(core::Trim(Post("/api/shaping", "{\"adaptive\": true}")), "200");
  EXPECT_TRUE(WaitFor([&] { return total() != "8Mbit"; }, 5)) << "on again: autorate moves it";
  lab_->FinishFlow(*flow, 5201);
  Stop(*live_);
}

TEST_F(LiveTest, AfterSigkillTheNextStartRemovesTheLeftovers) {
  live_ = StartLive({"--direction", "ingress", "--policy", "static"});
  ASSERT_TRUE(WaitFor(
      [&] { return !Ifb().empty() && Classes(Ifb()).find("4c4c:15") != std::string::npos; }, 10));
  Stop(*live_, SIGKILL);
  EXPECT_NE(Ifb(), "") << "SIGKILL leaves the tree behind";
  live_ = StartLive({"--direction", "ingress", "--policy", "static"});
  ASSERT_TRUE(WaitFor([&] { return live_->Err().find("removed") != std::string::npos; }, 10))
      << live_->Err();
  ASSERT_TRUE(WaitFor([&] { return Classes(Ifb()).find("4c4c:15") != std::string::npos; }, 10));
  Stop(*live_);
  EXPECT_EQ(Ifb(), "");
}

// Both directions at once, leaves chosen by what the kernel has, and a QoS floor from the API.
TEST_F(LiveTest, BothDirectionsAutoLeavesAndAQosFloor) {
  live_ = StartLive({"--direction", "both", "--policy", "static", "--leaf", "auto"});
  ASSERT_TRUE(WaitFor(
      [&] {
        return !Ifb().empty() && Classes(Ifb()).find("4c4c:15") != std::string::npos &&
               Classes(lab_->near_dev()).find("4c4c:15") != std::string::npos;
      },
      10))
      << live_->Err();
  const std::string qdiscs = Tc({"qdisc", "show", "dev", lab_->near_dev()});
  const bool fq_codel = qdiscs.find("fq_codel") != std::string::npos;
  if (!fq_codel) {
    EXPECT_NE(live_->Err().find("the leaves are pfifo"), std::string::npos) << live_->Err();
    EXPECT_NE(qdiscs.find("pfifo"), std::string::npos) << qdiscs;
  }
  EXPECT_EQ(core::Trim(Post("/api/qos", "{\"class\": \"gaming\", \"min_mbps\": 3}")), "200");
  EXPECT_EQ(core::Trim(Post("/api/qos", "{\"class\": \"gamin\", \"min_mbps\": 3}")), "400");
  const std::regex gaming(R"(class htb 4c4c:12 parent 4c4c:1 leaf 12: prio 0 rate (\S+))");
  auto rate = [&](const std::string& dev) {
    std::smatch m;
    const std::string text = Classes(dev);
    return std::regex_search(text, m, gaming) ? std::string(m[1]) : std::string();
  };
  EXPECT_TRUE(
      WaitFor([&] { return rate(Ifb()) == "3Mbit" && rate(lab_->near_dev()) == "3Mbit"; }, 5))
      << "the floor holds in both directions: " << rate(Ifb()) << " " << rate(lab_->near_dev());
  Stop(*live_);
  EXPECT_EQ(Ifb(), "");
}

// Bad input: a clear error, a non-zero exit, the interface untouched (TearDown checks).
TEST_F(LiveTest, BadInputIsAClearErrorAndTouchesNothing) {
  auto expect_error = [&](std::vector<std::string> args, const std::string& says) {
    auto c = StartLive(args);
    ASSERT_TRUE(c->Wait(10));
    EXPECT_NE(c->exit_code(), 0);
    EXPECT_NE(c->Err().find(says), std::string::npos) << c->Err();
    EXPECT_EQ(TcState(), before_) << c->Err();
  };
  expect_error({"--iface", "nosuchdev0", "--policy", "static"}, "nosuchdev0: no such interface");
  const std::string bad_class =
      Write("bad_class.ini", std::string(kClasses) + "[gamming]\nrate_mbps = 1\n");
  expect_error({"--classes", bad_class}, "gamming");
  const std::string overlap =
      Write("overlap.ini",
            std::regex_replace(std::string(kClasses), std::regex("port:5202"), "port:5201"));
  expect_error({"--classes", overlap}, "overlaps [bulk]");
  const std::string corrupt = Write("corrupt.onnx", "this is not an onnx model");
  expect_error({"--policy", corrupt}, "corrupt.onnx");
  expect_error({"--policy", (dir_ / "missing.onnx").string()}, "missing.onnx: no such file");
  expect_error({"--policy", "autorat"}, "neither an .onnx file nor a baseline");
  const std::string setpriv = FindProgram("setpriv");
  if (!setpriv.empty()) {
    // No permission for netlink changes: an unprivileged user.
    std::vector<std::string> argv = {setpriv,
                                     "--reuid=65534",
                                     "--regid=65534",
                                     "--clear-groups",
                                     LINKLAB_LIVE_BINARY,
                                     "--iface",
                                     lab_->near_dev(),
                                     "--classes",
                                     classes_,
                                     "--listen",
                                     "off",
                                     "--state-dir",
                                     (dir_ / "state-nobody").string()};
    fs::permissions(dir_, fs::perms::all);
    fs::permissions(classes_, fs::perms::all);
    auto c = lab_->Spawn(lab_->near_ns(), argv);
    ASSERT_TRUE(c->Wait(10));
    EXPECT_NE(c->exit_code(), 0);
    EXPECT_NE(c->Err().find("permission"), std::string::npos) << c->Err();
  }
}

}  // namespace
}  // namespace linklab::experiments
