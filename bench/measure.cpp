#include "measure.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "net/request_client.hpp"
#include "protocol/group_protocol.hpp"

namespace bench {

std::string message_text(size_t bytes) {
  std::string text = "groupchat benchmark message ";
  while (text.size() < bytes) text += static_cast<char>('a' + text.size() % 26);
  text.resize(bytes);
  return text;
}

std::string send_request(const std::string& user, const std::string& text) {
  return nlohmann::json{{"action", "sendMessage"}, {"user_uuid", user}, {"message", text}}.dump();
}

std::vector<std::string> send_requests(const Sizes& z) {
  std::vector<std::string> requests;
  for (size_t i = 0; i < z.clients; ++i)
    requests.push_back(send_request(client_user(i), message_text(z.message_bytes)));
  return requests;
}

std::string client_user(size_t i) {
  return fmt::format("bench-client-{}", i);
}

void join(BenchRun& run, const std::string& endpoint, const std::string& user) {
  gc::RequestClient client(run.ctx, endpoint, {3000, 2, "group_server"});
  auto reply = client.request(gc::make_join_request(user, ""));
  if (!reply) throw std::runtime_error("joinGroup: " + reply.error());
  if (reply->find(kSuccessMark) == std::string::npos)
    throw std::runtime_error("joinGroup refused: " + *reply);
}

namespace {

gc::CurveKeyPair fresh_key_pair() {
  auto pair = gc::generate_key_pair();
  if (!pair) throw std::runtime_error("cannot make a CURVE key pair: " + pair.error());
  return std::move(*pair);
}

}  // namespace

ClientKeys make_client_keys(const std::string& server_public_key, size_t count) {
  ClientKeys keys;
  keys.server_public_key = server_public_key;
  keys.keys.reserve(count);
  for (size_t i = 0; i < count; ++i) keys.keys.push_back(fresh_key_pair());
  return keys;
}

void join(BenchRun& run, const std::string& endpoint, const std::string& user,
          const ClientKeys& keys, size_t i) {
  if (!keys.curve()) return join(run, endpoint, user);
  zmq::socket_t req(run.ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  keys.apply(req, i);
  req.connect(endpoint);
  req.send(zmq::buffer(gc::make_join_request(user, "")), zmq::send_flags::none);
  zmq::pollitem_t items[] = {{req.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 1, kReplyTimeout);
  zmq::message_t reply;
  if (!(items[0].revents & ZMQ_POLLIN) || !req.recv(reply, zmq::recv_flags::none))
    throw std::runtime_error(fmt::format(
        "joinGroup over CURVE: no reply from {} within {} ms (no handshake with the group's key?)",
        endpoint, kReplyTimeout.count()));
  if (reply.to_string_view().find(kSuccessMark) == std::string_view::npos)
    throw std::runtime_error("joinGroup refused: " + reply.to_string());
}

CurveGroup start_curve_group(BenchRun& run, const std::string& name, size_t clients,
                             const std::vector<std::string>& extra) {
  CurveGroup group;
  if (!run.group_serves_curve()) {
    group.unavailable = "group_server does not offer --security curve";
    progress("  curve rows not available: " + group.unavailable);
    return group;
  }
  std::string public_key;
  group.process = run.start_curve_group(name, group.endpoint, public_key, extra);
  group.keys = make_client_keys(public_key, clients);
  return group;
}

CurveEcho::CurveEcho(EchoServer::Kind kind, size_t clients)
    : server_keys(fresh_key_pair()),
      server(std::make_unique<EchoServer>(kind, kCannedSendReply, &server_keys)),
      keys(make_client_keys(server_keys.public_key, clients)) {}

void record_unavailable(BenchRun& run, const std::vector<std::string>& keys,
                        const std::string& why) {
  for (const auto& key : keys) run.figures.missing(key, "not available (" + why + ")");
}

void record_latency(BenchRun& run, const std::string& key, const RoundTripResult& r) {
  if (!r.error.empty() || r.failed > 0 || r.latencies_us.empty()) {
    std::string why = !r.error.empty() ? "error: " + r.error
                      : r.failed > 0   ? fmt::format("{} FAILED replies, e.g. {}", r.failed,
                                                     r.last_reply.substr(0, 200))
                                       : "no round trip completed";
    run.figures.missing(key + ".p50_us", why);
    run.figures.missing(key + ".p99_us", why);
    throw std::runtime_error(key + ": " + why);
  }
  LatencyStats s = summarize(r.latencies_us);
  std::string note = r.cut_by_time ? fmt::format("{} round trips (time bound)", s.count) : "";
  run.figures.set(key + ".p50_us", s.p50_us, note);
  run.figures.set(key + ".p99_us", s.p99_us, note);
  run.figures.set(key + ".count", static_cast<double>(s.count));
  progress(fmt::format("  {}: {} round trips, p50 {:.1f} us, p99 {:.1f} us", key, s.count, s.p50_us,
                       s.p99_us));
}

void record_rate(BenchRun& run, const std::string& key, const PipelineResult& r) {
  if (!r.error.empty() || r.failed > 0 || r.completed == 0) {
    std::string why = !r.error.empty() ? "error: " + r.error
                      : r.failed > 0   ? fmt::format("{} FAILED replies", r.failed)
                                       : "nothing completed";
    run.figures.missing(key + ".per_s", why);
    throw std::runtime_error(key + ": " + why);
  }
  run.figures.set(key + ".per_s", r.per_second(),
                  r.cut_by_time ? fmt::format("{} in the time bound", r.completed) : "");
  run.figures.set(key + ".completed", static_cast<double>(r.completed));
  progress(fmt::format("  {}: {} replies in {:.2f} s, {:.0f} msg/s", key, r.completed, r.seconds,
                       r.per_second()));
}

void CpuMeter::record(BenchRun& run, const std::string& key, size_t requests) const {
  if (requests > 0)
    run.figures.set(key, 1000.0 * static_cast<double>(total_ms_) / requests,
                    fmt::format("{} ms CPU for {} requests", total_ms_, requests));
}

Bounds per_round(Bounds b) {
  return {std::max<size_t>(1, b.max_count / kRounds), b.max_time / kRounds};
}

namespace {

void merge(RoundTripResult& into, RoundTripResult part) {
  into.latencies_us.insert(into.latencies_us.end(), part.latencies_us.begin(),
                           part.latencies_us.end());
  into.failed += part.failed;
  into.cut_by_time = into.cut_by_time || part.cut_by_time;
  if (!part.last_reply.empty()) into.last_reply = std::move(part.last_reply);
  if (!part.error.empty()) into.error = std::move(part.error);
}

}  // namespace

void merge(PipelineResult& into, const PipelineResult& part) {
  into.completed += part.completed;
  into.failed += part.failed;
  into.seconds += part.seconds;
  into.max_seq = std::max(into.max_seq, part.max_seq);
  into.cut_by_time = into.cut_by_time || part.cut_by_time;
  if (!part.error.empty()) into.error = part.error;
}

std::vector<RoundTripResult> alternate_round_trips(
    const std::vector<std::function<RoundTripResult(Bounds)>>& sides, Bounds bounds) {
  std::vector<RoundTripResult> results(sides.size());
  for (size_t round = 0; round < kRounds && !g_stop_requested; ++round) {
    for (size_t i = 0; i < sides.size(); ++i) {
      merge(results[i], sides[i](per_round(bounds)));
      if (!results[i].error.empty()) return results;
    }
  }
  return results;
}

}  // namespace bench
