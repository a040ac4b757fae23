#include "client/follower.hpp"

#include <algorithm>

#include "core/endpoint.hpp"
#include "protocol/limits.hpp"

namespace gc {

Follower::Follower(zmq::context_t& ctx, std::string address, std::string user_uuid,
                   std::optional<int64_t> since_seq, FollowTiming timing, FollowLink link)
    : ctx_(ctx),
      address_(std::move(address)),
      link_(std::move(link)),
      state_(std::move(user_uuid), since_seq, timing),
      timing_(timing) {}

void Follower::connect() {
  monitor_.reset();
  handshakes_seen_ = 0;
  socket_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  // A follower that falls behind loses pushes at this bound, never memory;
  // the gap is fetched from the store by seq. With the frame cap below, a
  // hostile group can make libzmq hold at most kFollowerReceiveFrames x
  // kMaxClientReplyBytes (1 GiB) for us before we read, and we read at once.
  socket_->set(zmq::sockopt::rcvhwm, kFollowerReceiveFrames);
  // A larger frame drops the connection; the follower reconnects when the
  // group goes silent (no reply for reply_timeout_ms).
  socket_->set(zmq::sockopt::maxmsgsize, kMaxClientReplyBytes);
  if (link_.curve) make_curve_client(*socket_, link_.curve->mine, link_.curve->server_public_key);
  monitor_ = std::make_unique<LinkMonitor>(ctx_, *socket_, "follower");
  socket_->connect(zmq_address(address_));
}

void Follower::start(int64_t now_ms, FollowOutput& out) {
  connect();
  connected_at_ms_ = now_ms;
  size_t first = out.requests.size();
  state_.start(now_ms, out);
  handle(now_ms, out, first);
}

void Follower::flush(FollowOutput& out, size_t first_request) {
  for (size_t i = first_request; i < out.requests.size(); ++i) {
    const std::string& body = out.requests[i];
    // An empty delimiter first, as a REQ socket sends: the reference group
    // reads [identity, "", body] and its handler dies on anything else. Ours
    // takes either and answers with the same envelope.
    if (socket_->send(zmq::const_buffer(), zmq::send_flags::dontwait | zmq::send_flags::sndmore))
      (void)socket_->send(zmq::buffer(body.data(), body.size()), zmq::send_flags::dontwait);
  }
  out.requests.resize(first_request);
}

void Follower::handle(int64_t now_ms, FollowOutput& out, size_t first_request) {
  if (out.reconnect) {
    out.reconnect = false;
    ++reconnects_;
    connect();
    connected_at_ms_ = now_ms;
    first_request = out.requests.size();
    state_.start(now_ms, out);
  }
  flush(out, first_request);
}

void Follower::on_readable(int64_t now_ms, FollowOutput& out) {
  size_t first = out.requests.size();
  zmq::message_t frame;
  // Bounded so one busy group cannot starve the rest of the loop.
  for (int i = 0; i < 10000; ++i) {
    if (!socket_->recv(frame, zmq::recv_flags::dontwait)) break;
    if (frame.more()) continue;  // we only ever expect one-frame messages
    state_.on_frame(frame.to_string_view(), now_ms, out);
    if (!out.refused.empty()) break;
  }
  handle(now_ms, out, first);
}

void Follower::on_tick(int64_t now_ms, FollowOutput& out) {
  if (!link_failure_.empty()) return;
  // A silent group whose handshake failed will not answer a new connection either.
  if (monitor_) {
    monitor_->drain();
    const LinkEvents& link = monitor_->events();
    // Accepted, then closed before any handshake finished: a handshake
    // failed without a word, or a connection closed while in it (libzmq
    // does not always tell the failure itself).
    const bool closed = !link_.curve && link.handshakes == 0 &&
                        (link.problem == LinkProblem::handshake_failed ||
                         (link.connects > 0 && link.disconnections > 0));
    if (link.handshakes > 0)
      unshaken_since_ms_.reset();
    else if (link.connects > 0 && !unshaken_since_ms_)
      unshaken_since_ms_ = now_ms;
    const bool unshaken_too_long =
        !link_.curve && unshaken_since_ms_ &&
        now_ms - *unshaken_since_ms_ >=
            int64_t{kUnshakenConnectTimeouts} * timing_.connect_timeout_ms;
    if (is_definitive_handshake_problem(link.problem, link_.curve.has_value()) ||
        (closed && closed_handshakes_ + 1 >= kClosedHandshakesToGiveUp) || unshaken_too_long) {
      LinkEvents told = link;
      // Told as what it almost surely is: the server speaks another mechanism.
      if (closed || unshaken_too_long) told.problem = LinkProblem::mechanism_mismatch;
      link_failure_ = link_.describe ? link_.describe(told)
                                     : "the connection to " + address_ + " failed in its handshake";
      return;
    }
    if (closed) {
      // libzmq does not always try again after a failed handshake: a fresh
      // connection now, not after the whole connect timeout.
      ++closed_handshakes_;
      size_t first = out.requests.size();
      out.reconnect = true;
      handle(now_ms, out, first);
      return;
    }
    if (link.handshakes > 0) closed_handshakes_ = 0;
    // A handshake that finished since the last tick: the connection took
    // its round trips; the group gets its full reply timeout from now.
    if (link.handshakes > handshakes_seen_) {
      handshakes_seen_ = link.handshakes;
      state_.on_connected(now_ms);
    } else if (link.handshakes == 0 && now_ms - connected_at_ms_ < timing_.connect_timeout_ms) {
      // Still being set up: wait on, up to the connect timeout.
      state_.on_connected(std::min(
          now_ms, connected_at_ms_ + timing_.connect_timeout_ms - timing_.reply_timeout_ms));
    }
  }
  size_t first = out.requests.size();
  state_.on_tick(now_ms, out);
  handle(now_ms, out, first);
}

}  // namespace gc
