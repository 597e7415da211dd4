#include "sim/ns3/apps.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "ns3/application.h"
#include "ns3/inet-socket-address.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/socket.h"
#include "ns3/tcp-bbr.h"
#include "ns3/tcp-congestion-ops.h"
#include "ns3/tcp-cubic.h"
#include "ns3/tcp-socket-base.h"
#include "ns3/tcp-socket-factory.h"
#include "ns3/udp-socket-factory.h"
#include "ns3/uinteger.h"

namespace linklab::sim {

namespace {

// TCP payload per segment: 1500-byte IP packets with the timestamp option.
constexpr uint32_t kTcpSegmentBytes = 1448;
// Largest write handed to a TCP socket at once.
constexpr uint32_t kWriteChunkBytes = 64u << 10;
// A request: the size of the wanted response (8 bytes, big-endian), padded.
constexpr uint32_t kRequestBytes = 64;
// Response size meaning "send until the connection ends".
constexpr uint64_t kEndlessBytes = UINT64_MAX;
// Video: period of the playback update, ABR window and safety factor.
constexpr double kPlaybackTickS = 0.1;
constexpr size_t kAbrWindow = 5;
constexpr double kAbrSafety = 0.9;
// Game packet header: sequence number, send time, echoed peer time, hold time (8 bytes each).
constexpr int kGameHeaderBytes = 32;
constexpr int64_t kNoEcho = -1;

void PutU64(uint8_t* out, uint64_t value) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<uint8_t>(value & 0xff);
    value >>= 8;
  }
}

uint64_t GetU64(const uint8_t* in) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | in[i];
  return value;
}

double NowS() { return ns3::Simulator::Now().GetSeconds(); }

// A socket address carrying the ToS byte: ns-3 3.37's Bind and Connect set the socket's ToS
// from the address, so an unmarked address would clear the mark.
ns3::InetSocketAddress MarkedAddress(ns3::Ipv4Address address, uint16_t port, uint8_t tos) {
  ns3::InetSocketAddress marked(address, port);
  marked.SetTos(tos);
  return marked;
}

// How the TCP sockets of one workload instance are set up (both ends).
struct SocketSpec {
  std::string tcp;                   // "newreno", "cubic" or "bbr"
  uint8_t tos = 0;                   // ToS byte: the class's DSCP << 2
  uint32_t bbr_stream = 0;           // random stream of BBR's gain-cycle start, drawn from the seed
  uint32_t buffer_bytes = 4u << 20;  // send and receive buffers (WorkloadOptions)
};

// A TCP socket on `node` with the spec's congestion control, marking and buffers.
ns3::Ptr<ns3::Socket> CreateTcpSocket(ns3::Ptr<ns3::Node> node, const SocketSpec& spec) {
  ns3::Ptr<ns3::Socket> socket =
      ns3::Socket::CreateSocket(node, ns3::TcpSocketFactory::GetTypeId());
  ns3::Ptr<ns3::TcpSocketBase> tcp = ns3::DynamicCast<ns3::TcpSocketBase>(socket);
  if (!tcp) throw std::logic_error("ns-3 TCP socket is not a TcpSocketBase");
  tcp->SetAttribute("SndBufSize", ns3::UintegerValue(spec.buffer_bytes));
  tcp->SetAttribute("RcvBufSize", ns3::UintegerValue(spec.buffer_bytes));
  tcp->SetAttribute("SegmentSize", ns3::UintegerValue(kTcpSegmentBytes));
  if (spec.tcp == "newreno") {
    tcp->SetCongestionControlAlgorithm(ns3::CreateObject<ns3::TcpNewReno>());
  } else if (spec.tcp == "cubic") {
    tcp->SetCongestionControlAlgorithm(ns3::CreateObject<ns3::TcpCubic>());
  } else if (spec.tcp == "bbr") {
    ns3::Ptr<ns3::TcpBbr> bbr = ns3::CreateObject<ns3::TcpBbr>();
    bbr->SetStream(spec.bbr_stream);
    tcp->SetCongestionControlAlgorithm(bbr);
    tcp->SetPacingStatus(true);  // BBR sends at its pacing rate
  } else {
    CheckTcpVariant(spec.tcp, "workload tcp");
  }
  tcp->SetIpTos(spec.tos);
  return socket;
}

