// linklab-live's control state and HTTP server: a server on a free port over a ControlState,
// asked with httplib's client as Prometheus and the control API's clients would.

#include "live/server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "core/json.h"
#include "live/control.h"
#include "tests/test_util.h"

namespace linklab::live {
namespace {

using sim::AppClass;
using testing::ErrorOf;

// A server on 127.0.0.1 (any port) over bulk, video and gaming, and a client for it.
class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : state_({AppClass::kBulk, AppClass::kVideo, AppClass::kGaming}) {}

  void SetUp() override {
    ServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.max_body_bytes = kMaxBody;
    server_ = std::make_unique<ControlServer>(state_, options);
    ASSERT_GT(server_->port(), 0);
  }

  httplib::Client Client() {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_connection_timeout(5, 0);
    client.set_read_timeout(5, 0);
    return client;
  }

  // POST `body` to `path`; the status and the parsed reply.
  std::pair<int, core::Json> Post(const std::string& path, const std::string& body) {
    httplib::Client client = Client();
    auto res = client.Post(path.c_str(), body, "application/json");
    EXPECT_TRUE(res) << path << ": " << httplib::to_string(res.error());
    if (!res) return {0, core::Json()};
    return {res->status, Parse(res->body)};
  }

  std::pair<int, core::Json> Get(const std::string& path) {
    httplib::Client client = Client();
    auto res = client.Get(path.c_str());
    EXPECT_TRUE(res) << path << ": " << httplib::to_string(res.error());
    if (!res) return {0, core::Json()};
    return {res->status, Parse(res->body)};
  }

  static core::Json Parse(const std::string& text) {
    try {
      return core::ParseJson(text, "reply");
    } catch (const std::invalid_argument& e) {
      ADD_FAILURE() << e.what() << ": " << text;
      return core::Json();
    }
  }

  // The state's changeable parts, to see that a refused request changed nothing.
  std::string Snapshot() const {
    core::Json s = {{"adaptive", state_.adaptive()}};
    for (const auto& [c, q] : state_.qos()) {
      s[sim::AppClassName(c)] = {q.min_mbps, q.max_rtt_ms, q.max_loss};
    }
    return s.dump();
  }

  static constexpr size_t kMaxBody = 256;
  ControlState state_;
  std::unique_ptr<ControlServer> server_;
};

TEST_F(ServerTest, MetricsServesTheRegistry) {
  auto& family = prometheus::BuildGauge()
                     .Name("linklab_test_rate_bps")
                     .Help("a test gauge")
                     .Register(state_.registry());
  family.Add({{"class", "bulk"}}).Set(1234.5);

  httplib::Client client = Client();
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res->body.find("# TYPE linklab_test_rate_bps gauge"), std::string::npos) << res->body;
  EXPECT_NE(res->body.find("linklab_test_rate_bps{class=\"bulk\"} 1234.5"), std::string::npos)
      << res->body;
}

TEST_F(ServerTest, StatusAddsAdaptiveAndQos) {
  state_.SetStatusJson(R"({"interface": "eth0", "intervals": 7})");
  QosRequirement gaming;
  gaming.min_mbps = 1.5;
  gaming.max_rtt_ms = 80;
  state_.SetQos(AppClass::kGaming, gaming);

  httplib::Client client = Client();
  auto res = client.Get("/api/status");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  const core::Json status = Parse(res->body);
  EXPECT_EQ(status["interface"], "eth0");
  EXPECT_EQ(status["intervals"], 7);
  EXPECT_EQ(status["adaptive"], true);
  ASSERT_TRUE(status["qos"].is_object());
  EXPECT_EQ(status["qos"].size(), 3u);
  EXPECT_EQ(status["qos"]["gaming"]["min_mbps"], 1.5);
  EXPECT_EQ(status["qos"]["gaming"]["max_rtt_ms"], 80.0);
  EXPECT_TRUE(status["qos"]["gaming"]["max_loss"].is_null());  // NaN: no bound
  EXPECT_EQ(status["qos"]["bulk"]["min_mbps"], 0.0);
  EXPECT_TRUE(status["qos"]["bulk"]["max_rtt_ms"].is_null());
}

TEST_F(ServerTest, ShapingTurnsAdaptiveOffAndOn) {
  auto [status, reply] = Post("/api/shaping", R"({"adaptive": false})");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(reply["adaptive"], false);
  EXPECT_FALSE(state_.adaptive());
  EXPECT_EQ(Get("/api/status").second["adaptive"], false);

  std::tie(status, reply) = Post("/api/shaping", R"({"adaptive": true})");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(reply["adaptive"], true);
  EXPECT_TRUE(state_.adaptive());
}

