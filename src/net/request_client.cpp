#include "net/request_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/clock.hpp"
#include "core/endpoint.hpp"
#include "net/poll.hpp"

namespace gc {

RequestClient::RequestClient(zmq::context_t& ctx, std::string endpoint, RequestOptions options,
                             std::string shown)
    : ctx_(ctx), options_(std::move(options)) {
  zmq_endpoint_ = zmq_address(endpoint);
  endpoint_ = shown.empty() ? std::string(without_tcp_prefix(endpoint)) : std::move(shown);
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
  // One socket for every try: a resend needs no new connection. Not
  // ZMQ_REQ_CORRELATE: its extra request-id frame breaks a server that reads
  // a REQ peer as [identity, "", body], as the reference group does. A reply
  // to an earlier send of the same request is as good as the resend's (the
  // same body); a request that got none closes the socket, so that its late
  // reply cannot pass for the next request's.
  socket_->set(zmq::sockopt::req_relaxed, 1);
  if (options_.max_reply_bytes >= 0)
    socket_->set(zmq::sockopt::maxmsgsize, options_.max_reply_bytes);
  if (options_.curve)
    make_curve_client(*socket_, options_.curve->mine, options_.curve->server_public_key);
  // A reply over the limit shows only as a dropped connection, a failed
  // handshake only as an event: watch for both.
  monitor_ = std::make_unique<LinkMonitor>(ctx_, *socket_, "request");
  socket_->connect(zmq_endpoint_);
}

Result<std::string> RequestClient::fail(RequestFailure why, std::string text) {
  last_failure_ = why;
  // A reply still to come must not pass for the next request's.
  close();
  return Result<std::string>::error(std::move(text));
}

Result<std::string> RequestClient::request(std::string_view body, int64_t deadline_ms) {
  const int tries = std::max(options_.tries, 1);
  const int64_t started = mono_ms();
  int64_t deadline = started + std::max(options_.timeout_ms, 1);
  if (deadline_ms >= 0) deadline = std::min(deadline, deadline_ms);
  const int64_t budget = std::max<int64_t>(deadline - started, 0);
  last_link_ = {};
  last_failure_ = RequestFailure::none;
  int sent = 0;
  int dropped = 0;  // connection drops while the reply was awaited
  bool was_up = false;
  int connects_before = 0, handshakes_before = 0;
  try {
    // On a socket kept from an earlier request, what happened before this
    // request is not this request's; on a fresh one everything is (libzmq
    // may connect before the first look).
    LinkEvents before;
    if (socket_) {
      monitor_->drain();
      before = monitor_->events();
    } else {
      reconnect();
    }
    int disconnections_seen = before.disconnections;
    // A connection kept from an earlier request and still up counts as made.
    was_up = before.handshakes > before.disconnections;
    connects_before = before.connects;
    handshakes_before = before.handshakes;
    zmq::socket_t* monitor = monitor_->socket();
    int handshakes_seen = before.handshakes;
    bool awaiting_reconnect = false;
    bool resend = true;
    int64_t last_send = started;
    for (;;) {
      if (resend && sent < tries) {
        // REQ_RELAXED: a send abandons the previous one; with no connection
        // yet, libzmq queues it until one is made.
        socket_->send(zmq::buffer(body.data(), body.size()), zmq::send_flags::none);
        ++sent;
        last_send = mono_ms();
      }
      resend = false;
      zmq::pollitem_t items[] = {{socket_->handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor ? monitor->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
      int64_t wake = deadline;
      if (options_.resend_ms > 0 && sent < tries)
        wake = std::min(wake, last_send + options_.resend_ms);
      const int64_t left = wake - mono_ms();
      if (left > 0) poll_items(items, monitor ? 2 : 1, static_cast<long>(left));
      if (items[0].revents & ZMQ_POLLIN) {
        zmq::message_t reply;
        (void)socket_->recv(reply, zmq::recv_flags::none);
        if (monitor_) monitor_->drain();
        last_link_ = monitor_->events();
        if (reply.more()) {
          // fail() closes the socket, and the rest of the reply with it.
          return fail(RequestFailure::other,
                      fmt::format("unexpected multi-frame reply from {}", endpoint_));
        }
        return reply.to_string();
      }
      if (monitor && monitor_->drain()) {
        const LinkEvents& ev = monitor_->events();
        if (is_definitive_handshake_problem(ev.problem, options_.curve.has_value())) {
          last_link_ = ev;
          return fail(RequestFailure::handshake,
                      fmt::format("the connection to {} failed in its handshake; is {} running "
                                  "there, with the security expected?",
                                  endpoint_, options_.peer_kind));
        }
        if (ev.disconnections > disconnections_seen) {
          // The request or its reply may have gone with the connection:
          // send it again once libzmq has connected anew (a network that is
          // down for a while does not use up the tries).
          dropped += ev.disconnections - disconnections_seen;
          disconnections_seen = ev.disconnections;
          if (sent >= tries) break;
          awaiting_reconnect = true;
        }
        if (ev.handshakes > handshakes_seen) {
          handshakes_seen = ev.handshakes;
          if (awaiting_reconnect) resend = true;
          awaiting_reconnect = false;
        }
      }
      const int64_t now = mono_ms();
      if (now >= deadline) break;
      if (options_.resend_ms > 0 && sent < tries && now >= last_send + options_.resend_ms &&
          !awaiting_reconnect)
        resend = true;
    }
  } catch (const zmq::error_t& e) {
    if (e.num() == ETERM) return fail(RequestFailure::other, "interrupted");
    return fail(RequestFailure::other, fmt::format("cannot talk to {}: {}", endpoint_, e.what()));
  }
  monitor_->drain();
  last_link_ = monitor_->events();
  const bool connected = was_up || last_link_.connects > connects_before;
  const bool handshaken = was_up || last_link_.handshakes > handshakes_before;
  // The budget as the user gave it: the command's first moments (resolving,
  // opening the socket) are not worth a "599 ms".
  const std::string waited = describe_ms(budget >= 100 ? (budget + 99) / 100 * 100 : budget);
  if (dropped > 0 && options_.max_reply_bytes >= 0 && sent >= tries)
    return fail(RequestFailure::connection_lost,
                fmt::format("no usable reply from {}: the connection closed before the reply "
                            "arrived ({} of {} {}); a reply larger than {} bytes is refused, so "
                            "the reply may have been too large, or {} stopped",
                            endpoint_, dropped, sent, sent == 1 ? "try" : "tries",
                            options_.max_reply_bytes, options_.peer_kind));
  if (!connected) {
    if (last_link_.connect_failed)
      return fail(RequestFailure::not_connected,
                  fmt::format("cannot connect to {}: nothing accepted a connection there (tried "
                              "for {}); is {} running there?",
                              endpoint_, waited, options_.peer_kind));
    return fail(RequestFailure::not_connected,
                fmt::format("cannot connect to {}: no connection was made within {}; is the "
                            "host up and reachable, and {} running there?",
                            endpoint_, waited, options_.peer_kind));
  }
  if (!handshaken)
    return fail(RequestFailure::no_handshake,
                fmt::format("connected to {}, but the connection's handshake did not finish "
                            "within {}; is {} running there?",
                            endpoint_, waited, options_.peer_kind));
  if (dropped > 0)
    return fail(RequestFailure::connection_lost,
                fmt::format("no reply from {}: the connection closed {} while the reply was "
                            "awaited ({} {} in {}); did {} stop, or the network fail?",
                            endpoint_, dropped == 1 ? "once" : fmt::format("{} times", dropped),
                            sent, sent == 1 ? "send" : "sends", describe_ms(mono_ms() - started),
                            options_.peer_kind));
  return fail(RequestFailure::no_reply,
              fmt::format("connected to {}, but no reply came within {}; is {} overloaded or "
                          "stuck? (a slow network may need a longer --timeout)",
                          endpoint_, waited, options_.peer_kind));
}

}  // namespace gc
