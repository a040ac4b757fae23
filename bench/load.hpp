#pragma once
// Load generators: sequential round trips (latency) and pipelined clients with
// a window of outstanding requests (throughput), over ZeroMQ and over RESP
// (Redis). The same drivers run against groupchat and against the baselines,
// so the two sides of a ratio differ only in the server.
//
// Every run is bounded by a request count AND a time budget, whichever comes
// first, and gives up on a server that stops answering.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "net/curve.hpp"

namespace bench {

struct Bounds {
  size_t max_count = 0;
  std::chrono::milliseconds max_time{0};
};

// A reply counts as a success when it contains this text (groupchat's SUCCESS
// replies do, and the baselines' canned replies do too).
inline constexpr std::string_view kSuccessMark = "\"SUCCESS\"";

struct LatencyStats {
  size_t count = 0;
  double p50_us = 0;
  double p99_us = 0;
};
LatencyStats summarize(std::vector<double> latencies_us);

struct RoundTripResult {
  std::vector<double> latencies_us;  // after warm-up
  size_t failed = 0;                 // replies without the success mark
  std::string last_reply;
  bool cut_by_time = false;
  std::string error;  // set when the run was abandoned (no reply, I/O error)
};

struct PipelineResult {
  size_t completed = 0;  // replies received (including failed ones)
  size_t failed = 0;     // replies without the success mark (or RESP errors)
  double seconds = 0;    // first send to last reply
  uint64_t max_seq = 0;  // highest "seq" seen in replies (groupchat sends only)
  bool cut_by_time = false;
  std::string error;
  double per_second() const { return seconds > 0 ? completed / seconds : 0; }
};

// Set from a signal handler (SIGINT/SIGTERM): drivers stop sending and
// finish what is outstanding, as when their time budget runs out.
inline std::atomic<bool> g_stop_requested{false};

// How long a driver waits for any reply before calling the server dead.
inline constexpr std::chrono::milliseconds kReplyTimeout{10000};

// The loop every sequential driver shares: `warmup` untimed round trips, then
// timed ones until bounds.max_count or bounds.max_time (or a stop request).
// round_trip() makes one and returns its reply, or nullopt to abandon the run
// (after setting r.error); is_failure() tells a refused reply.
template <typename RoundTrip, typename IsFailure>
void time_round_trips(RoundTripResult& r, size_t warmup, Bounds bounds, RoundTrip round_trip,
                      IsFailure is_failure) {
  using Clock = std::chrono::steady_clock;
  r.latencies_us.reserve(std::min<size_t>(bounds.max_count, 1'000'000));
  const auto deadline = Clock::now() + bounds.max_time;
  for (size_t i = 0; i < warmup + bounds.max_count; ++i) {
    if (i >= warmup && (Clock::now() >= deadline || g_stop_requested)) {
      r.cut_by_time = true;
      break;
    }
    const auto start = Clock::now();
    std::optional<std::string> reply = round_trip();
    if (!reply) break;
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (is_failure(*reply)) ++r.failed;
    if (i >= warmup) r.latencies_us.push_back(us);
    if (r.last_reply.empty() || i + 1 == warmup + bounds.max_count)
      r.last_reply = std::move(*reply);
  }
}

// --- ZeroMQ ---

// How a driver's sockets connect. Without a server key, over ZMTP's NULL
// mechanism (a group in open mode); with one, each socket as a CURVE client
// with a key pair of its own (socket i with keys[i]) that completes its
// handshake only with the holder of that server key. In curve mode the key
// is the member: socket i must have joined with keys[i].
struct ClientKeys {
  std::string server_public_key;
  std::vector<gc::CurveKeyPair> keys;
  bool curve() const { return !server_public_key.empty(); }
  // Makes `socket` client i (before it connects); nothing in open mode.
  void apply(zmq::socket_t& socket, size_t i) const;
};

// Sequential request/reply on one REQ socket (client 0 of `keys`); `warmup`
// first round trips are not recorded.
RoundTripResult zmq_round_trips(zmq::context_t& ctx, const std::string& endpoint,
                                const std::string& request, size_t warmup, Bounds bounds,
                                const ClientKeys& keys = {});

// DEALER clients (one per entry of `requests`, each sending its own request
// body again and again), each with up to `window` requests outstanding. Frames
// are [empty, body] as a REQ peer sends them. With `track_seq` the "seq" field
// of each reply is read. Client i is client i of `keys`.
PipelineResult zmq_pipelined(zmq::context_t& ctx, const std::string& endpoint,
                             const std::vector<std::string>& requests, size_t window, Bounds bounds,
                             bool track_seq, const ClientKeys& keys = {});

// A bare libzmq server that answers every request with a fixed reply: the
// baseline for what the transport alone costs. Runs on its own thread with its
// own context; bound to 127.0.0.1 on a port the kernel picks. With `curve`,
// it is a CURVE server with that key pair (no ZAP handler: any client key),
// the baseline for what CURVE costs the transport.
class EchoServer {
 public:
  enum class Kind { kRep, kRouter };
  EchoServer(Kind kind, std::string reply, const gc::CurveKeyPair* curve = nullptr);
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  const std::string& endpoint() const { return endpoint_; }

