// Shaping configs and shaping files (the format `linklab simulate --shaping` and the live
// runner read), and the fluid HTB's lending by quantum.

#include "sim/shaping.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/files.h"
#include "sim/fluid/fluid_model.h"
#include "tests/test_util.h"

namespace linklab::sim {
namespace {

using linklab::testing::ErrorOf;

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  core::WriteFileAtomic(path, text);
  return path;
}

TEST(Quantum, LinuxDefaultIsRateOverR2qClamped) {
  EXPECT_DOUBLE_EQ(HtbQuantumBytes({AppClass::kBulk, 8e6, 8e6, 0}), 100000);  // 1 MB/s / 10
  EXPECT_DOUBLE_EQ(HtbQuantumBytes({AppClass::kBulk, 5e4, 5e4, 0}), 1000);    // clamped up
  EXPECT_DOUBLE_EQ(HtbQuantumBytes({AppClass::kBulk, 1e9, 1e9, 0}), 200000);  // clamped down
  EXPECT_DOUBLE_EQ(HtbQuantumBytes({AppClass::kBulk, 1e9, 1e9, 0, 1514}), 1514);
}

TEST(ShapingFile, ReadsEveryKey) {
  const std::string path = Write("shape.ini",
                                 "[shaping]\npoint = up\nlink_mbps = 8\ndefault = other\n"
                                 "queue_packets = 50\n[bulk]\nrate_mbps = 2\nceil_mbps = 8\n"
                                 "prio = 1\nquantum = 3000\n[other]\nrate_mbps = 1 ; rest\n");
  const ShapingFile f = ReadShapingFile(path);
  EXPECT_EQ(f.point, "up");
  EXPECT_DOUBLE_EQ(f.config.link_rate_bps, 8e6);
  EXPECT_EQ(f.config.class_queue_packets, 50);
  ASSERT_EQ(f.config.classes.size(), 2u);
  const HtbClassConfig& bulk = f.config.classes[0];
  EXPECT_EQ(bulk.app_class, AppClass::kBulk);
  EXPECT_DOUBLE_EQ(bulk.rate_bps, 2e6);
  EXPECT_DOUBLE_EQ(bulk.ceil_bps, 8e6);
  EXPECT_EQ(bulk.prio, 1);
  EXPECT_DOUBLE_EQ(bulk.quantum_bytes, 3000);
  const HtbClassConfig& other = f.config.classes[1];
  EXPECT_DOUBLE_EQ(other.ceil_bps, 1e6);  // ceil defaults to the rate
  EXPECT_DOUBLE_EQ(other.quantum_bytes, 0);
}

TEST(ShapingFile, BadInputNamesFileLineKeyAndValue) {
  auto error = [](const std::string& text) {
    const std::string path = Write("bad_shape.ini", text);
    return ErrorOf([&] { ReadShapingFile(path); });
  };
  const std::string dir = ::testing::TempDir();
  EXPECT_NE(error("[shaping]\nlink_mbps = 8\n[bulk]\nrate_mbps = fast\n").find("bad_shape.ini:4"),
            std::string::npos);
  EXPECT_NE(error("[shaping]\nlink_mbps = 8\n[bulk]\nrate = 1\n").find("unknown key 'rate'"),
            std::string::npos);
  EXPECT_NE(error("[shaping]\nlink_mbps = 8\n[nope]\n").find("unknown section [nope]"),
            std::string::npos);
  EXPECT_NE(error("[shaping]\nlink_mbps = 8\n[bulk]\nceil_mbps = 3\n[other]\nrate_mbps = 1\n")
                .find("[bulk] rate_mbps must be set"),
            std::string::npos);
  EXPECT_NE(error("[shaping]\nlink_mbps = 8\n[bulk]\nrate_mbps = 4\nceil_mbps = 3\n"
                  "[other]\nrate_mbps = 1\n")
                .find("ceil 3e+06 bit/s is below its rate 4e+06"),
            std::string::npos);
  EXPECT_NE(error("[shaping]\nlink_mbps = 8\n[bulk]\nrate_mbps = 4\n").find("default class other"),
            std::string::npos);
  EXPECT_NE(error("[bulk]\nrate_mbps = 4\n").find("no [shaping]"), std::string::npos);
  EXPECT_NE(ErrorOf([&] { ReadShapingFile(dir); }).find("is a directory"), std::string::npos);
}

// What packets each class takes on a real interface (the live runner's u32 filters).
TEST(ShapingFile, MatchesDefaultToTheClassMarkAndMustNotOverlap) {
  const std::string path = Write("match.ini",
                                 "[shaping]\nlink_mbps = 8\n[bulk]\nrate_mbps = 2\n"
                                 "match = port:5201, dscp:10\n[video]\nrate_mbps = 2\n"
                                 "[gaming]\nrate_mbps = 1\nmatch = proto:icmp\n"
                                 "[other]\nrate_mbps = 1\n");
  const ShapingFile f = ReadShapingFile(path);
  ASSERT_EQ(f.matches.size(), 4u);
  ASSERT_EQ(f.matches[0].size(), 2u);
  EXPECT_EQ(f.matches[0][0].Text(), "port:5201");
  EXPECT_EQ(f.matches[0][1].Text(), "dscp:10");
  ASSERT_EQ(f.matches[1].size(), 1u);  // video: its DSCP mark, AF41
  EXPECT_EQ(f.matches[1][0].Text(), "dscp:34");
  EXPECT_EQ(f.matches[2][0].Text(), "proto:icmp");
  EXPECT_TRUE(f.matches[3].empty()) << "the default class takes what no other class does";

  auto error = [](const std::string& text) {
    const std::string bad = Write("bad_match.ini", text);
    return ErrorOf([&] { ReadShapingFile(bad); });
  };
  const std::string two =
      "[shaping]\nlink_mbps = 8\n[bulk]\nrate_mbps = 2\nmatch = port:80\n"
      "[web]\nrate_mbps = 2\nmatch = port:443, port:80\n[other]\n"
      "rate_mbps = 1\n";
  const std::string overlap = error(two);
  EXPECT_NE(overlap.find("bad_match.ini:8: [web] match port:80 overlaps [bulk]'s ("),
            std::string::npos)
      << overlap;
  EXPECT_NE(error("[shaping]\nlink_mbps = 8\n[bulk]\nrate_mbps = 2\nmatch = port:99999\n"
                  "[other]\nrate_mbps = 1\n")
                .find("bad_match.ini:5: [bulk] match 'port:99999': port must be a whole number in "
                      "1..65535"),
            std::string::npos);
  EXPECT_NE(error("[shaping]\nlink_mbps = 8\n[bulk]\nrate_mbps = 2\nmatch = mac:1\n"
                  "[other]\nrate_mbps = 1\n")
                .find("expected port:N, dscp:N or proto:icmp|tcp|udp|N"),
            std::string::npos);
}

// The fluid HTB lends what the guaranteed rates leave in proportion to the quanta, as the
// packet-level HTB's deficit round robin does (Htb.ExplicitQuantaSetTheSharesOfWhatIsLent).
TEST(FluidHtb, LendsInProportionToQuanta) {
  auto shares = [](double bulk_quantum, double video_quantum) {
    fluid::FluidHtb htb;
    HtbConfig c;
    c.link_rate_bps = 10e6;
    c.classes = {{AppClass::kBulk, 2e6, 10e6, 0, bulk_quantum},
                 {AppClass::kVideo, 4e6, 10e6, 0, video_quantum},
                 {AppClass::kOther, 0.1e6, 0.1e6, 0}};
    htb.Init({AppClass::kBulk, AppClass::kVideo});
    htb.Configure(c);
    std::vector<double> out(2), dropped(2);
    double bulk = 0, video = 0;
    for (int i = 0; i < 200; ++i) {  // 4 s of 20 ms steps, both flows offering 20 Mbit/s
      std::fill(out.begin(), out.end(), 0.0);
      htb.Step({50000, 50000}, 1e9, 0.02, 0.02 * (i + 1), out, dropped);
      if (i >= 50) bulk += out[0], video += out[1];
    }
    return std::make_pair(bulk * 8 / 3.0 / 1e6, video * 8 / 3.0 / 1e6);
  };
  const auto by_rate = shares(0, 0);  // default quanta: rate / 10, 1:2
  EXPECT_NEAR(by_rate.first, 2.0 + 4.0 / 3, 0.2);
  EXPECT_NEAR(by_rate.second, 4.0 + 8.0 / 3, 0.2);
  const auto by_quantum = shares(3000, 1000);
  EXPECT_NEAR(by_quantum.first, 2.0 + 3.0, 0.2);
  EXPECT_NEAR(by_quantum.second, 4.0 + 1.0, 0.2);
}

// A reconfiguration keeps the queued bytes and the delay they imply (the shaping env reshapes
// every step): the delay is backlog over the last service rate, never over a rate forgotten.
TEST(FluidHtb, ReconfiguringKeepsTheQueueAndItsDelay) {
  fluid::FluidHtb htb;
  HtbConfig c;
  c.link_rate_bps = 10e6;
  c.classes = {{AppClass::kBulk, 2e6, 2e6, 0}, {AppClass::kOther, 0.1e6, 0.1e6, 0}};
  htb.Init({AppClass::kBulk});
  htb.Configure(c);
  std::vector<double> out(1), dropped(1);
  for (int i = 0; i < 50; ++i) {
    htb.Step({50000}, 1e9, 0.02, 0.02 * (i + 1), out, dropped);  // 20 Mbit/s offered
  }
  const double backlog = htb.Backlog(0), delay = htb.Delay(AppClass::kBulk);
  ASSERT_GT(backlog, 100000.0);
  EXPECT_NEAR(delay, backlog * 8 / 2e6, 1e-9);  // served at its 2 Mbit/s
  c.classes[0].ceil_bps = 4e6;
  htb.Configure(c);
  EXPECT_EQ(htb.Backlog(0), backlog);
  EXPECT_DOUBLE_EQ(htb.Delay(AppClass::kBulk), delay);
  // Moved into the default class: the bytes stay, served as fast as before until the next step.
  c.classes = {{AppClass::kOther, 1e6, 1e6, 0}};
  htb.Configure(c);
  EXPECT_EQ(htb.Backlog(0), backlog);
  EXPECT_DOUBLE_EQ(htb.Delay(AppClass::kBulk), delay);
  htb.Step({0}, 1e9, 0.02, 1.02, out, dropped);
  EXPECT_NEAR(htb.Delay(AppClass::kBulk), htb.Backlog(0) * 8 / 1e6, 1e-9);
}

// The rates Linux HTB semantics give busy classes, worked out by hand (Mbit/s).
TEST(HtbExpectedRates, RatesThenWhatIsLeftByPrioAndQuantumUpToCeil) {
  auto rates = [](std::vector<HtbClassConfig> classes, double root_mbps,
                  std::vector<AppClass> busy = {AppClass::kBulk, AppClass::kVideo}) {
    HtbConfig c;
    c.link_rate_bps = root_mbps * 1e6;
    for (HtbClassConfig& k : classes) k.rate_bps *= 1e6, k.ceil_bps *= 1e6;
    c.classes = classes;
    c.default_class = AppClass::kBulk;
    std::vector<double> out = HtbExpectedRates(c, busy);
    for (double& x : out) x /= 1e6;
    return out;
  };
  const AppClass bulk = AppClass::kBulk, video = AppClass::kVideo;
  using V = std::vector<double>;
  // rate = ceil: no lending; 11 Mbit/s of the root stay unused.
  EXPECT_EQ(rates({{bulk, 6, 6, 0}, {video, 3, 3, 0}}, 20), V({6, 3}));
  // Default quanta 25000 and 75000 bytes: the 12 left go 3 and 9.
  EXPECT_EQ(rates({{bulk, 2, 20, 0}, {video, 6, 20, 0}}, 20), V({5, 15}));
  // Explicit quanta 1:3.
  EXPECT_EQ(rates({{bulk, 4, 20, 0, 1514}, {video, 4, 20, 0, 4542}}, 20), V({7, 13}));
  // Both quanta clamped to 200000 bytes: the 80 left go 40 and 40.
  EXPECT_EQ(rates({{bulk, 20, 200, 0}, {video, 100, 200, 0}}, 200), V({60, 140}));
  // Prio 0 takes all that is left.
  EXPECT_EQ(rates({{bulk, 4, 20, 1}, {video, 4, 20, 0}}, 20), V({4, 16}));
  // A class stops at its ceil and the rest goes to the other.
  EXPECT_EQ(rates({{bulk, 2, 4, 0}, {video, 6, 20, 0}}, 20), V({4, 16}));
  // An idle class gets nothing and what it does not use is lent.
  EXPECT_EQ(rates({{bulk, 2, 20, 0}, {video, 6, 20, 0}}, 20, {video}), V({0, 20}));
  // Prio 1 gets what prio 0 cannot take below its ceil.
  EXPECT_EQ(rates({{bulk, 4, 20, 1}, {video, 4, 10, 0}}, 20), V({10, 10}));
}

}  // namespace
}  // namespace linklab::sim