// Drops every application callback of a socket, so that it can outlive its owner.
void Silence(ns3::Ptr<ns3::Socket> socket) {
  using ns3::MakeNullCallback;
  using ns3::Ptr;
  using ns3::Socket;
  socket->SetRecvCallback(MakeNullCallback<void, Ptr<Socket>>());
  socket->SetSendCallback(MakeNullCallback<void, Ptr<Socket>, uint32_t>());
  socket->SetConnectCallback(MakeNullCallback<void, Ptr<Socket>>(),
                             MakeNullCallback<void, Ptr<Socket>>());
  socket->SetCloseCallbacks(MakeNullCallback<void, Ptr<Socket>>(),
                            MakeNullCallback<void, Ptr<Socket>>());
  socket->SetAcceptCallback(MakeNullCallback<bool, Ptr<Socket>, const ns3::Address&>(),
                            MakeNullCallback<void, Ptr<Socket>, const ns3::Address&>());
}

// ---------------------------------------------------------------------------------------------
// Data sender of the TCP classes: listens on a port and answers each request (a size) on a
// connection with that many bytes, optionally closing the connection after the answer. RTT
// samples of its sockets go to the counters.
class TcpResponder : public ns3::Application {
 public:
  TcpResponder(SocketSpec spec, uint16_t port, bool close_after_response, AppCounters* counters)
      : spec_(std::move(spec)),
        port_(port),
        close_after_response_(close_after_response),
        counters_(counters) {}

 private:
  struct Connection {
    ns3::Ptr<ns3::Socket> socket;
    std::vector<uint8_t> request;  // bytes of a request not yet complete
    uint64_t pending_bytes = 0;    // response bytes not yet written (kEndlessBytes: forever)
    bool answered = false;         // a request arrived
    bool closing = false;
  };

  void StartApplication() override {
    listener_ = CreateTcpSocket(GetNode(), spec_);
    if (listener_->Bind(MarkedAddress(ns3::Ipv4Address::GetAny(), port_, spec_.tos)) != 0) {
      throw std::runtime_error("workload: cannot bind TCP port " + std::to_string(port_));
    }
    listener_->Listen();
    listener_->SetAcceptCallback(
        ns3::MakeNullCallback<bool, ns3::Ptr<ns3::Socket>, const ns3::Address&>(),
        ns3::MakeCallback(&TcpResponder::OnAccept, this));
  }

  void StopApplication() override {
    for (auto& [key, c] : connections_) {
      Forget(c);
      c.socket->Close();
    }
    connections_.clear();
    if (listener_) {
      Silence(listener_);
      listener_->Close();
      listener_ = nullptr;
    }
  }

  void DoDispose() override {
    for (auto& [key, c] : connections_) Forget(c);
    connections_.clear();
    retired_.clear();
    if (listener_) Silence(listener_);
    listener_ = nullptr;
    ns3::Application::DoDispose();
  }

  void OnAccept(ns3::Ptr<ns3::Socket> socket, const ns3::Address&) {
    retired_.clear();
    socket->SetRecvCallback(ns3::MakeCallback(&TcpResponder::OnReceive, this));
    socket->SetSendCallback(ns3::MakeCallback(&TcpResponder::OnSpace, this));
    socket->SetCloseCallbacks(ns3::MakeCallback(&TcpResponder::OnClosed, this),
                              ns3::MakeCallback(&TcpResponder::OnClosed, this));
    socket->TraceConnectWithoutContext("RTT", ns3::MakeCallback(&TcpResponder::OnRtt, this));
    connections_[ns3::PeekPointer(socket)].socket = socket;
  }

  void OnReceive(ns3::Ptr<ns3::Socket> socket) {
    auto it = connections_.find(ns3::PeekPointer(socket));
    if (it == connections_.end()) return;
    Connection& c = it->second;
    while (ns3::Ptr<ns3::Packet> packet = socket->Recv()) {
      if (packet->GetSize() == 0) break;
      const size_t old_size = c.request.size();
      c.request.resize(old_size + packet->GetSize());
      packet->CopyData(c.request.data() + old_size, packet->GetSize());
    }
    size_t used = 0;
    for (; c.request.size() - used >= kRequestBytes; used += kRequestBytes) {
      const uint64_t bytes = GetU64(c.request.data() + used);
      if (bytes == kEndlessBytes || c.pending_bytes == kEndlessBytes) {
        c.pending_bytes = kEndlessBytes;
      } else {
        c.pending_bytes += bytes;
      }
      c.answered = true;
    }
    c.request.erase(c.request.begin(), c.request.begin() + used);
    Fill(c);
  }

  void OnSpace(ns3::Ptr<ns3::Socket> socket, uint32_t) {
    auto it = connections_.find(ns3::PeekPointer(socket));
    if (it != connections_.end()) Fill(it->second);
  }

