// The throughput of durable sends from pipelined clients, beside a bare ROUTER
// that answers at once: how many messages a second the server commits and
// answers. The same against a group in curve mode, each client a CURVE
// client with its own key, and against the bare ROUTER in CURVE: what
// encryption costs groupchat at full load, and the transport alone.
#include <optional>

#include "measure.hpp"
#include "scenarios.hpp"

namespace bench {

void pipelined_send(BenchRun& run) {
  const Sizes& z = run.sizes;
  const auto requests = send_requests(z);
  EchoServer echo(EchoServer::Kind::kRouter, kCannedSendReply);
  std::string endpoint;
  auto group = run.start_group("bench-pipelined", endpoint);
  for (size_t i = 0; i < z.clients; ++i) join(run, endpoint, client_user(i));
  CurveGroup curve = start_curve_group(run, "bench-pipelined-curve", z.clients);
  if (curve)
    for (size_t i = 0; i < z.clients; ++i) join(run, curve.endpoint, client_user(i), curve.keys, i);
  // What CURVE costs the transport alone: the bare ROUTER again, in CURVE.
  CurveEcho echo_curve(EchoServer::Kind::kRouter, z.clients);
  PipelineResult bare, groupchat, bare_curve, groupchat_curve;
  CpuMeter cpu(group->pid());
  std::optional<CpuMeter> cpu_curve;
  if (curve) cpu_curve.emplace(curve.process->pid());
  for (size_t round = 0; round < kRounds && !g_stop_requested; ++round) {
    merge(bare, zmq_pipelined(run.ctx, echo.endpoint(), requests, z.window, per_round(z.pipelined),
                              false));
    {
      auto scope = cpu.measure();
      merge(groupchat,
            zmq_pipelined(run.ctx, endpoint, requests, z.window, per_round(z.pipelined), true));
    }
    merge(bare_curve, zmq_pipelined(run.ctx, echo_curve.server->endpoint(), requests, z.window,
                                    per_round(z.pipelined), false, echo_curve.keys));
    if (curve) {
      auto scope = cpu_curve->measure();
      merge(groupchat_curve, zmq_pipelined(run.ctx, curve.endpoint, requests, z.window,
                                           per_round(z.pipelined), true, curve.keys));
    }
    if (!bare.error.empty() || !groupchat.error.empty() || !bare_curve.error.empty() ||
        !groupchat_curve.error.empty())
      break;
  }
  record_rate(run, "pipelined.bare", bare);
  record_rate(run, "pipelined.groupchat", groupchat);
  cpu.record(run, "pipelined.groupchat.cpu_us", groupchat.completed);
  record_rate(run, "pipelined.bare_curve", bare_curve);
  if (curve) {
    record_rate(run, "pipelined.groupchat_curve", groupchat_curve);
    cpu_curve->record(run, "pipelined.groupchat_curve.cpu_us", groupchat_curve.completed);
    curve.process->stop();
  } else {
    record_unavailable(run, {"pipelined.groupchat_curve.per_s"}, curve.unavailable);
  }
  group->stop();
}

}  // namespace bench
