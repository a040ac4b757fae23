// The latency of one sendMessage at a time, beside a bare REQ/REP server
// answering the same frames: what groupchat adds to the transport. The same
// against a group in curve mode, with a CURVE client: what encryption and
// authentication add to groupchat; and the bare server in CURVE, what they
// add to the transport alone.
#include <algorithm>
#include <optional>

#include "measure.hpp"
#include "scenarios.hpp"

namespace bench {

void sequential_send(BenchRun& run) {
  const Sizes& z = run.sizes;
  const std::string request = send_request(client_user(0), message_text(z.message_bytes));
  EchoServer echo(EchoServer::Kind::kRep, kCannedSendReply);
  std::string endpoint;
  auto group = run.start_group("bench-sequential", endpoint);
  join(run, endpoint, client_user(0));
  CurveGroup curve = start_curve_group(run, "bench-sequential-curve", 1);
  if (curve) join(run, curve.endpoint, client_user(0), curve.keys, 0);
  const size_t warmup = std::max<size_t>(1, z.warmup / kRounds);
  CpuMeter cpu(group->pid());
  std::optional<CpuMeter> cpu_curve;
  std::vector<std::function<RoundTripResult(Bounds)>> sides = {
      [&](Bounds b) { return zmq_round_trips(run.ctx, echo.endpoint(), request, warmup, b); },
      [&](Bounds b) {
        auto scope = cpu.measure();
        return zmq_round_trips(run.ctx, endpoint, request, warmup, b);
      }};
  // What CURVE costs the transport alone: the bare server again, in CURVE.
  CurveEcho echo_curve(EchoServer::Kind::kRep, 1);
  sides.push_back([&](Bounds b) {
    return zmq_round_trips(run.ctx, echo_curve.server->endpoint(), request, warmup, b,
                           echo_curve.keys);
  });
  if (curve) {
    cpu_curve.emplace(curve.process->pid());
    sides.push_back([&](Bounds b) {
      auto scope = cpu_curve->measure();
      return zmq_round_trips(run.ctx, curve.endpoint, request, warmup, b, curve.keys);
    });
  }
  auto results = alternate_round_trips(sides, z.sequential);
  record_latency(run, "sequential.bare", results[0]);
  record_latency(run, "sequential.groupchat", results[1]);
  cpu.record(run, "sequential.groupchat.cpu_us", results[1].latencies_us.size() + kRounds * warmup);
  record_latency(run, "sequential.bare_curve", results[2]);
  if (curve) {
    record_latency(run, "sequential.groupchat_curve", results[3]);
    cpu_curve->record(run, "sequential.groupchat_curve.cpu_us",
                      results[3].latencies_us.size() + kRounds * warmup);
    curve.process->stop();
  } else {
    record_unavailable(run,
                       {"sequential.groupchat_curve.p50_us", "sequential.groupchat_curve.p99_us"},
                       curve.unavailable);
  }
  group->stop();
}

}  // namespace bench