  // Writes as much of the pending response as the send buffer takes.
  void Fill(Connection& c) {
    if (c.closing) return;
    const bool endless = c.pending_bytes == kEndlessBytes;
    while (c.pending_bytes > 0) {
      uint64_t bytes = std::min<uint64_t>(c.socket->GetTxAvailable(), kWriteChunkBytes);
      if (!endless) bytes = std::min(bytes, c.pending_bytes);
      if (bytes == 0) return;
      const int sent = c.socket->Send(ns3::Create<ns3::Packet>(static_cast<uint32_t>(bytes)));
      if (sent <= 0) return;
      if (!endless) c.pending_bytes -= static_cast<uint64_t>(sent);
    }
    if (close_after_response_ && c.answered) {
      c.closing = true;
      c.socket->Close();  // FIN follows the buffered data
    }
  }

  void OnClosed(ns3::Ptr<ns3::Socket> socket) {
    retired_.clear();
    auto it = connections_.find(ns3::PeekPointer(socket));
    if (it == connections_.end()) return;
    Forget(it->second);
    if (!it->second.closing) socket->Close();  // the peer closed: close our half too
    // Keep the socket referenced until its own call stack has unwound.
    retired_.push_back(socket);
    connections_.erase(it);
  }

  void Forget(Connection& c) {
    Silence(c.socket);
    c.socket->TraceDisconnectWithoutContext("RTT", ns3::MakeCallback(&TcpResponder::OnRtt, this));
  }

  void OnRtt(ns3::Time, ns3::Time rtt) { counters_->AddRtt(rtt.GetSeconds() * 1e3); }

  SocketSpec spec_;
  uint16_t port_;
  bool close_after_response_;
  AppCounters* counters_;
  ns3::Ptr<ns3::Socket> listener_;
  std::map<ns3::Socket*, Connection> connections_;
  std::vector<ns3::Ptr<ns3::Socket>> retired_;
};

// ---------------------------------------------------------------------------------------------
// Client end of one TCP connection to a TcpResponder (shared by the bulk, video and web
// clients): connects on construction, sends size requests and reports response bytes. The
// owner's handlers are never called after Close() or destruction.
class TcpRequester {
 public:
  struct Handlers {
    std::function<void()> connected;
    std::function<void(uint32_t bytes)> received;
    std::function<void()> ended;  // refused, reset or closed by the peer
  };

  TcpRequester(ns3::Ptr<ns3::Node> node, const SocketSpec& spec, const ns3::Address& server,
               Handlers handlers)
      : handlers_(std::move(handlers)), socket_(CreateTcpSocket(node, spec)) {
    socket_->Bind();
    socket_->SetConnectCallback(ns3::MakeCallback(&TcpRequester::OnConnected, this),
                                ns3::MakeCallback(&TcpRequester::OnEnded, this));
    socket_->SetRecvCallback(ns3::MakeCallback(&TcpRequester::OnReceive, this));
    socket_->SetCloseCallbacks(ns3::MakeCallback(&TcpRequester::OnEnded, this),
                               ns3::MakeCallback(&TcpRequester::OnEnded, this));
    socket_->Connect(server);
  }
  // Detaches from the socket without closing it (ns-3 may be tearing down).
  ~TcpRequester() { Silence(socket_); }
  TcpRequester(const TcpRequester&) = delete;
  TcpRequester& operator=(const TcpRequester&) = delete;

  // Asks for `bytes` of response (kEndlessBytes: until the connection ends).
  void Request(uint64_t bytes) {
    uint8_t message[kRequestBytes] = {};
    PutU64(message, bytes);
    socket_->Send(ns3::Create<ns3::Packet>(message, kRequestBytes));
  }

  // Closes the connection gracefully; no handler is called any more.
  void Close() {
    if (closed_) return;
    closed_ = true;
    Silence(socket_);
    socket_->Close();
  }

 private:
  void OnConnected(ns3::Ptr<ns3::Socket>) { handlers_.connected(); }

  void OnReceive(ns3::Ptr<ns3::Socket> socket) {
    while (!closed_) {
      ns3::Ptr<ns3::Packet> packet = socket->Recv();
      if (!packet || packet->GetSize() == 0) break;
      handlers_.received(packet->GetSize());
    }
  }

  void OnEnded(ns3::Ptr<ns3::Socket>) {
    if (closed_) return;
    Close();
    handlers_.ended();
  }

  Handlers handlers_;
  ns3::Ptr<ns3::Socket> socket_;
  bool closed_ = false;
};

// ---------------------------------------------------------------------------------------------
// Bulk data receiver: one connection, one request for `bytes` (kEndlessBytes: forever).
class BulkClient : public ns3::Application {
 public:
  BulkClient(SocketSpec spec, ns3::Address server, uint64_t bytes, AppCounters* counters)
      : spec_(std::move(spec)), server_(server), bytes_(bytes), counters_(counters) {}

