#include "registry/registry_link.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

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

}  // namespace

RegistryLink::RegistryLink(zmq::context_t& ctx, RegistryLinkOptions options)
    : ctx_(ctx), options_(std::move(options)) {
  zmq_endpoint_ = zmq_address(options_.registry);
}

RegistryLink::~RegistryLink() = default;

std::string RegistryLink::request_body(RegistryAction action, bool heartbeat_flag) const {
  return make_registry_request(action, options_.group_name, options_.ip_port, heartbeat_flag,
                               options_.curve_group && action == RegistryAction::register_group);
}

void RegistryLink::new_socket() {
  socket_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  if (options_.curve)
    make_curve_client(*socket_, options_.curve->mine, options_.curve->server_public_key);
  socket_->connect(zmq_endpoint_);
  in_flight_ = false;
}

bool RegistryLink::send(const std::string& body, int64_t now_ms) {
  if (!socket_) new_socket();
  try {
    if (!socket_->send(zmq::message_t(), zmq::send_flags::sndmore | zmq::send_flags::dontwait))
      return false;
    if (!socket_->send(zmq::buffer(body), zmq::send_flags::dontwait)) return false;
  } catch (const zmq::error_t& e) {
    spdlog::debug("registry send failed: {}", e.what());
    return false;
  }
  in_flight_ = true;
  reply_deadline_ms_ = now_ms + heartbeat_ms_;
  return true;
}

bool RegistryLink::apply_register_reply(const std::string& body, std::string& error) {
  RegisterReply reply = decode_register_reply(body);
  if (!reply.accepted) {
    error = std::move(reply.error);
    return false;
  }
  // A reference registry breaks on any action it does not know: no heartbeats to it.
  heartbeating_ = !reply.reference;
  if (reply.heartbeat_ms) heartbeat_ms_ = *reply.heartbeat_ms;
  return true;
}

Status RegistryLink::register_blocking(int stop_fd) {
  const std::string body = request_body(RegistryAction::register_group, true);
  const int tries = std::max(1, options_.register_tries);
  for (int attempt = 1; attempt <= tries; ++attempt) {
    new_socket();
    // A failed handshake is told apart from a registry that does not answer.
    LinkMonitor handshake(ctx_, *socket_, "registry-link");
    int64_t deadline = mono_ms() + options_.register_timeout_ms;
    if (!send(body, mono_ms())) continue;
    while (true) {
      int64_t left = deadline - mono_ms();
      if (left <= 0) break;
      zmq::pollitem_t items[3] = {{socket_->handle(), 0, ZMQ_POLLIN, 0}};
      int count = 1, stop_at = -1, watch_at = -1;
      if (handshake.socket()) {
        watch_at = count;
        items[count++] = {handshake.socket()->handle(), 0, ZMQ_POLLIN, 0};
      }
      if (stop_fd >= 0) {
        stop_at = count;
        items[count++] = {nullptr, stop_fd, ZMQ_POLLIN, 0};
      }
      try {
        poll_items(items, count, static_cast<long>(left));
      } catch (const zmq::error_t& e) {
        return Status::error(fmt::format("registering: {}", e.what()));
      }
      if (stop_at >= 0 && (items[stop_at].revents & ZMQ_POLLIN))
        return Status::error("interrupted");
      if (watch_at >= 0 && (items[watch_at].revents & ZMQ_POLLIN)) {
        handshake.drain();
        if (auto why = handshake_error(handshake.events()); !why.empty()) {
          socket_.reset();
          return Status::error(why);
        }
      }
      std::string reply;
      if ((items[0].revents & ZMQ_POLLIN) && receive_reply(*socket_, reply)) {
        in_flight_ = false;
        std::string error;
        if (!apply_register_reply(reply, error))
          return Status::error(
              fmt::format("the registry at {} refused to register group '{}' at {}: {}",
                          options_.registry, options_.group_name, options_.ip_port, error));
        if (!heartbeating_) socket_.reset();
        // The heartbeat socket lives on, past the monitor's reader.
        if (socket_) handshake.stop();
        next_send_ms_ = mono_ms() + heartbeat_ms_;
        return Status::ok();
      }
    }
  }
  socket_.reset();
  return Status::error(fmt::format(
      "no reply from the registry at {} after {} tries ({} ms each); is message_server running "
      "there? Start it first, or pass --server HOST:PORT",
      options_.registry, tries, options_.register_timeout_ms));
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

long RegistryLink::timeout_ms(int64_t now_ms) const {
  if (!heartbeating_) return -1;
  int64_t at = in_flight_ ? reply_deadline_ms_ : next_send_ms_;
  return static_cast<long>(std::max<int64_t>(0, at - now_ms));
}

void RegistryLink::handle_reply(const std::string& body, int64_t now_ms) {
  bool was_register = in_flight_is_register_;
  in_flight_ = false;
  next_send_ms_ = now_ms + heartbeat_ms_;
  if (outage_warned_) {
    spdlog::info("registry at {} answers again", options_.registry);
    outage_warned_ = false;
  }
  if (was_register) {
    std::string error;
    if (apply_register_reply(body, error)) {
      spdlog::info("registered again with the registry at {}", options_.registry);
      if (!heartbeating_) socket_.reset();
    } else {
      spdlog::warn("the registry at {} refused to register us: {}; retrying", options_.registry,
                   error);
      heartbeating_ = true;  // keep trying
      register_next_ = true;
    }
    return;
  }
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

void RegistryLink::on_readable(int64_t now_ms) {
  if (!socket_) return;
  std::string body;
  while (receive_reply(*socket_, body)) {
    if (in_flight_) handle_reply(body, now_ms);
    if (!socket_) break;
  }
}

void RegistryLink::on_timer(int64_t now_ms) {
  if (!heartbeating_) return;
  if (in_flight_) {
    if (now_ms < reply_deadline_ms_) return;
    // Lost reply: this socket may still receive it later, so replace it.
    if (!outage_warned_) {
      spdlog::warn("no heartbeat reply from the registry at {}; retrying quietly until it is back",
                   options_.registry);
      outage_warned_ = true;
    }
    // A restarted registry answers the next heartbeat with FAILED+reregister.
    register_next_ = in_flight_is_register_;
    new_socket();
    next_send_ms_ = now_ms;
  }
  if (now_ms < next_send_ms_) return;
  bool reg = register_next_;
  if (send(request_body(reg ? RegistryAction::register_group : RegistryAction::heartbeat, reg),
           now_ms)) {
    in_flight_is_register_ = reg;
    register_next_ = false;
  } else {
    next_send_ms_ = now_ms + heartbeat_ms_;
  }
}

void RegistryLink::unregister() {
  if (!heartbeating_) return;
  new_socket();
  if (!send(request_body(RegistryAction::unregister, false), mono_ms())) return;
  zmq::pollitem_t items[] = {{socket_->handle(), 0, ZMQ_POLLIN, 0}};
  try {
    poll_items(items, 1, options_.unregister_timeout_ms);
  } catch (const zmq::error_t&) {
    return;
  }
  std::string body;
  if (!(items[0].revents & ZMQ_POLLIN) || !receive_reply(*socket_, body))
    spdlog::debug("no reply to unregister from {}", options_.registry);
  socket_.reset();
}

}  // namespace gc
