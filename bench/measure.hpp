#pragma once
// What the scenarios share: the requests their clients send, the rounds in
// which the two sides of a comparison take turns, and how a result becomes
// figures.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench_run.hpp"
#include "load.hpp"

namespace bench {

using Clock = std::chrono::steady_clock;

inline constexpr double kMiB = 1024.0 * 1024.0;

// What a groupchat sendMessage reply looks like, byte for byte in size: the
// baselines answer with it so that both sides move the same frames.
inline const std::string kCannedSendReply =
    R"({"response":"SUCCESS","seq":1234567,"timestamp":"2026-11-21T18:09:41.123456"})";

// The text of every message sent: `bytes` long, the same in every run.
std::string message_text(size_t bytes);
std::string send_request(const std::string& user, const std::string& text);
// One sendMessage request per client, each from its own member.
std::vector<std::string> send_requests(const Sizes& z);
std::string client_user(size_t i);
// Makes `user` a member of the group at `endpoint`; throws if it is refused.
void join(BenchRun& run, const std::string& endpoint, const std::string& user);
// Fresh key pairs for `count` CURVE clients of the group whose public key is
// `server_public_key`.
ClientKeys make_client_keys(const std::string& server_public_key, size_t count);
// The same for client i of `keys` (in curve mode its key is what joins;
// `user` is only the user_uuid the request carries).
void join(BenchRun& run, const std::string& endpoint, const std::string& user,
          const ClientKeys& keys, size_t i);

// A group served in curve mode (beside a scenario's open one), with a key
// pair for each of its clients; without a process (and `unavailable` saying
// why) when group_server does not offer --security.
struct CurveGroup {
  std::unique_ptr<ChildProcess> process;
  std::string endpoint;
  ClientKeys keys;
  std::string unavailable;
  explicit operator bool() const { return process != nullptr; }
};
CurveGroup start_curve_group(BenchRun& run, const std::string& name, size_t clients,
                             const std::vector<std::string>& extra = {});
// A bare echo server (EchoServer) in CURVE, with a key pair for each of its
// clients: the transport's own cost of CURVE, beside the bare NULL one.
struct CurveEcho {
  CurveEcho(EchoServer::Kind kind, size_t clients);
  gc::CurveKeyPair server_keys;
  std::unique_ptr<EchoServer> server;
  ClientKeys keys;
};

// Records each of `keys` as missing: "not available (why)".
void record_unavailable(BenchRun& run, const std::vector<std::string>& keys,
                        const std::string& why);

// Records p50/p99 under `key` (key.p50_us, key.p99_us); throws if the run failed.
void record_latency(BenchRun& run, const std::string& key, const RoundTripResult& r);
// Records msgs/s under key.per_s; throws if the run failed.
void record_rate(BenchRun& run, const std::string& key, const PipelineResult& r);

// CPU time (user + system, all threads) a server spends while measured, per
// request: where the time of a request goes when the machine is the limit.
class CpuMeter {
 public:
  explicit CpuMeter(pid_t pid) : pid_(pid) {}
  struct Scope {
    CpuMeter& meter;
    int64_t start;
    ~Scope() {
      int64_t now = cpu_time_ms(meter.pid_);
      if (start >= 0 && now >= 0) meter.total_ms_ += now - start;
    }
  };
  Scope measure() { return Scope{*this, cpu_time_ms(pid_)}; }
  void record(BenchRun& run, const std::string& key, size_t requests) const;

 private:
  pid_t pid_;
  int64_t total_ms_ = 0;
};

// The two sides of a comparison run in turn, `kRounds` times each with a
// share of the bounds, so that a change in the machine's background load
// during the run weighs on both sides alike.
inline constexpr size_t kRounds = 5;

Bounds per_round(Bounds b);
void merge(PipelineResult& into, const PipelineResult& part);

// Round trips against each side in turn; results in the order of `sides`.
std::vector<RoundTripResult> alternate_round_trips(
    const std::vector<std::function<RoundTripResult(Bounds)>>& sides, Bounds bounds);

}  // namespace bench