 private:
  void StartApplication() override {
    connection_ = std::make_unique<TcpRequester>(
        GetNode(), spec_, server_,
        TcpRequester::Handlers{[this] { connection_->Request(bytes_); },
                               [this](uint32_t n) { OnBytes(n); }, [] {}});
  }
  void StopApplication() override {
    if (connection_) connection_->Close();
  }
  void DoDispose() override {
    connection_.reset();
    ns3::Application::DoDispose();
  }

  void OnBytes(uint32_t n) {
    counters_->rx_bytes += n;
    received_ += n;
    if (bytes_ != kEndlessBytes && received_ >= bytes_) connection_->Close();
  }

  SocketSpec spec_;
  ns3::Address server_;
  uint64_t bytes_;
  AppCounters* counters_;
  uint64_t received_ = 0;
  std::unique_ptr<TcpRequester> connection_;
};

// ---------------------------------------------------------------------------------------------
// Video player: fetches segments over one persistent connection, picks each segment's bitrate
// with a rate-based ABR and plays the buffer out in real time (stalling when it runs dry).
class VideoPlayer : public ns3::Application {
 public:
  VideoPlayer(SocketSpec spec, ns3::Address server, const WorkloadOptions& options,
              AppCounters* counters, double buffer_share)
      : spec_(std::move(spec)),
        server_(server),
        ladder_kbps_(options.video_ladder_kbps),
        segment_s_(options.video_segment_s),
        max_buffer_s_(options.video_max_buffer_s),
        counters_(counters),
        buffer_share_(buffer_share) {}

 private:
  void StartApplication() override {
    last_update_s_ = NowS();
    connection_ = std::make_unique<TcpRequester>(
        GetNode(), spec_, server_,
        TcpRequester::Handlers{[this] { RequestSegment(); }, [this](uint32_t n) { OnBytes(n); },
                               [] {}});
    tick_event_ = ns3::Simulator::Schedule(ns3::Seconds(kPlaybackTickS), &VideoPlayer::Tick, this);
  }
  void StopApplication() override {
    tick_event_.Cancel();
    request_event_.Cancel();
    if (connection_) connection_->Close();
  }
  void DoDispose() override {
    tick_event_.Cancel();
    request_event_.Cancel();
    connection_.reset();
    ns3::Application::DoDispose();
  }

  void Tick() {
    UpdatePlayback();
    tick_event_ = ns3::Simulator::Schedule(ns3::Seconds(kPlaybackTickS), &VideoPlayer::Tick, this);
  }

  // Plays the buffer out up to now; an empty buffer after startup counts as stall time.
  void UpdatePlayback() {
    const double now_s = NowS();
    const double dt_s = now_s - last_update_s_;
    last_update_s_ = now_s;
    if (playing_) {
      if (buffer_s_ >= dt_s) {
        buffer_s_ -= dt_s;
      } else {
        counters_->video_stall_s += dt_s - buffer_s_;
        buffer_s_ = 0.0;
      }
    }
    counters_->video_buffer_s += (buffer_s_ - reported_buffer_s_) * buffer_share_;
    reported_buffer_s_ = buffer_s_;
  }

  // Rate-based ABR: the lowest bitrate at start or on a low buffer, else the highest bitrate
  // within kAbrSafety x the harmonic mean throughput of the last kAbrWindow segments.
  double ChooseBitrateKbps() const {
    if (throughput_kbps_.empty() || buffer_s_ < segment_s_) return ladder_kbps_.front();
    double inverse_sum = 0.0;
    for (double t : throughput_kbps_) inverse_sum += 1.0 / t;
    const double budget_kbps = kAbrSafety * throughput_kbps_.size() / inverse_sum;
    double best = ladder_kbps_.front();
    for (double b : ladder_kbps_) {
      if (b <= budget_kbps) best = b;
    }
    return best;
  }

  void RequestSegment() {
    UpdatePlayback();
    bitrate_kbps_ = ChooseBitrateKbps();
    segment_bytes_ = std::max<uint64_t>(1, std::llround(bitrate_kbps_ * 1e3 / 8.0 * segment_s_));
    received_bytes_ = 0;
    request_time_s_ = NowS();
    connection_->Request(segment_bytes_);
  }