TEST_F(ServerTest, QosMergesIntoTheClassRequirement) {
  auto [status, reply] = Post("/api/qos", R"({"class": "gaming", "min_mbps": 1.5})");
  EXPECT_EQ(status, 200) << reply.dump();
  EXPECT_EQ(reply["class"], "gaming");
  EXPECT_EQ(reply["min_mbps"], 1.5);
  EXPECT_TRUE(reply["max_rtt_ms"].is_null());

  std::tie(status, reply) =
      Post("/api/qos", R"({"class": "gaming", "max_rtt_ms": 100, "max_loss": 0.01})");
  EXPECT_EQ(status, 200) << reply.dump();
  EXPECT_EQ(reply["min_mbps"], 1.5);  // kept
  EXPECT_EQ(reply["max_rtt_ms"], 100.0);
  QosRequirement q = state_.qos().at(AppClass::kGaming);
  EXPECT_EQ(q.min_mbps, 1.5);
  EXPECT_EQ(q.max_rtt_ms, 100.0);
  EXPECT_EQ(q.max_loss, 0.01);

  // null clears: a bound to none, the minimum to 0.
  std::tie(status, reply) = Post("/api/qos", R"({"class": "gaming", "max_rtt_ms": null,
                                                  "min_mbps": null})");
  EXPECT_EQ(status, 200) << reply.dump();
  q = state_.qos().at(AppClass::kGaming);
  EXPECT_EQ(q.min_mbps, 0.0);
  EXPECT_TRUE(std::isnan(q.max_rtt_ms));
  EXPECT_EQ(q.max_loss, 0.01);
  EXPECT_TRUE(std::isnan(state_.qos().at(AppClass::kBulk).max_rtt_ms));  // others untouched
}

TEST_F(ServerTest, BadRequestsGet4xxAndChangeNothing) {
  QosRequirement video;
  video.min_mbps = 2;
  state_.SetQos(AppClass::kVideo, video);
  const std::string before = Snapshot();

  struct Case {
    const char* path;
    std::string body;
    std::string mention;  // a part of the error message
  };
  const Case cases[] = {
      {"/api/shaping", "not json", "line 1"},
      {"/api/shaping", "", "not JSON"},
      {"/api/shaping", "[true]", "object"},
      {"/api/shaping", "{}", "adaptive"},
      {"/api/shaping", R"({"adaptive": false, "force": 1})", "force"},
      {"/api/shaping", R"({"adaptive": "no"})", "\"no\""},
      {"/api/shaping", R"({"adaptive": 0})", "adaptive"},
      {"/api/qos", R"({"min_mbps": 1})", "class"},
      {"/api/qos", R"({"class": 2, "min_mbps": 1})", "class"},
      {"/api/qos", R"({"class": "nope", "min_mbps": 1})", "nope"},
      {"/api/qos", R"({"class": "web", "min_mbps": 1})", "web"},  // not shaped
      {"/api/qos", R"({"class": "video", "min_mbps": -1})", "-1"},
      {"/api/qos", R"({"class": "video", "min_mbps": "3"})", "min_mbps"},
      {"/api/qos", R"({"class": "video", "min_mbps": true})", "min_mbps"},
      {"/api/qos", R"({"class": "video", "min_mbps": 1e400})", "1e400"},
      {"/api/qos", R"({"class": "video", "max_rtt_ms": 0})", "max_rtt_ms"},
      {"/api/qos", R"({"class": "video", "max_rtt_ms": -5})", "-5"},
      {"/api/qos", R"({"class": "video", "max_loss": 1.5})", "1.5"},
      {"/api/qos", R"({"class": "video", "min_mbps": 3, "max_loss": 2})", "max_loss"},
      {"/api/qos", R"({"class": "video", "min_mbps": 3, "max_jitter_ms": 2})", "max_jitter_ms"},
  };
  for (const Case& c : cases) {
    auto [status, reply] = Post(c.path, c.body);
    EXPECT_GE(status, 400) << c.path << " " << c.body;
    EXPECT_LT(status, 500) << c.path << " " << c.body;
    ASSERT_TRUE(reply.is_object() && reply.contains("error")) << reply.dump();
    const std::string error = reply["error"].get<std::string>();
    EXPECT_NE(error.find(c.mention), std::string::npos) << c.path << " " << c.body << ": " << error;
    EXPECT_EQ(Snapshot(), before) << c.path << " " << c.body;
  }
}