 private:
  void serve();

  Kind kind_;
  std::string reply_;
  zmq::context_t ctx_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::string endpoint_;
  std::thread thread_;
};

// --- Live push (follow) ---

struct PushLatencyResult {
  // From the sender's SUCCESS reply (client clock, when it arrived) to each
  // follower's receipt of the push of that message; one entry per follower
  // per send after warm-up. A push read before the reply counts as 0.
  std::vector<double> latencies_us;
  std::vector<double> last_us;  // per send: to the receipt by the last follower
  size_t sends = 0;             // sends measured (after warm-up)
  double seconds = 0;           // from the first measured send to the last one's last push
  size_t missed = 0;            // pushes that did not arrive within kPushWait
  size_t early = 0;             // pushes read before the sender's reply
  bool cut_by_time = false;
  std::string error;         // the run was abandoned (no reply, FAILED, ...)
  bool unsupported = false;  // the server does not know "follow" (error says what it answered)
};

// How long a send waits for its pushes before counting the rest as missed.
inline constexpr std::chrono::milliseconds kPushWait{3000};

// Followers (DEALER sockets, one per entry of `follower_users`, each a member
// of the group) follow the group and renew every `renew_ms`; a REQ sender
// (a member) sends `send_request` one at a time and each send waits for its
// reply and for the push to reach every follower. The sender is client 0
// of `keys`, follower i client i + 1.
PushLatencyResult zmq_push_latency(zmq::context_t& ctx, const std::string& endpoint,
                                   const std::string& send_request,
                                   const std::vector<std::string>& follower_users, size_t warmup,
                                   Bounds bounds, std::chrono::milliseconds renew_every,
                                   const ClientKeys& keys = {});

// --- RESP (Redis) ---

// One RESP command as an array of bulk strings.
std::string resp_command(const std::vector<std::string>& args);
// Length of the first complete RESP value at the start of `buf`, or 0 if it is
// not complete yet. Throws std::runtime_error on malformed input.
size_t resp_value_length(std::string_view buf);

// A blocking connection to a RESP server on 127.0.0.1.
class RespConnection {
 public:
  explicit RespConnection(uint16_t port);
  ~RespConnection();
  RespConnection(const RespConnection&) = delete;
  RespConnection& operator=(const RespConnection&) = delete;
  // Sends one encoded command and returns the raw reply. Throws on I/O error or timeout.
  std::string call(const std::string& encoded);
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string buffer_;
};

RoundTripResult resp_round_trips(uint16_t port, const std::string& encoded_command, size_t warmup,
                                 Bounds bounds);

// Like zmq_pipelined, over one TCP connection per entry of `commands`.
PipelineResult resp_pipelined(uint16_t port, const std::vector<std::string>& encoded_commands,
                              size_t window, Bounds bounds);

}  // namespace bench