  void OnBytes(uint32_t n) {
    counters_->rx_bytes += n;
    received_bytes_ += n;
    if (received_bytes_ < segment_bytes_) return;
    UpdatePlayback();
    const double elapsed_s = std::max(NowS() - request_time_s_, 1e-9);
    throughput_kbps_.push_back(segment_bytes_ * 8.0 / elapsed_s / 1e3);
    if (throughput_kbps_.size() > kAbrWindow) throughput_kbps_.pop_front();
    buffer_s_ += segment_s_;
    playing_ = true;
    counters_->video_bitrate_kbps_sum += bitrate_kbps_;
    ++counters_->video_segments;
    UpdatePlayback();
    // No request while the next segment would overflow the buffer: wait for it to drain.
    const double wait_s = buffer_s_ + segment_s_ - max_buffer_s_;
    if (wait_s > 1e-9) {
      request_event_ =
          ns3::Simulator::Schedule(ns3::Seconds(wait_s), &VideoPlayer::RequestSegment, this);
    } else {
      RequestSegment();
    }
  }

  SocketSpec spec_;
  ns3::Address server_;
  std::vector<double> ladder_kbps_;  // ascending
  double segment_s_;
  double max_buffer_s_;
  AppCounters* counters_;
  double buffer_share_;  // this player's weight in the reported buffer (1 / players)
  std::unique_ptr<TcpRequester> connection_;
  std::deque<double> throughput_kbps_;
  double buffer_s_ = 0.0;
  double reported_buffer_s_ = 0.0;
  double last_update_s_ = 0.0;
  bool playing_ = false;
  double bitrate_kbps_ = 0.0;
  uint64_t segment_bytes_ = 0;
  uint64_t received_bytes_ = 0;
  double request_time_s_ = 0.0;
  ns3::EventId tick_event_;
  ns3::EventId request_event_;
};

// ---------------------------------------------------------------------------------------------
// Web browsing session: pages of lognormal size, each over a new connection, with exponential
// think times in between; flow completion time runs from the connect call to the last byte.
class WebBrowser : public ns3::Application {
 public:
  WebBrowser(SocketSpec spec, ns3::Address server, const WorkloadOptions& options,
             AppCounters* counters, uint64_t seed)
      : spec_(std::move(spec)),
        server_(server),
        median_bytes_(options.web_median_kb * 1e3),
        sigma_(options.web_sigma),
        think_s_(options.web_think_s),
        counters_(counters),
        rng_(seed) {}

 private:
  void StartApplication() override { FetchPage(); }
  void StopApplication() override {
    next_event_.Cancel();
    if (connection_) connection_->Close();
  }
  void DoDispose() override {
    next_event_.Cancel();
    connection_.reset();
    ns3::Application::DoDispose();
  }

  void FetchPage() {
    page_bytes_ =
        std::max<uint64_t>(1, std::llround(median_bytes_ * std::exp(sigma_ * rng_.Normal())));
    received_bytes_ = 0;
    start_s_ = NowS();
    connection_ = std::make_unique<TcpRequester>(
        GetNode(), spec_, server_,
        TcpRequester::Handlers{[this] { connection_->Request(page_bytes_); },
                               [this](uint32_t n) { OnBytes(n); }, [this] { Think(); }});
  }

  void OnBytes(uint32_t n) {
    counters_->rx_bytes += n;
    received_bytes_ += n;
    if (received_bytes_ < page_bytes_) return;
    counters_->fct_ms_sum += (NowS() - start_s_) * 1e3;
    ++counters_->flows_done;
    connection_->Close();
    Think();
  }

  void Think() {
    next_event_ = ns3::Simulator::Schedule(ns3::Seconds(think_s_ * rng_.Exponential()),
                                           &WebBrowser::FetchPage, this);
  }

  SocketSpec spec_;
  ns3::Address server_;
  double median_bytes_;
  double sigma_;
  double think_s_;
  AppCounters* counters_;
  core::Rng rng_;
  std::unique_ptr<TcpRequester> connection_;
  uint64_t page_bytes_ = 0;
  uint64_t received_bytes_ = 0;
  double start_s_ = 0.0;
  ns3::EventId next_event_;
};

// ---------------------------------------------------------------------------------------------
// One end of a game session: UDP packets of `packet_bytes` at `hz` to the peer, each carrying
// a sequence number, its send time, and the latest peer send time with how long it was held,
// so that either end measures RTT = now - echoed time - hold. Only the counted direction
// updates the counters: its sender counts sent packets and RTT, its receiver received packets.
class GamePeer : public ns3::Application {
 public:
  struct Role {
    bool counts_sent = false;      // this end sends the counted direction
    bool counts_received = false;  // this end receives the counted direction
  };

  GamePeer(uint8_t tos, uint16_t port, ns3::Ipv4Address peer, int packet_bytes, double hz,
           Role role, AppCounters* counters)
      : tos_(tos),
        port_(port),
        peer_(peer),
        packet_bytes_(packet_bytes),
        period_s_(1.0 / hz),
        role_(role),
        counters_(counters) {}