TEST_F(ServerTest, OversizedBodiesGet413AndChangeNothing) {
  const std::string before = Snapshot();
  std::string body = R"({"adaptive": false)";
  body += std::string(kMaxBody + 1 - body.size() - 1, ' ') + "}";
  ASSERT_EQ(body.size(), kMaxBody + 1);

  // With a Content-Length: httplib itself refuses it.
  auto [status, reply] = Post("/api/shaping", body);
  EXPECT_EQ(status, 413);
  ASSERT_TRUE(reply.contains("error")) << reply.dump();
  EXPECT_NE(reply["error"].get<std::string>().find("256"), std::string::npos) << reply.dump();
  EXPECT_EQ(Snapshot(), before);

  // Chunked (no Content-Length): httplib 0.11 does not bound it, the server does.
  httplib::Client client = Client();
  auto res = client.Post(
      "/api/shaping",
      [&](size_t offset, httplib::DataSink& sink) {
        if (offset == 0) sink.write(body.data(), body.size());
        sink.done();
        return true;
      },
      "application/json");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 413) << res->body;
  EXPECT_TRUE(Parse(res->body).contains("error")) << res->body;
  EXPECT_EQ(Snapshot(), before);

  // The connection stays in step: on one kept-alive connection, a request after a refused one
  // is answered.
  httplib::Client kept = Client();
  kept.set_keep_alive(true);
  for (int i = 0; i < 2; ++i) {
    res = kept.Post("/api/shaping", body, "application/json");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 413);
    res = kept.Get("/api/status");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
  }
  EXPECT_EQ(Snapshot(), before);

  // A body of exactly the limit is read.
  const std::string fits = body.substr(0, kMaxBody - 1) + "}";
  std::tie(status, reply) = Post("/api/shaping", fits);
  EXPECT_EQ(status, 200) << reply.dump();
  EXPECT_FALSE(state_.adaptive());
}

TEST_F(ServerTest, DecisionsAreTheRecentOnesOldestFirst) {
  const size_t added = ControlState::kMaxDecisions + 44;
  for (size_t i = 0; i < added; ++i) {
    Decision d;
    d.time_s = static_cast<double>(i);
    d.source = i % 2 ? "policy" : "fallback";
    d.action = "a" + std::to_string(i);
    d.applied = i % 2 == 1;
    d.config.link_rate_bps = 8e6;
    d.config.default_class = AppClass::kBulk;
    d.config.classes = {{AppClass::kBulk, 2e6, 8e6, 1}, {AppClass::kGaming, 1e6, 4e6, 0}};
    state_.AddDecision(d);
  }
  EXPECT_EQ(state_.decisions_total(), added);

  auto [status, reply] = Get("/api/decisions?n=3");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(reply["total"], added);
  ASSERT_EQ(reply["decisions"].size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    const core::Json& d = reply["decisions"][k];
    const size_t i = added - 3 + k;
    EXPECT_EQ(d["time_s"], static_cast<double>(i));
    EXPECT_EQ(d["action"], "a" + std::to_string(i));
    EXPECT_EQ(d["applied"], i % 2 == 1);
    EXPECT_TRUE(d["confidence"].is_null());
    EXPECT_TRUE(d["inference_us"].is_null());
    EXPECT_EQ(d["config"]["link_rate_bps"], 8e6);
    EXPECT_EQ(d["config"]["default"], "bulk");
    ASSERT_EQ(d["config"]["classes"].size(), 2u);
    EXPECT_EQ(d["config"]["classes"][1]["class"], "gaming");
    EXPECT_EQ(d["config"]["classes"][1]["rate_bps"], 1e6);
    EXPECT_EQ(d["config"]["classes"][1]["ceil_bps"], 4e6);
    EXPECT_EQ(d["config"]["classes"][1]["prio"], 0);
  }

  // At most kMaxDecisions kept: the oldest dropped.
  std::tie(status, reply) = Get("/api/decisions?n=256");
  EXPECT_EQ(status, 200);
  ASSERT_EQ(reply["decisions"].size(), ControlState::kMaxDecisions);
  EXPECT_EQ(reply["decisions"][0]["time_s"], 44.0);
  EXPECT_EQ(Get("/api/decisions").second["decisions"].size(), 50u);  // the default

  for (const char* n : {"0", "257", "-1", "abc", "", "1.5", "99999999999"}) {
    std::tie(status, reply) = Get(std::string("/api/decisions?n=") + n);
    EXPECT_EQ(status, 400) << n;
    EXPECT_TRUE(reply.contains("error")) << n << ": " << reply.dump();
  }
}

