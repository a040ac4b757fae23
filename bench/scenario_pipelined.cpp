// The throughput of durable sends from pipelined clients, beside a bare ROUTER
// that answers at once: how many messages a second the server commits and answers.
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
  PipelineResult bare, groupchat;
  CpuMeter cpu(group->pid());
  for (size_t round = 0; round < kRounds && !g_stop_requested; ++round) {
    merge(bare, zmq_pipelined(run.ctx, echo.endpoint(), requests, z.window, per_round(z.pipelined),
                              false));
    {
      auto scope = cpu.measure();
      merge(groupchat,
            zmq_pipelined(run.ctx, endpoint, requests, z.window, per_round(z.pipelined), true));
    }
    if (!bare.error.empty() || !groupchat.error.empty()) break;
  }
  record_rate(run, "pipelined.bare", bare);
  record_rate(run, "pipelined.groupchat", groupchat);
  cpu.record(run, "pipelined.groupchat.cpu_us", groupchat.completed);
  group->stop();
}

}  // namespace bench