 private:
  void StartApplication() override {
    socket_ = ns3::Socket::CreateSocket(GetNode(), ns3::UdpSocketFactory::GetTypeId());
    if (socket_->Bind(MarkedAddress(ns3::Ipv4Address::GetAny(), port_, tos_)) != 0) {
      throw std::runtime_error("workload: cannot bind UDP port " + std::to_string(port_));
    }
    socket_->Connect(MarkedAddress(peer_, port_, tos_));
    socket_->SetRecvCallback(ns3::MakeCallback(&GamePeer::OnReceive, this));
    Send();
  }
  void StopApplication() override {
    send_event_.Cancel();
    if (socket_) {
      Silence(socket_);
      socket_->Close();
      socket_ = nullptr;
    }
  }
  void DoDispose() override {
    send_event_.Cancel();
    if (socket_) Silence(socket_);
    socket_ = nullptr;
    ns3::Application::DoDispose();
  }

  void Send() {
    std::vector<uint8_t> data(packet_bytes_, 0);
    const int64_t now_ns = ns3::Simulator::Now().GetNanoSeconds();
    PutU64(data.data(), next_seq_++);
    PutU64(data.data() + 8, static_cast<uint64_t>(now_ns));
    PutU64(data.data() + 16, static_cast<uint64_t>(peer_time_ns_));
    const int64_t hold_ns = peer_time_ns_ == kNoEcho ? 0 : now_ns - peer_arrival_ns_;
    PutU64(data.data() + 24, static_cast<uint64_t>(hold_ns));
    if (socket_->Send(ns3::Create<ns3::Packet>(data.data(), packet_bytes_)) >= 0 &&
        role_.counts_sent) {
      ++counters_->game_sent;
    }
    send_event_ = ns3::Simulator::Schedule(ns3::Seconds(period_s_), &GamePeer::Send, this);
  }

  void OnReceive(ns3::Ptr<ns3::Socket> socket) {
    while (ns3::Ptr<ns3::Packet> packet = socket->Recv()) {
      if (packet->GetSize() < static_cast<uint32_t>(kGameHeaderBytes)) continue;
      uint8_t header[kGameHeaderBytes];
      packet->CopyData(header, kGameHeaderBytes);
      const int64_t now_ns = ns3::Simulator::Now().GetNanoSeconds();
      peer_time_ns_ = static_cast<int64_t>(GetU64(header + 8));
      peer_arrival_ns_ = now_ns;
      const auto echoed_ns = static_cast<int64_t>(GetU64(header + 16));
      const auto hold_ns = static_cast<int64_t>(GetU64(header + 24));
      // One sample per echoed packet (later packets may repeat the same echo).
      if (echoed_ns != kNoEcho && echoed_ns > last_echoed_ns_) {
        last_echoed_ns_ = echoed_ns;
        if (role_.counts_sent) counters_->AddRtt((now_ns - echoed_ns - hold_ns) * 1e-6);
      }
      if (role_.counts_received) {
        ++counters_->game_received;
        counters_->rx_bytes += packet->GetSize();
      }
    }
  }

  uint8_t tos_;
  uint16_t port_;
  ns3::Ipv4Address peer_;
  int packet_bytes_;
  double period_s_;
  Role role_;
  AppCounters* counters_;
  ns3::Ptr<ns3::Socket> socket_;
  ns3::EventId send_event_;
  uint64_t next_seq_ = 0;
  int64_t peer_time_ns_ = kNoEcho;  // send time of the latest peer packet
  int64_t peer_arrival_ns_ = 0;     // when it arrived
  int64_t last_echoed_ns_ = kNoEcho;
};

// ---------------------------------------------------------------------------------------------

std::invalid_argument BadOption(const std::string& key, double value, const std::string& rule) {
  std::ostringstream text;
  text << "workload option " << key << " = " << value << ": " << rule;
  return std::invalid_argument(text.str());
}

