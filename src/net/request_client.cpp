#include "net/request_client.hpp"

#include <fmt/format.h>

#include <cstring>

#include "core/clock.hpp"
#include "core/endpoint.hpp"
#include "net/poll.hpp"

namespace gc {

RequestClient::RequestClient(zmq::context_t& ctx, std::string endpoint, RequestOptions options)
    : ctx_(ctx), endpoint_(std::move(endpoint)), options_(std::move(options)) {
  zmq_endpoint_ = zmq_address(endpoint_);
  endpoint_ = std::string(without_tcp_prefix(endpoint_));
}

RequestClient::~RequestClient() {
  close();
}

void RequestClient::close() {
  monitor_.reset();
  socket_.reset();
}

void RequestClient::reconnect() {
  close();
  socket_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::req);
  socket_->set(zmq::sockopt::linger, 0);
  if (options_.max_reply_bytes >= 0)
    socket_->set(zmq::sockopt::maxmsgsize, options_.max_reply_bytes);
  if (options_.curve)
    make_curve_client(*socket_, options_.curve->mine, options_.curve->server_public_key);
  // A reply over the limit shows only as a dropped connection, a failed
  // handshake only as an event: watch for both.
  monitor_ = std::make_unique<LinkMonitor>(ctx_, *socket_, "request");
  socket_->connect(zmq_endpoint_);
}

Result<std::string> RequestClient::request(std::string_view body) {
  const int tries = options_.tries < 1 ? 1 : options_.tries;
  int dropped_tries = 0;  // tries whose connection closed while the reply was awaited
  bool nothing_listened = true;
  last_link_ = {};
  for (int attempt = 1; attempt <= tries; ++attempt) {
    try {
      if (!socket_) reconnect();
      // What happened before this request is not this request's.
      monitor_->drain();
      const int disconnections_before = monitor_->events().disconnections;
      socket_->send(zmq::buffer(body.data(), body.size()), zmq::send_flags::none);
      zmq::socket_t* monitor = monitor_->socket();
      zmq::pollitem_t items[] = {{socket_->handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor ? monitor->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
      const int64_t deadline = mono_ms() + options_.timeout_ms;
      bool dropped = false;
      for (;;) {
        const int64_t left = deadline - mono_ms();
        if (left < 0) break;
        poll_items(items, monitor ? 2 : 1, static_cast<long>(left));
        if (items[0].revents & ZMQ_POLLIN) break;
        if (monitor && (items[1].revents & ZMQ_POLLIN) && monitor_->drain()) {
          if (is_handshake_problem(monitor_->events().problem)) break;
          if (options_.max_reply_bytes >= 0 &&
              monitor_->events().disconnections > disconnections_before) {
            dropped = true;
            break;
          }
        }
      }
      monitor_->drain();
      last_link_ = monitor_->events();
      if (last_link_.connected) nothing_listened = false;
      if (!(items[0].revents & ZMQ_POLLIN) && is_handshake_problem(last_link_.problem)) {
        close();
        return Result<std::string>::error(
            fmt::format("the connection to {} failed in its handshake; is {} running there, "
                        "with the security expected?",
                        endpoint_, options_.peer_kind));
      }
      if (dropped) ++dropped_tries;
      if (!dropped && (items[0].revents & ZMQ_POLLIN)) {
        zmq::message_t reply;
        (void)socket_->recv(reply, zmq::recv_flags::none);
        if (reply.more()) {
          // Drain the rest so the socket stays usable, then report.
          while (reply.more()) (void)socket_->recv(reply, zmq::recv_flags::none);
          return Result<std::string>::error(
              fmt::format("unexpected multi-frame reply from {}", endpoint_));
        }
        return reply.to_string();
      }
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return Result<std::string>::error("interrupted");
      if (attempt == tries)
        return Result<std::string>::error(
            fmt::format("cannot talk to {}: {}", endpoint_, e.what()));
    }
    // Lazy Pirate: a REQ socket without its reply is unusable; start afresh.
    close();
  }
  if (dropped_tries > 0)
    return Result<std::string>::error(fmt::format(
        "no usable reply from {}: the connection closed before the reply arrived ({} of {} {}); "
        "a reply larger than {} bytes is refused, so the reply may have been too large, or {} "
        "stopped",
        endpoint_, dropped_tries, tries, tries == 1 ? "try" : "tries", options_.max_reply_bytes,
        options_.peer_kind));
  if (nothing_listened && last_link_.connect_failed)
    return Result<std::string>::error(fmt::format(
        "no reply from {} after {} {} ({} ms each): nothing accepted a connection there; is {} "
        "running there?",
        endpoint_, tries, tries == 1 ? "try" : "tries", options_.timeout_ms, options_.peer_kind));
  return Result<std::string>::error(
      fmt::format("no reply from {} after {} {} ({} ms each); is {} running there?", endpoint_,
                  tries, tries == 1 ? "try" : "tries", options_.timeout_ms, options_.peer_kind));
}

}  // namespace gc
