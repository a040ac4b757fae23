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
  if (options_.max_reply_bytes >= 0) {
    socket_->set(zmq::sockopt::maxmsgsize, options_.max_reply_bytes);
    // A reply over the limit shows only as a dropped connection: watch for it.
    const std::string name = fmt::format("inproc://gc-request-monitor-{}-{}",
                                         static_cast<const void*>(this), ++sockets_made_);
    if (zmq_socket_monitor(socket_->handle(), name.c_str(), ZMQ_EVENT_DISCONNECTED) == 0) {
      monitor_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::pair);
      monitor_->set(zmq::sockopt::linger, 0);
      monitor_->connect(name);
    }
  }
  socket_->connect(zmq_endpoint_);
}

bool RequestClient::drain_monitor() {
  if (!monitor_) return false;
  bool dropped = false;
  zmq::message_t frame;
  // Each event is two frames: 6 bytes (uint16 event, uint32 value), then the endpoint.
  for (int i = 0; i < 1000 && monitor_->recv(frame, zmq::recv_flags::dontwait); ++i) {
    if (frame.size() >= 2) {
      uint16_t event = 0;
      std::memcpy(&event, frame.data(), sizeof event);
      if (event == ZMQ_EVENT_DISCONNECTED) dropped = true;
    }
    while (frame.more() && monitor_->recv(frame, zmq::recv_flags::dontwait)) {
    }
  }
  return dropped;
}

Result<std::string> RequestClient::request(std::string_view body) {
  const int tries = options_.tries < 1 ? 1 : options_.tries;
  int dropped_tries = 0;  // tries whose connection closed while the reply was awaited
  for (int attempt = 1; attempt <= tries; ++attempt) {
    try {
      if (!socket_) reconnect();
      (void)drain_monitor();  // a drop before this request is not this request's
      socket_->send(zmq::buffer(body.data(), body.size()), zmq::send_flags::none);
      zmq::pollitem_t items[] = {{socket_->handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor_ ? monitor_->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
      const int64_t deadline = mono_ms() + options_.timeout_ms;
      bool dropped = false;
      for (;;) {
        const int64_t left = deadline - mono_ms();
        if (left < 0) break;
        poll_items(items, monitor_ ? 2 : 1, static_cast<long>(left));
        if (items[0].revents & ZMQ_POLLIN) break;
        if (monitor_ && (items[1].revents & ZMQ_POLLIN) && drain_monitor()) {
          dropped = true;
          break;
        }
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
  return Result<std::string>::error(
      fmt::format("no reply from {} after {} {} ({} ms each); is {} running there?", endpoint_,
                  tries, tries == 1 ? "try" : "tries", options_.timeout_ms, options_.peer_kind));
}

}  // namespace gc
