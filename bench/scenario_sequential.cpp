// The latency of one sendMessage at a time, beside a bare REQ/REP server
// answering the same frames: what groupchat adds to the transport.
#include <algorithm>

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
  const size_t warmup = std::max<size_t>(1, z.warmup / kRounds);
  CpuMeter cpu(group->pid());
  auto results = alternate_round_trips(
      {[&](Bounds b) { return zmq_round_trips(run.ctx, echo.endpoint(), request, warmup, b); },
       [&](Bounds b) {
         auto scope = cpu.measure();
         return zmq_round_trips(run.ctx, endpoint, request, warmup, b);
       }},
      z.sequential);
  record_latency(run, "sequential.bare", results[0]);
  record_latency(run, "sequential.groupchat", results[1]);
  cpu.record(run, "sequential.groupchat.cpu_us", results[1].latencies_us.size() + kRounds * warmup);
  group->stop();
}

}  // namespace bench
