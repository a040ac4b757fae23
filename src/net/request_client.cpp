#include "net/request_client.hpp"

#include <fmt/format.h>

#include "core/endpoint.hpp"
#include "net/poll.hpp"

namespace gc {

RequestClient::RequestClient(zmq::context_t& ctx, std::string endpoint, RequestOptions options)
    : ctx_(ctx), endpoint_(std::move(endpoint)), options_(std::move(options)) {
  zmq_endpoint_ = zmq_address(endpoint_);
  endpoint_ = std::string(without_tcp_prefix(endpoint_));
}

RequestClient::~RequestClient() = default;

void RequestClient::reconnect() {
  socket_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::req);
  socket_->set(zmq::sockopt::linger, 0);
  socket_->connect(zmq_endpoint_);
}

Result<std::string> RequestClient::request(std::string_view body) {
  const int tries = options_.tries < 1 ? 1 : options_.tries;
  for (int attempt = 1; attempt <= tries; ++attempt) {
    try {
      if (!socket_) reconnect();
      socket_->send(zmq::buffer(body.data(), body.size()), zmq::send_flags::none);
      zmq::pollitem_t items[] = {{socket_->handle(), 0, ZMQ_POLLIN, 0}};
      poll_items(items, 1, options_.timeout_ms);
      if (items[0].revents & ZMQ_POLLIN) {
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
    socket_.reset();
  }
  return Result<std::string>::error(
      fmt::format("no reply from {} after {} {} ({} ms each); is {} running there?", endpoint_,
                  tries, tries == 1 ? "try" : "tries", options_.timeout_ms, options_.peer_kind));
}

}  // namespace gc
