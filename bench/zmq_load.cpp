#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "load.hpp"

namespace bench {

using Clock = std::chrono::steady_clock;

LatencyStats summarize(std::vector<double> latencies_us) {
  LatencyStats s;
  s.count = latencies_us.size();
  if (latencies_us.empty()) return s;
  std::sort(latencies_us.begin(), latencies_us.end());
  // Nearest-rank percentiles.
  auto rank = [&](double p) {
    size_t r = static_cast<size_t>(std::ceil(p * latencies_us.size()));
    return latencies_us[std::min(latencies_us.size() - 1, r == 0 ? 0 : r - 1)];
  };
  s.p50_us = rank(0.50);
  s.p99_us = rank(0.99);
  return s;
}

namespace {

// The value of `"seq":N` in a reply, or 0. Cheap enough to run on every reply.
uint64_t seq_of(std::string_view reply) {
  size_t at = reply.find("\"seq\":");
  if (at == std::string_view::npos) return 0;
  at += 6;
  while (at < reply.size() && reply[at] == ' ') ++at;
  uint64_t v = 0;
  while (at < reply.size() && reply[at] >= '0' && reply[at] <= '9')
    v = v * 10 + (reply[at++] - '0');
  return v;
}

}  // namespace

void ClientKeys::apply(zmq::socket_t& socket, size_t i) const {
  if (!curve()) return;
  if (i >= keys.size())
    throw std::logic_error("CURVE client " + std::to_string(i) + " has no key pair (" +
                           std::to_string(keys.size()) + " made)");
  gc::make_curve_client(socket, keys[i], server_public_key);
}

RoundTripResult zmq_round_trips(zmq::context_t& ctx, const std::string& endpoint,
                                const std::string& request, size_t warmup, Bounds bounds,
                                const ClientKeys& keys) {
  RoundTripResult r;
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  keys.apply(req, 0);
  req.connect(endpoint);
  time_round_trips(
      r, warmup, bounds,
      [&]() -> std::optional<std::string> {
        req.send(zmq::buffer(request), zmq::send_flags::none);
        zmq::pollitem_t items[] = {{req.handle(), 0, ZMQ_POLLIN, 0}};
        zmq::poll(items, 1, kReplyTimeout);
        if (!(items[0].revents & ZMQ_POLLIN)) {
          r.error = "no reply from " + endpoint + " within " +
                    std::to_string(kReplyTimeout.count()) + " ms";
          return std::nullopt;
        }
        zmq::message_t reply;
        (void)req.recv(reply, zmq::recv_flags::none);
        return reply.to_string();
      },
      [](const std::string& reply) { return reply.find(kSuccessMark) == std::string::npos; });
  return r;
}

PipelineResult zmq_pipelined(zmq::context_t& ctx, const std::string& endpoint,
                             const std::vector<std::string>& requests, size_t window, Bounds bounds,
                             bool track_seq, const ClientKeys& keys) {
  PipelineResult r;
  std::vector<zmq::socket_t> sockets;
  for (size_t i = 0; i < requests.size(); ++i) {
    sockets.emplace_back(ctx, zmq::socket_type::dealer);
    sockets.back().set(zmq::sockopt::linger, 0);
    keys.apply(sockets.back(), i);
    sockets.back().connect(endpoint);
  }
  std::vector<zmq::pollitem_t> items;
  for (auto& s : sockets) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
  std::vector<size_t> outstanding(sockets.size(), 0);

  size_t sent = 0;
  auto send_one = [&](size_t client) {
    sockets[client].send(zmq::const_buffer(), zmq::send_flags::sndmore);
    sockets[client].send(zmq::buffer(requests[client]), zmq::send_flags::none);
    ++outstanding[client];
    ++sent;
  };

  const auto start = Clock::now();
  const auto deadline = start + bounds.max_time;
  auto last_reply = start;
  bool stop_sending = false;
  for (size_t c = 0; c < sockets.size(); ++c)
    for (size_t w = 0; w < window && sent < bounds.max_count; ++w) send_one(c);

  while (r.completed < sent) {
    const auto now = Clock::now();
    if (now >= deadline || g_stop_requested) stop_sending = true;
    if (now - last_reply > kReplyTimeout) {
      r.error = "no reply from " + endpoint + " for " + std::to_string(kReplyTimeout.count()) +
                " ms with " + std::to_string(sent - r.completed) + " requests outstanding";
      break;
    }
    zmq::poll(items, std::chrono::milliseconds(100));
    for (size_t c = 0; c < sockets.size(); ++c) {
      if (!(items[c].revents & ZMQ_POLLIN)) continue;
      for (;;) {
        zmq::message_t frame;
        if (!sockets[c].recv(frame, zmq::recv_flags::dontwait)) break;
        // Skip the empty delimiter; the body is the last frame.
        while (frame.more()) (void)sockets[c].recv(frame, zmq::recv_flags::none);
        std::string_view body(static_cast<const char*>(frame.data()), frame.size());
        ++r.completed;
        --outstanding[c];
        if (body.find(kSuccessMark) == std::string_view::npos) ++r.failed;
        if (track_seq) r.max_seq = std::max(r.max_seq, seq_of(body));
        last_reply = Clock::now();
        if (!stop_sending && sent < bounds.max_count) send_one(c);
      }
    }
  }
  r.seconds = std::chrono::duration<double>(last_reply - start).count();
  r.cut_by_time = sent < bounds.max_count;
  return r;
}

EchoServer::EchoServer(Kind kind, std::string reply, const gc::CurveKeyPair* curve)
    : kind_(kind), reply_(std::move(reply)), ctx_(1) {
  socket_ = std::make_unique<zmq::socket_t>(
      ctx_, kind == Kind::kRep ? zmq::socket_type::rep : zmq::socket_type::router);
  socket_->set(zmq::sockopt::linger, 0);
  if (curve) gc::make_curve_server(*socket_, *curve);
  socket_->bind("tcp://127.0.0.1:*");
  endpoint_ = socket_->get(zmq::sockopt::last_endpoint);
  thread_ = std::thread([this] { serve(); });
}

EchoServer::~EchoServer() {
  // Shutting the context down makes the blocked recv throw ETERM.
  ctx_.shutdown();
  if (thread_.joinable()) thread_.join();
  socket_.reset();
  ctx_.close();
}

void EchoServer::serve() {
  try {
    std::vector<zmq::message_t> envelope;
    for (;;) {
      zmq::message_t frame;
      if (!socket_->recv(frame, zmq::recv_flags::none)) continue;
      if (kind_ == Kind::kRep) {
        socket_->send(zmq::buffer(reply_), zmq::send_flags::none);
        continue;
      }
      // ROUTER: keep identity and delimiter, answer the body with the fixed reply.
      envelope.clear();
      while (frame.more()) {
        envelope.push_back(std::move(frame));
        frame = zmq::message_t();
        (void)socket_->recv(frame, zmq::recv_flags::none);
      }
      for (auto& part : envelope) socket_->send(part, zmq::send_flags::sndmore);
      socket_->send(zmq::buffer(reply_), zmq::send_flags::none);
    }
  } catch (const zmq::error_t&) {
    // ETERM: the destructor is shutting us down.
  }
  socket_->close();
}

}  // namespace bench