TEST_F(ServerTest, UnknownPathIs404WrongMethodIs405) {
  auto [status, reply] = Get("/api/nothing");
  EXPECT_EQ(status, 404);
  EXPECT_NE(reply["error"].get<std::string>().find("/api/nothing"), std::string::npos);
  std::tie(status, reply) = Post("/nothing", "{}");
  EXPECT_EQ(status, 404);
  EXPECT_TRUE(reply.contains("error"));

  std::tie(status, reply) = Get("/api/shaping");
  EXPECT_EQ(status, 405);
  EXPECT_TRUE(reply.contains("error"));
  std::tie(status, reply) = Post("/metrics", "{}");
  EXPECT_EQ(status, 405);
  EXPECT_TRUE(reply.contains("error"));

  httplib::Client client = Client();
  auto res = client.Delete("/api/qos");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "POST");
  res = client.Put("/api/status", "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
}

TEST_F(ServerTest, APortInUseCannotBeBound) {
  ServerOptions options;
  options.address = "127.0.0.1";
  options.port = server_->port();
  try {
    ControlServer second(state_, options);
    FAIL() << "bound port " << options.port << " twice";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("127.0.0.1:" + std::to_string(options.port)), std::string::npos)
        << message;
    EXPECT_NE(message.find("cannot bind"), std::string::npos) << message;
  }
}

TEST(ControlServerTest, NonLoopbackNeedsAToken) {
  ControlState state({AppClass::kBulk});
  ServerOptions options;
  options.address = "0.0.0.0";
  options.port = 0;
  const std::string error = ErrorOf([&] { ControlServer server(state, options); });
  EXPECT_NE(error.find("0.0.0.0"), std::string::npos) << error;
  EXPECT_NE(error.find("token"), std::string::npos) << error;
}