void CheckOptions(const WorkloadOptions& o) {
  if (o.video_ladder_kbps.empty()) {
    throw std::invalid_argument("workload option video_ladder_kbps is empty");
  }
  for (size_t i = 0; i < o.video_ladder_kbps.size(); ++i) {
    const double b = o.video_ladder_kbps[i];
    if (!(b > 0) || (i > 0 && !(b > o.video_ladder_kbps[i - 1]))) {
      throw BadOption("video_ladder_kbps[" + std::to_string(i) + "]", b,
                      "bitrates must be > 0 and ascending");
    }
  }
  if (!(o.video_segment_s > 0))
    throw BadOption("video_segment_s", o.video_segment_s, "must be > 0");
  if (!(o.video_max_buffer_s >= o.video_segment_s)) {
    throw BadOption("video_max_buffer_s", o.video_max_buffer_s, "must be >= video_segment_s");
  }
  if (!(o.game_hz > 0) || !(o.game_hz <= 10000)) {
    throw BadOption("game_hz", o.game_hz, "must be in (0, 10000]");
  }
  if (o.game_up_bytes < kGameHeaderBytes || o.game_up_bytes > 65000) {
    throw BadOption("game_up_bytes", o.game_up_bytes, "must be in [32, 65000]");
  }
  if (o.game_down_bytes < kGameHeaderBytes || o.game_down_bytes > 65000) {
    throw BadOption("game_down_bytes", o.game_down_bytes, "must be in [32, 65000]");
  }
  if (!(o.web_median_kb > 0)) throw BadOption("web_median_kb", o.web_median_kb, "must be > 0");
  if (!(o.web_sigma >= 0)) throw BadOption("web_sigma", o.web_sigma, "must be >= 0");
  if (!(o.web_think_s >= 0)) throw BadOption("web_think_s", o.web_think_s, "must be >= 0");
}

void Install(ns3::Ptr<ns3::Node> node, ns3::Ptr<ns3::Application> app, double start_s) {
  node->AddApplication(app);
  app->SetStartTime(ns3::Seconds(std::max(0.0, start_s - NowS())));
}

}  // namespace

// The client side of fan-in transfers: a round of simultaneous requests every period.
class FanInClient : public ns3::Application {
 public:
  FanInClient(SocketSpec spec, std::vector<ns3::Address> servers, uint64_t bytes, double period_s,
              AppCounters* counters)
      : spec_(std::move(spec)),
        servers_(std::move(servers)),
        bytes_(bytes),
        period_s_(period_s),
        counters_(counters) {}

 private:
  struct Transfer {
    std::unique_ptr<TcpRequester> connection;
    uint64_t received = 0;
  };
  void StartApplication() override { Round(); }
  void StopApplication() override {
    next_round_.Cancel();
    for (auto& t : transfers_) {
      if (t.connection) t.connection->Close();
    }
  }
  void DoDispose() override {
    next_round_.Cancel();
    transfers_.clear();
    ns3::Application::DoDispose();
  }
  void Round() {
    for (auto& t : transfers_) {
      if (t.connection) t.connection->Close();
    }
    transfers_.clear();
    transfers_.resize(servers_.size());
    round_start_s_ = NowS();
    for (size_t i = 0; i < servers_.size(); ++i) {
      transfers_[i].connection = std::make_unique<TcpRequester>(
          GetNode(), spec_, servers_[i],
          TcpRequester::Handlers{[this, i] { transfers_[i].connection->Request(bytes_); },
                                 [this, i](uint32_t n) { OnBytes(i, n); }, [] {}});
    }
    next_round_ = ns3::Simulator::Schedule(ns3::Seconds(period_s_), &FanInClient::Round, this);
  }
  void OnBytes(size_t i, uint32_t n) {
    Transfer& t = transfers_[i];
    counters_->rx_bytes += n;
    t.received += n;
    if (t.received < bytes_) return;
    counters_->fct_ms_sum += (NowS() - round_start_s_) * 1e3;
    ++counters_->flows_done;
    t.connection->Close();
  }

  SocketSpec spec_;
  std::vector<ns3::Address> servers_;
  uint64_t bytes_;
  double period_s_;
  AppCounters* counters_;
  std::vector<Transfer> transfers_;
  double round_start_s_ = 0.0;
  ns3::EventId next_round_;
};

void InstallFanInServer(ns3::Ptr<ns3::Node> server, uint16_t port, const std::string& tcp,
                        AppClass app_class, uint32_t buffer_bytes, AppCounters* counters) {
  CheckTcpVariant(tcp, "fan-in tcp");
  const SocketSpec spec{tcp, static_cast<uint8_t>(DefaultDscp(app_class) << 2), 0, buffer_bytes};
  Install(server, ns3::CreateObject<TcpResponder>(spec, port, true, counters), 0.0);
}

void InstallFanInClient(ns3::Ptr<ns3::Node> client, const std::vector<ns3::Ipv4Address>& servers,
                        uint16_t port, uint64_t bytes, double period_s, double start_s,
                        const std::string& tcp, AppClass app_class, uint32_t buffer_bytes,
                        AppCounters* counters) {
  CheckTcpVariant(tcp, "fan-in tcp");
  if (bytes == 0 || !(period_s > 0)) {
    throw std::invalid_argument("fan-in transfers need bytes > 0 and period_s > 0");
  }
  const uint8_t tos = static_cast<uint8_t>(DefaultDscp(app_class) << 2);
  std::vector<ns3::Address> addresses;
  for (const auto& a : servers) addresses.push_back(MarkedAddress(a, port, tos));
  const SocketSpec spec{tcp, tos, 0, buffer_bytes};
  Install(client,
          ns3::CreateObject<FanInClient>(spec, std::move(addresses), bytes, period_s, counters),
          start_s);
}

