// linklab-live's pieces that need no kernel: the observer's samples from counters, the
// classification of TCP connections, and the policies (baselines and the shipped learned
// policy): what they accept, what they refuse, and that a decision is a valid HTB config.

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/files.h"
#include "live/observer.h"
#include "live/policy.h"
#include "live/predictor.h"
#include "models/network.h"
#include "models/onnx_export.h"
#include "sim/observation.h"
#include "tests/test_util.h"

namespace linklab::live {
namespace {

using linklab::testing::ErrorOf;

const char* kClasses =
    "[shaping]\nlink_mbps = 8\ndefault = other\nqueue_packets = 100\n"
    "[bulk]\nrate_mbps = 2\nceil_mbps = 8\nprio = 3\nmatch = port:5201\n"
    "[video]\nrate_mbps = 2\nceil_mbps = 8\nprio = 2\nmatch = port:5202\n"
    "[gaming]\nrate_mbps = 1\nceil_mbps = 8\nprio = 0\nmatch = proto:icmp, dscp:46\n"
    "[other]\nrate_mbps = 1\nceil_mbps = 8\nprio = 7\n";

const std::string kShippedPolicy =
    std::string(LINKLAB_SOURCE_DIR) + "/results/reference/live/policy.onnx";

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  core::WriteFileAtomic(path, text);
  return path;
}

TcCounters Counters(uint64_t bytes, uint64_t packets, uint64_t drops, uint64_t qlen,
                    uint64_t backlog) {
  TcCounters c;
  c.bytes = bytes;
  c.packets = packets;
  c.drops = drops;
  c.qlen = qlen;
  c.backlog_bytes = backlog;
  return c;
}

TEST(LiveObserver, SamplesAreTheCountersDeltasOverTheInterval) {
  const sim::ShapingFile f = sim::ReadShapingFile(Write("obs.ini", kClasses));
  Observer o("down", f, Direction::kIngress);
  ShaperCounters t0, t1;
  t0.total = Counters(1000, 10, 0, 0, 0);
  t1.total = Counters(1000 + 250000, 10 + 200, 0, 0, 0);
  for (const auto& c : f.config.classes) {
    t0.classes[c.app_class] = Counters(0, 0, 0, 0, 0);
    t1.classes[c.app_class] = Counters(0, 0, 0, 0, 0);
  }
  t1.classes[sim::AppClass::kBulk] = Counters(150000, 100, 5, 20, 30000);
  t1.classes[sim::AppClass::kVideo] = Counters(100000, 100, 0, 0, 0);
  TcpSocket bulk;
  bulk.remote_port = 5201;
  bulk.rcv_rtt_ms = 40;
  bulk.rtt_ms = 1;
  bulk.bytes_received = 1000000;
  TcpSocket video;
  video.local_port = 5202;
  video.rtt_ms = 12;
  video.bytes_acked = 500000;
  EXPECT_TRUE(o.FromTree(t0, nullptr, 10.0).empty()) << "no interval before the second read";
  const std::vector<TcpSocket> sockets = {bulk, video};
  const std::vector<sim::LinkSample> s = o.FromTree(t1, &sockets, 10.5);
  ASSERT_EQ(s.size(), 5u);  // bulk, video, gaming, other, all
  EXPECT_EQ(s[0].app_class, "bulk");
  EXPECT_EQ(s[0].link, "down");
  EXPECT_DOUBLE_EQ(s[0].interval_s, 0.5);
  EXPECT_EQ(s[0].bytes_delivered, 150000u);
  EXPECT_EQ(s[0].drops, 5u);
  EXPECT_DOUBLE_EQ(s[0].loss_rate, 5.0 / 105.0);
  EXPECT_DOUBLE_EQ(s[0].backlog_bytes, 30000);
  EXPECT_EQ(s[0].bytes_offered, 150000u + 5 * 1500 + 30000) << "sent + dropped + queued";
  EXPECT_DOUBLE_EQ(s[0].rtt_p50_ms, 40) << "a receiving connection: the receiver's RTT";
  EXPECT_DOUBLE_EQ(s[1].rtt_p50_ms, 12);
  EXPECT_TRUE(std::isnan(s[2].rtt_p50_ms)) << "gaming has no TCP connection";
  EXPECT_TRUE(std::isnan(s[0].capacity_mbps)) << "truth the interface cannot give";
  const sim::LinkSample& all = s[4];
  EXPECT_EQ(all.app_class, "all");
  EXPECT_EQ(all.bytes_delivered, 250000u);
  EXPECT_EQ(all.drops, 5u) << "the leaves' drops";
  EXPECT_DOUBLE_EQ(all.backlog_bytes, 30000);
  EXPECT_DOUBLE_EQ(sim::DeliveredBps(all), 4e6);
  sim::LinkSample r = all;
  SetLiveProxies(r);
  EXPECT_DOUBLE_EQ(r.capacity_mbps, 4.0);
}

TEST(LiveObserver, ConnectionsTakeTheFirstMatchingClassElseTheDefault) {
  const sim::ShapingFile f = sim::ReadShapingFile(Write("cls.ini", kClasses));
  TcpSocket s;
  s.remote_port = 5202;
  EXPECT_EQ(ClassOfSocket(f, s), sim::AppClass::kVideo);
  s.remote_port = 443;
  EXPECT_EQ(ClassOfSocket(f, s), sim::AppClass::kOther);
  s.tos = 46 << 2;
  EXPECT_EQ(ClassOfSocket(f, s), sim::AppClass::kGaming);
}

sim::LinkSample Sample(const std::string& c, double mbps, double rtt_ms) {
  sim::LinkSample s;
  s.link = "down";
  s.app_class = c;
  s.interval_s = 0.1;
  s.bytes_delivered = static_cast<uint64_t>(mbps * 1e6 / 8 * 0.1);
  s.packets_delivered = s.bytes_delivered / 1500;
  s.rtt_p50_ms = s.rtt_p95_ms = rtt_ms;
  return s;
}

TEST(LivePolicy, TheShippedPolicyDecidesValidConfigsForItsClasses) {
  const std::string path = Write("ship.ini", kClasses);
  const sim::ShapingFile f = sim::ReadShapingFile(path);
  auto p = MakeLivePolicy(kShippedPolicy, f, path, {}, "down");
  EXPECT_EQ(p->link(), "down");
  EXPECT_DOUBLE_EQ(p->step_s(), 0.1);
  sim::HtbConfig in_force = p->Reset();
  EXPECT_DOUBLE_EQ(in_force.link_rate_bps, 30e6) << "training's start: the decoder's maximum";
  for (int step = 0; step < 20; ++step) {
    const std::vector<sim::LinkSample> samples = {Sample("bulk", 6, 80), Sample("video", 3, 80),
                                                  Sample("gaming", 0.1, NAN),
                                                  Sample("other", 0, NAN), Sample("all", 9.1, 80)};
    const PolicyStep s = p->Next(samples, in_force);
    ASSERT_NO_THROW(s.config.Validate());
    EXPECT_EQ(s.config.classes.size(), 4u);
    EXPECT_GE(s.config.link_rate_bps, 0.5e6);
    EXPECT_LE(s.config.link_rate_bps, 30e6);
    EXPECT_LE(s.config.link_rate_bps, in_force.link_rate_bps * 1.25 + 1);
    EXPECT_GE(s.config.link_rate_bps, in_force.link_rate_bps * 0.8 - 1);
    EXPECT_TRUE(std::isfinite(s.inference_us));
    in_force = s.config;
  }
}

TEST(LivePolicy, RefusesWhatItCannotRunWithTheFileNamed) {
  const std::string path = Write("refuse.ini", kClasses);
  const sim::ShapingFile f = sim::ReadShapingFile(path);
  auto error = [&](const std::string& policy, const sim::ShapingFile& file) {
    return ErrorOf([&] { MakeLivePolicy(policy, file, path, {}, "down"); });
  };
  EXPECT_NE(error("autorat", f).find("neither an .onnx file nor a baseline (static, none, "),
            std::string::npos);
  EXPECT_NE(error(::testing::TempDir() + "/none.onnx", f).find("none.onnx: no such file"),
            std::string::npos);
  const std::string corrupt = Write("corrupt.onnx", "not a model");
  EXPECT_NE(error(corrupt, f).find("corrupt.onnx"), std::string::npos);
  // Truncated: the first half of the shipped file.
  const std::string bytes = core::ReadFile(kShippedPolicy);
  const std::string truncated = Write("truncated.onnx", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(error(truncated, f).find("truncated.onnx"), std::string::npos);
  // The classes file lacks a class the model observes: the spec hashes differ.
  const std::string fewer_path =
      Write("fewer.ini",
            "[shaping]\nlink_mbps = 8\n[bulk]\nrate_mbps = 2\nmatch = port:5201\n"
            "[gaming]\nrate_mbps = 1\nmatch = proto:icmp\n[other]\nrate_mbps = 1\n");
  const std::string mismatch = ErrorOf([&] {
    MakeLivePolicy(kShippedPolicy, sim::ReadShapingFile(fewer_path), fewer_path, {}, "down");
  });
  EXPECT_NE(mismatch.find("classes bulk,video,gaming) does not match classes file"),
            std::string::npos)
      << mismatch;
  EXPECT_NE(mismatch.find("classes bulk,gaming)"), std::string::npos) << mismatch;
  // The decoder sends unclassified packets to other.
  sim::ShapingFile web_default = f;
  web_default.config.default_class = sim::AppClass::kVideo;
  EXPECT_NE(error("autorate", web_default).find("linklab-live's policies send unclassified"),
            std::string::npos);
}

TEST(LivePolicy, BaselinesStartFromTheClassesFile) {
  const std::string path = Write("base.ini", kClasses);
  const sim::ShapingFile f = sim::ReadShapingFile(path);
  auto fixed = MakeLivePolicy("static", f, path, {}, "down");
  EXPECT_DOUBLE_EQ(fixed->Reset().link_rate_bps, 8e6);
  EXPECT_EQ(fixed->Next({}, f.config).config.classes.size(), 4u);
  BaselineLimits limits;
  limits.max_link_bps = 20e6;
  auto autorate = MakeLivePolicy("autorate", f, path, limits, "down");
  const sim::HtbConfig first = autorate->Reset();
  EXPECT_DOUBLE_EQ(first.link_rate_bps, 8e6) << "autorate's base: the file's link_mbps";
  EXPECT_EQ(first.classes.size(), 4u);
}

// A predictor file of our own: a GRU whose output is the constant `level` (zero weights but the
// output bias), over throughput and the hour, one target (throughput) one second ahead.
std::string ConstantPredictor(const std::string& name, float level) {
  models::SequenceNetWeights w;
  w.model = "rnn";
  w.window = 3;
  w.input_size = 2;
  w.output_size = 1;
  models::SequencePathWeights p;
  models::RecurrentWeights g;
  g.cell = "gru";
  g.input = 2;
  g.hidden = 3;
  g.weight_ih.assign(9 * 2, 0.0f);
  g.weight_hh.assign(9 * 3, 0.0f);
  g.bias_ih.assign(9, 0.0f);
  g.bias_hh.assign(9, 0.0f);
  p.recurrent.push_back(g);
  p.out = {3, 1, std::vector<float>(3, 0.0f), {level}};
  w.paths.push_back(p);
  const std::map<std::string, std::string> meta = {
      {"linklab.features", "[\"throughput\",\"hour\"]"},
      {"linklab.targets", "[\"throughput\"]"},
      {"linklab.horizons_s", "[1.0]"},
      {"linklab.interval_s", "1"},
      {"linklab.target", "level"},
      {"linklab.scaler", "{\"mean\":[2.0,12.0],\"std\":[1.0,6.0]}"},
      {"linklab.calibration", "{}"}};
  return Write(name, models::ExportSequenceOnnx(w, meta));
}

TEST(LivePredictor, AggregatesIntervalsForecastsAndScoresItsConfidence) {
  // The output is scaled: the model's 1.0 is 1 * std + mean = 3 Mbit/s.
  LivePredictor right(ConstantPredictor("right.onnx", 1.0f));
  LivePredictor wrong(ConstantPredictor("wrong.onnx", 5.0f));
  EXPECT_DOUBLE_EQ(right.interval_s(), 1.0);
  EXPECT_NE(ErrorOf([&] { right.SetLiveInterval(0.3); }).find("not a whole number"),
            std::string::npos);
  right.SetLiveInterval(0.1);
  wrong.SetLiveInterval(0.1);
  EXPECT_EQ(right.window(), 3);
  int closed = 0;
  for (int i = 1; i <= 10 * 30; ++i) {
    const sim::LinkSample s = Sample("all", 3.0, 50);  // 0.1 s at 3 Mbit/s
    const bool a = right.Add(s), b = wrong.Add(s);
    EXPECT_EQ(a, b);
    EXPECT_EQ(a, i % 10 == 0) << "one predictor interval every ten live intervals, at " << i;
    if (!a) continue;
    ++closed;
    const Forecast& f = right.forecasts().at(0);
    EXPECT_EQ(f.target, "throughput");
    EXPECT_DOUBLE_EQ(f.horizon_s, 1.0);
    if (closed < 3) {
      EXPECT_TRUE(std::isnan(f.value)) << "no forecast before the window has filled";
    } else {
      EXPECT_NEAR(f.value, 3.0, 1e-5);
      EXPECT_NEAR(wrong.forecasts()[0].value, 7.0, 1e-5);
    }
  }
  EXPECT_GT(right.forecasts()[0].confidence, 0.9) << "always within 20 %";
  EXPECT_LT(wrong.forecasts()[0].confidence, 0.1) << "never within 20 %";
  // Not a predictor, a missing file.
  EXPECT_NE(ErrorOf([] { LivePredictor p(kShippedPolicy); }).find("not a predictor"),
            std::string::npos);
  EXPECT_NE(ErrorOf([] { LivePredictor p("/nonexistent/q.onnx"); }).find("no such file"),
            std::string::npos);
}

}  // namespace
}  // namespace linklab::live