TEST(ControlServerTest, NonLoopbackChangesNeedTheToken) {
  ControlState state({AppClass::kBulk, AppClass::kGaming});
  ServerOptions options;
  options.address = "0.0.0.0";
  options.port = 0;
  options.token = "s3cret";
  ControlServer server(state, options);
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(5, 0);
  const std::string off = R"({"adaptive": false})";

  auto res = client.Post("/api/shaping", off, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_NE(res->body.find("error"), std::string::npos);
  res = client.Post("/api/shaping", {{"Authorization", "Bearer s3cre"}}, off, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = client.Post("/api/shaping", {{"Authorization", "Bearer s3cretX"}}, off, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = client.Post("/api/shaping", {{"Authorization", "s3cret"}}, off, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_TRUE(state.adaptive());

  res = client.Post("/api/shaping", {{"Authorization", "Bearer s3cret"}}, off, "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  EXPECT_FALSE(state.adaptive());

  // Reading needs no token.
  res = client.Get("/api/status");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(ParseListenTest, AcceptsAddressesAndPorts) {
  ServerOptions o = ParseListen("127.0.0.1:9464");
  EXPECT_EQ(o.address, "127.0.0.1");
  EXPECT_EQ(o.port, 9464);
  o = ParseListen("0.0.0.0:80");
  EXPECT_EQ(o.address, "0.0.0.0");
  EXPECT_EQ(o.port, 80);
  o = ParseListen("[::1]:9464");
  EXPECT_EQ(o.address, "::1");
  EXPECT_EQ(o.port, 9464);
  o = ParseListen("localhost:0");
  EXPECT_EQ(o.address, "localhost");
  EXPECT_EQ(o.port, 0);
  EXPECT_EQ(ParseListen("10.1.2.3:65535").port, 65535);
}

TEST(ParseListenTest, RejectsOthersNamingWhatAndValue) {
  for (const char* bad :
       {"", "9464", ":9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:http", "127.0.0.1:94 64", "::1:9464", "[::1]9464", "[nope]:9464", "[]:9464",
        "1.2.3:80", "300.1.1.1:80", "bad host:80"}) {
    const std::string error = ErrorOf([&] { ParseListen(bad, "--metrics"); });
    EXPECT_NE(error.find("--metrics"), std::string::npos) << bad << ": " << error;
    EXPECT_NE(error.find(std::string("'") + bad + "'"), std::string::npos) << bad << ": " << error;
  }
}

TEST(IsLoopbackTest, LoopbackAddresses) {
  EXPECT_TRUE(IsLoopback("127.0.0.1"));
  EXPECT_TRUE(IsLoopback("127.8.9.10"));
  EXPECT_TRUE(IsLoopback("::1"));
  EXPECT_TRUE(IsLoopback("[::1]"));
  EXPECT_TRUE(IsLoopback("localhost"));
  EXPECT_FALSE(IsLoopback("0.0.0.0"));
  EXPECT_FALSE(IsLoopback("::"));
  EXPECT_FALSE(IsLoopback("10.0.0.1"));
  EXPECT_FALSE(IsLoopback("128.0.0.1"));
  EXPECT_FALSE(IsLoopback("example.org"));
}

TEST(ControlStateTest, SetQosValidatesAndNamesTheProblem) {
  ControlState state({AppClass::kBulk, AppClass::kGaming});
  QosRequirement ok;
  ok.min_mbps = 1;
  ok.max_rtt_ms = 50;
  ok.max_loss = 1;
  state.SetQos(AppClass::kGaming, ok);
  EXPECT_EQ(state.qos().at(AppClass::kGaming).max_loss, 1.0);

  auto error_of = [&](AppClass c, double min, double rtt, double loss) {
    QosRequirement q;
    q.min_mbps = min;
    q.max_rtt_ms = rtt;
    q.max_loss = loss;
    return ErrorOf([&] { state.SetQos(c, q); });
  };
  EXPECT_NE(error_of(AppClass::kWeb, 1, NAN, NAN).find("web"), std::string::npos);
  EXPECT_NE(error_of(AppClass::kBulk, -1, NAN, NAN).find("min_mbps"), std::string::npos);
  EXPECT_NE(error_of(AppClass::kBulk, NAN, NAN, NAN).find("min_mbps"), std::string::npos);
  EXPECT_NE(error_of(AppClass::kBulk, INFINITY, NAN, NAN).find("min_mbps"), std::string::npos);
  EXPECT_NE(error_of(AppClass::kBulk, 0, 0, NAN).find("max_rtt_ms"), std::string::npos);
  EXPECT_NE(error_of(AppClass::kBulk, 0, INFINITY, NAN).find("max_rtt_ms"), std::string::npos);
  EXPECT_NE(error_of(AppClass::kBulk, 0, NAN, 0).find("max_loss"), std::string::npos);
  EXPECT_NE(error_of(AppClass::kBulk, 0, NAN, 1.01).find("bulk"), std::string::npos);
  EXPECT_EQ(state.qos().at(AppClass::kGaming).min_mbps, 1.0);  // unchanged
  EXPECT_EQ(state.qos().at(AppClass::kBulk).min_mbps, 0.0);

  EXPECT_NE(ErrorOf([] {
              ControlState twice({AppClass::kBulk, AppClass::kBulk});
            }).find("bulk"),
            std::string::npos);
}

TEST(ControlStateTest, KeepsTheLastDecisions) {
  ControlState state({AppClass::kBulk});
  EXPECT_TRUE(state.RecentDecisions(10).empty());
  for (int i = 0; i < 300; ++i) {
    Decision d;
    d.time_s = i;
    state.AddDecision(d);
  }
  EXPECT_EQ(state.decisions_total(), 300u);
  EXPECT_EQ(state.RecentDecisions(1000).size(), ControlState::kMaxDecisions);
  const std::vector<Decision> last = state.RecentDecisions(2);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_EQ(last[0].time_s, 298.0);
  EXPECT_EQ(last[1].time_s, 299.0);
}

TEST(DecisionJsonTest, OneLineWithNanAsNull) {
  Decision d;
  d.time_s = 1.5;
  d.source = "policy";
  d.confidence = 0.75;
  d.config.classes = {{AppClass::kVideo, 1e6, 2e6, 2}};
  const std::string text = DecisionJson(d);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  const core::Json j = core::ParseJson(text, "decision");
  EXPECT_EQ(j["time_s"], 1.5);
  EXPECT_EQ(j["source"], "policy");
  EXPECT_EQ(j["confidence"], 0.75);
  EXPECT_TRUE(j["inference_us"].is_null());
  EXPECT_EQ(j["applied"], false);
  EXPECT_EQ(j["config"]["classes"][0]["class"], "video");
}

}  // namespace
}  // namespace linklab::live
