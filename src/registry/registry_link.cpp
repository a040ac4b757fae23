#include "registry/registry_link.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/clock.hpp"
#include "core/endpoint.hpp"
#include "net/link_monitor.hpp"
#include "net/poll.hpp"
#include "protocol/registry_protocol.hpp"

namespace gc {

namespace {

// Reads the frames of one reply from a DEALER; the body is the last frame
// (a REP or ROUTER peer puts the empty delimiter first).
bool receive_reply(zmq::socket_t& s, std::string& body) {
  zmq::message_t part;
  if (!s.recv(part, zmq::recv_flags::dontwait)) return false;
  body = part.to_string();
  while (part.more()) {
    (void)s.recv(part, zmq::recv_flags::none);
    body = part.to_string();
  }
  return true;
}

// ZMTP heartbeats on the registry connection: a registry host that vanished
// without closing it (power cut, cable) is noticed as a dropped connection.
// Generous, for long round trips.
constexpr int kZmtpHeartbeatIvlMs = 2000;
constexpr int kZmtpHeartbeatTimeoutMs = 15000;
// libzmq's reconnect interval grows from 100 ms to this while nothing listens.
constexpr int kReconnectIvlMaxMs = 2000;

}  // namespace

RegistryLink::RegistryLink(zmq::context_t& ctx, RegistryLinkOptions options)
    : ctx_(ctx), options_(std::move(options)) {
  zmq_endpoint_ = zmq_address(options_.registry);
}

RegistryLink::~RegistryLink() {
  // The monitor first: it stops libzmq's monitoring while its own end is
  // still open (net/link_monitor.hpp).
  monitor_.reset();
  socket_.reset();
}

std::string RegistryLink::request_body(RegistryAction action, bool heartbeat_flag) const {
  return make_registry_request(action, options_.group_name, options_.ip_port, heartbeat_flag,
                               options_.curve_group && action == RegistryAction::register_group);
}

void RegistryLink::new_socket(int64_t now_ms) {
  monitor_.reset();
  socket_.reset();
  socket_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  socket_->set(zmq::sockopt::heartbeat_ivl, kZmtpHeartbeatIvlMs);
  socket_->set(zmq::sockopt::heartbeat_timeout, kZmtpHeartbeatTimeoutMs);
  socket_->set(zmq::sockopt::reconnect_ivl_max, kReconnectIvlMaxMs);
  if (options_.curve)
    make_curve_client(*socket_, options_.curve->mine, options_.curve->server_public_key);
  monitor_ = std::make_unique<LinkMonitor>(ctx_, *socket_, "registry-link");
  socket_->connect(zmq_endpoint_);
  in_flight_ = false;
  connected_at_ms_ = monitor_->socket() ? -1 : now_ms;  // no monitor: count from now
  tcp_connected_at_ms_ = -1;
  socket_since_ms_ = now_ms;
}

void RegistryLink::send_request(bool reg, int64_t now_ms) {
  if (!socket_) new_socket(now_ms);
  const std::string body = reg ? request_body(RegistryAction::register_group, true)
                               : request_body(RegistryAction::heartbeat, false);
  try {
    // A connecting DEALER queues the request until a connection is up.
    if (socket_->send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
        socket_->send(zmq::buffer(body), zmq::send_flags::dontwait)) {
      in_flight_ = true;
      in_flight_is_register_ = reg;
      register_next_ = false;
      sent_at_ms_ = now_ms;
      return;
    }
  } catch (const zmq::error_t& e) {
    spdlog::debug("registry send failed: {}", e.what());
  }
  // Not even queued (cannot happen with a fresh socket): a new socket next time.
  monitor_.reset();
  socket_.reset();
  register_next_ = reg;
  next_send_ms_ = now_ms + heartbeat_ms_;
}

void RegistryLink::start(int64_t now_ms) {
  started_ms_ = now_ms;
  phase_ = Phase::registering;
  new_socket(now_ms);
  send_request(true, now_ms);
}

long RegistryLink::reply_timeout() const {
  long base = std::max<long>(
      {options_.reply_timeout_ms, heartbeat_ms_,
       static_cast<long>(std::min<int64_t>(2 * link_handshake_ms_, kMaxReplyTimeoutMs))});
  if (phase_ != Phase::registering) return base;
  return std::min<long>(base << std::min(misses_, 5), kMaxReplyTimeoutMs);
}

long RegistryLink::timeout_ms(int64_t now_ms) const {
  if (!fatal_.empty()) return -1;
  int64_t at = -1;
  if (in_flight_) {
    if (connected_at_ms_ >= 0) at = std::max(sent_at_ms_, connected_at_ms_) + reply_timeout();
    if (!accepted_once_ && !unanswered_warned_) {
      int64_t warn = started_ms_ + options_.unanswered_warning_ms;
      at = at < 0 ? warn : std::min(at, warn);
    }
  } else if (phase_ == Phase::heartbeat || register_next_) {
    at = next_send_ms_;
  }
  if (at < 0) return -1;
  return static_cast<long>(std::max<int64_t>(0, at - now_ms));
}

std::string RegistryLink::handshake_error(const LinkEvents& events) const {
  const std::string& at = options_.registry;
  constexpr const char* kGiveKey =
      "--server-key KEY or GROUPCHAT_SERVER_KEY (message_server --public-key prints it)";
  switch (events.problem) {
    case LinkProblem::none:
    case LinkProblem::nothing_listens:  // not definitive: the tries go on
      return {};
    case LinkProblem::mechanism_mismatch:
      if (options_.curve)
        return fmt::format(
            "the registry at {} does not speak CURVE: it is in open mode. Start it with "
            "--security curve, or register this open group without --server-key / "
            "GROUPCHAT_SERVER_KEY",
            at);
      return fmt::format(
          "the registry at {} is in curve mode and refused our unencrypted connection: give the "
          "group the registry's public key with {}",
          at, kGiveKey);
    case LinkProblem::handshake_failed:
      // The server closing first hides the detail: either cause is possible.
      if (options_.curve)
        return fmt::format(
            "the CURVE handshake with the registry at {} failed: it does not hold the key given "
            "as its public key ({}; check it against message_server --public-key there), or it "
            "is in open mode (start it with --security curve, or register this open group "
            "without --server-key / GROUPCHAT_SERVER_KEY)",
            at, options_.curve->server_public_key);
      return fmt::format(
          "the handshake with the registry at {} failed: it is probably in curve mode; give the "
          "group its public key with {}",
          at, kGiveKey);
    case LinkProblem::key_refused:
      return fmt::format("the registry at {} refused this group's key {} (ZAP status {})", at,
                         options_.curve ? options_.curve->mine.public_key : std::string("-"),
                         events.zap_status);
  }
  return {};
}

void RegistryLink::on_monitor(int64_t now_ms) {
  if (!monitor_ || !monitor_->drain()) return;
  const LinkEvents ev = monitor_->events();
  if (is_handshake_problem(ev.problem)) {
    std::string why = handshake_error(ev);
    if (!accepted_once_) {
      fatal_ = std::move(why);
      monitor_.reset();
      socket_.reset();
      return;
    }
    if (!handshake_warned_) {
      if (ev.problem == LinkProblem::handshake_failed)
        // Once registered, a connection closed during its handshake is more
        // often a registry restarting or something in between than a change of mode.
        spdlog::warn(
            "connections to the registry at {} close during their handshake (a registry "
            "restarting, something in between, or a registry now in the other security mode); "
            "retrying",
            options_.registry);
      else
        spdlog::warn("{}; retrying", why);
      handshake_warned_ = true;
    }
  }
  if (ev.connected && tcp_connected_at_ms_ < 0) tcp_connected_at_ms_ = now_ms;
  if (ev.handshake_ok && connected_at_ms_ < 0) {
    connected_at_ms_ = now_ms;
    handshake_warned_ = false;
    // The ZMTP handshake after the TCP connection takes a round trip or two: a
    // measure of the link for the reply timeout.
    if (tcp_connected_at_ms_ >= 0) link_handshake_ms_ = now_ms - tcp_connected_at_ms_;
  }
  if (ev.connect_failed && !accepted_once_ && !unanswered_warned_) {
    spdlog::warn(
        "not registered yet: nothing accepts connections at {} (is message_server running "
        "there? or pass --server HOST:PORT); users can reach the group at {} meanwhile; "
        "registering as soon as the registry answers",
        options_.registry, options_.ip_port);
    unanswered_warned_ = true;
  }
  if (ev.handshake_ok && ev.disconnections > 0) {
    // The connection this socket had is gone: so is any reply on it.
    const bool was_in_flight = in_flight_;
    const bool resend_register = in_flight_ ? in_flight_is_register_ : register_next_;
    new_socket(now_ms);
    if (phase_ == Phase::reference) {
      // A reference registry forgets nothing while it runs, but a restarted one
      // knows no group: register again once it is back.
      spdlog::info(
          "the connection to the registry at {} dropped; registering again once it is back",
          options_.registry);
      send_request(true, now_ms);
    } else if (was_in_flight) {
      send_request(resend_register, now_ms);
    } else {
      register_next_ = resend_register;
    }
  }
}

void RegistryLink::on_readable(int64_t now_ms) {
  std::string body;
  while (socket_ && receive_reply(*socket_, body)) {
    if (in_flight_)
      handle_reply(body, now_ms);
    else
      spdlog::debug("registry reply with no request in flight: {}", body.substr(0, 200));
  }
}

void RegistryLink::accepted(const RegisterReply& reply, int64_t now_ms) {
  const bool again = accepted_once_;
  accepted_once_ = true;
  accepted_now_ = true;
  misses_ = 0;
  // A reference registry breaks on any action it does not know: no heartbeats to it.
  phase_ = reply.reference ? Phase::reference : Phase::heartbeat;
  if (reply.heartbeat_ms) heartbeat_ms_ = *reply.heartbeat_ms;
  next_send_ms_ = now_ms + heartbeat_ms_;
  if (again)
    spdlog::info("registered again with the registry at {}", options_.registry);
  else
    spdlog::info("registered with the registry at {} as '{}' at {}{}", options_.registry,
                 options_.group_name, options_.ip_port,
                 reply.reference ? " (a reference registry: no heartbeats; its connection is "
                                   "watched to register again after it restarts)"
                                 : "");
}

void RegistryLink::handle_reply(const std::string& body, int64_t now_ms) {
  const bool was_register = in_flight_is_register_;
  in_flight_ = false;
  next_send_ms_ = now_ms + heartbeat_ms_;
  if (outage_warned_) {
    spdlog::info("the registry at {} answers again", options_.registry);
    outage_warned_ = false;
  }
  if (was_register) {
    RegisterReply reply = decode_register_reply(body);
    if (reply.accepted) {
      accepted(reply, now_ms);
      return;
    }
    const std::string why =
        fmt::format("the registry at {} refused to register group '{}' at {}: {}",
                    options_.registry, options_.group_name, options_.ip_port, reply.error);
    if (!accepted_once_) {
      fatal_ = why;
      return;
    }
    spdlog::warn("{}; retrying", why);
    register_next_ = true;
    return;
  }
  misses_ = 0;
  HeartbeatReply reply = decode_heartbeat_reply(body);
  switch (reply.verdict) {
    case HeartbeatVerdict::ok:
      break;
    case HeartbeatVerdict::reregister:
      register_next_ = true;
      next_send_ms_ = now_ms;  // at once: the registry does not list us right now
      break;
    case HeartbeatVerdict::refused:
      spdlog::warn("the registry at {} refused a heartbeat: {}", options_.registry, reply.error);
      break;
    case HeartbeatVerdict::unreadable:
      spdlog::warn("unexpected heartbeat reply from the registry at {}: {}", options_.registry,
                   body.substr(0, 200));
      break;
  }
}

void RegistryLink::on_timer(int64_t now_ms) {
  if (!fatal_.empty()) return;
  if (in_flight_) {
    if (!accepted_once_ && !unanswered_warned_ &&
        now_ms >= started_ms_ + options_.unanswered_warning_ms) {
      spdlog::warn(
          "not registered yet: no answer from the registry at {} for {} ms (is message_server "
          "running there? or pass --server HOST:PORT); users can reach the group at {} "
          "meanwhile; registering as soon as the registry answers",
          options_.registry, now_ms - started_ms_, options_.ip_port);
      unanswered_warned_ = true;
    }
    if (connected_at_ms_ < 0) return;  // waiting for a connection: libzmq retries
    const long timeout = reply_timeout();
    if (now_ms < std::max(sent_at_ms_, connected_at_ms_) + timeout) return;
    // Lost reply: this socket may still receive it later, so replace it.
    if (!outage_warned_) {
      spdlog::warn(
          "no reply from the registry at {} within {} ms; retrying quietly on a new "
          "connection until it answers",
          options_.registry, timeout);
      outage_warned_ = true;
    }
    ++misses_;
    const bool reg = in_flight_is_register_;
    new_socket(now_ms);
    send_request(reg, now_ms);
    return;
  }
  if (phase_ == Phase::reference && !register_next_) return;
  if (now_ms < next_send_ms_) return;
  send_request(register_next_, now_ms);
}

void RegistryLink::unregister() {
  if (phase_ != Phase::heartbeat || !socket_) return;
  // On the established connection when there is one: a new one would cost
  // a handshake (several round trips) first.
  const int pending = in_flight_ ? 1 : 0;
  const std::string body = request_body(RegistryAction::unregister, false);
  try {
    if (!socket_->send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
        !socket_->send(zmq::buffer(body), zmq::send_flags::dontwait))
      return;
  } catch (const zmq::error_t&) {
    return;
  }
  const int64_t until = mono_ms() + options_.unregister_timeout_ms;
  int replies = 0;
  std::string reply;
  for (int64_t now = mono_ms(); now < until && replies <= pending; now = mono_ms()) {
    zmq::pollitem_t items[] = {{socket_->handle(), 0, ZMQ_POLLIN, 0}};
    try {
      poll_items(items, 1, until - now);
    } catch (const zmq::error_t&) {
      break;
    }
    while (replies <= pending && receive_reply(*socket_, reply)) ++replies;
  }
  if (replies <= pending) {
    spdlog::debug("no reply to unregister from {}", options_.registry);
    // Give a slow link a moment to take the request before the socket closes.
    socket_->set(zmq::sockopt::linger, 500);
  }
  monitor_.reset();
  socket_.reset();
}

}  // namespace gc
