// The in-flight curve: pipelined durable sendMessage throughput against the
// number of requests in flight in all (clients x window per client), from
// one request at a time up to many: where the server's batching starts to
// pay and where it stops gaining. One group server, every point the same
// bounded load of the pipelined scenario with its own clients and window.
#include <fmt/format.h>

#include <algorithm>

#include "measure.hpp"
#include "scenarios.hpp"

namespace bench {

void inflight_curve(BenchRun& run) {
  const Sizes& z = run.sizes;
  size_t most_clients = 0;
  for (const auto& point : z.inflight_points) most_clients = std::max(most_clients, point.clients);
  std::string endpoint;
  auto group = run.start_group("bench-inflight", endpoint);
  for (size_t i = 0; i < most_clients; ++i) join(run, endpoint, client_user(i));
  const std::string text = message_text(z.message_bytes);
  for (const auto& point : z.inflight_points) {
    const size_t in_flight = point.clients * point.window;
    const std::string key = fmt::format("inflight.w{}", in_flight);
    run.figures.set(key + ".clients", static_cast<double>(point.clients));
    run.figures.set(key + ".window", static_cast<double>(point.window));
    if (g_stop_requested) {
      run.figures.missing(key + ".per_s", "the run was interrupted");
      continue;
    }
    std::vector<std::string> requests;
    for (size_t i = 0; i < point.clients; ++i)
      requests.push_back(send_request(client_user(i), text));
    progress(fmt::format("  {} client(s) x {} in flight", point.clients, point.window));
    record_rate(run, key,
                zmq_pipelined(run.ctx, endpoint, requests, point.window, z.inflight, true));
  }
  group->stop();
}

}  // namespace bench