void InstallWorkload(const WorkloadItem& item, const WorkloadOptions& options,
                     const AppEndpoints& ends, AppCounters* counters, uint16_t* next_port,
                     double start_s, uint64_t seed) {
  if (!counters || !next_port) throw std::invalid_argument("workload: null counters or port");
  if (!ends.client || !ends.server) throw std::invalid_argument("workload: null endpoint node");
  if (item.count < 1) {
    throw std::invalid_argument("workload count = " + std::to_string(item.count) +
                                ": must be >= 1");
  }
  if (item.direction != "down" && item.direction != "up") {
    throw std::invalid_argument("workload direction = '" + item.direction +
                                "': must be down or up");
  }
  if (item.app == AppClass::kCross || item.app == AppClass::kOther) {
    throw std::invalid_argument(std::string("workload app = '") + AppClassName(item.app) +
                                "': not a workload application");
  }
  if (item.app != AppClass::kGaming) CheckTcpVariant(item.tcp, "workload tcp");
  if (!(start_s >= 0)) {
    throw std::invalid_argument("workload start_s = " + std::to_string(start_s) + ": must be >= 0");
  }
  CheckOptions(options);
  if (static_cast<uint32_t>(*next_port) == 0 ||
      static_cast<uint32_t>(*next_port) + item.count > 65536u) {
    throw std::invalid_argument("workload next_port = " + std::to_string(*next_port) +
                                ": no room for " + std::to_string(item.count) + " ports");
  }

  // TCP classes: the data receiver requests, the data sender responds; "up" swaps the nodes.
  const bool up = item.direction == "up";
  const ns3::Ptr<ns3::Node> receiver = up ? ends.server : ends.client;
  const ns3::Ptr<ns3::Node> sender = up ? ends.client : ends.server;
  const ns3::Ipv4Address sender_address = up ? ends.client_address : ends.server_address;
  const uint8_t tos = static_cast<uint8_t>(DefaultDscp(item.app_class) << 2);

  core::Rng rng(seed);
  for (int i = 0; i < item.count; ++i) {
    const double start = start_s + rng.Uniform();
    const uint16_t port = (*next_port)++;
    const SocketSpec spec{item.tcp, tos, static_cast<uint32_t>(rng.NextU64() >> 33),
                          options.socket_buffer_bytes};
    const uint64_t instance_seed = core::Rng::Derive(seed, static_cast<uint64_t>(i));
    const ns3::Address server_address = MarkedAddress(sender_address, port, tos);
    switch (item.app) {
      case AppClass::kBulk: {
        const uint64_t bytes = options.bulk_bytes > 0 ? options.bulk_bytes : kEndlessBytes;
        Install(sender, ns3::CreateObject<TcpResponder>(spec, port, false, counters), start_s);
        Install(receiver, ns3::CreateObject<BulkClient>(spec, server_address, bytes, counters),
                start);
        break;
      }
      case AppClass::kVideo:
        Install(sender, ns3::CreateObject<TcpResponder>(spec, port, false, counters), start_s);
        Install(receiver,
                ns3::CreateObject<VideoPlayer>(spec, server_address, options, counters,
                                               1.0 / item.count),
                start);
        break;
      case AppClass::kWeb:
        Install(sender, ns3::CreateObject<TcpResponder>(spec, port, true, counters), start_s);
        Install(
            receiver,
            ns3::CreateObject<WebBrowser>(spec, server_address, options, counters, instance_seed),
            start);
        break;
      case AppClass::kGaming: {
        // The client sends updates, the server sends state; the direction picks which counts.
        const GamePeer::Role client_role{up, !up};
        const GamePeer::Role server_role{!up, up};
        Install(ends.client,
                ns3::CreateObject<GamePeer>(tos, port, ends.server_address, options.game_up_bytes,
                                            options.game_hz, client_role, counters),
                start);
        Install(ends.server,
                ns3::CreateObject<GamePeer>(tos, port, ends.client_address, options.game_down_bytes,
                                            options.game_hz, server_role, counters),
                start);
        break;
      }
      case AppClass::kCross:
      case AppClass::kOther:
        break;  // rejected above
    }
  }
}

}  // namespace linklab::sim
