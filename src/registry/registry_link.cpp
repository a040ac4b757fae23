#include "registry/registry_link.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include "core/clock.hpp"
#include "core/endpoint.hpp"
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

// Watches one socket's handshakes (a PAIR reading libzmq's monitor of it),
// so that a failed CURVE handshake is told apart from a registry that does
// not answer.
class HandshakeWatch {
 public:
  HandshakeWatch(zmq::context_t& ctx, zmq::socket_t& watched) : watched_(watched) {
    static unsigned long counter = 0;
    const std::string endpoint = fmt::format("inproc://registry-link-handshake-{}", ++counter);
    if (zmq_socket_monitor(watched_.handle(), endpoint.c_str(),
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED) != 0)
      return;
    pair_ = zmq::socket_t(ctx, zmq::socket_type::pair);
    pair_.set(zmq::sockopt::linger, 0);
    pair_.connect(endpoint);
    active_ = true;
  }
  ~HandshakeWatch() { stop(); }
  // Must come before the watched socket closes.
  void stop() {
    if (active_) zmq_socket_monitor(watched_.handle(), nullptr, 0);
    active_ = false;
  }
  HandshakeWatch(const HandshakeWatch&) = delete;
  HandshakeWatch& operator=(const HandshakeWatch&) = delete;

  void* handle() { return active_ ? pair_.handle() : nullptr; }

  // Reads the waiting events; the failure seen, if any (empty: none yet).
  // An event is two frames: 2 bytes of event and 4 of value, then the address.
  void drain() {
    if (!active_) return;
    zmq::message_t head, address;
    while (pair_.recv(head, zmq::recv_flags::dontwait)) {
      if (head.more()) (void)pair_.recv(address, zmq::recv_flags::none);
      if (head.size() < 6) continue;
      uint16_t event;
      uint32_t value;
      std::memcpy(&event, head.data(), 2);
      std::memcpy(&value, static_cast<const char*>(head.data()) + 2, 4);
      if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        succeeded_ = true;
      } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
        failure_ = value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH ? Failure::mechanism
                                                                       : Failure::protocol;
      } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        failure_ = Failure::auth;
        auth_status_ = value;
      } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        // Mostly the peer closing the connection (EPIPE, ECONNRESET) as it
        // sees the mismatch first.
        if (failure_ == Failure::none) failure_ = Failure::closed;
      } else if (event == ZMQ_EVENT_DISCONNECTED && !succeeded_ && failure_ == Failure::none) {
        failure_ = Failure::closed;
      }
    }
  }

  enum class Failure { none, mechanism, protocol, auth, closed };
  Failure failure() const { return failure_; }
  uint32_t auth_status() const { return auth_status_; }

 private:
  zmq::socket_t& watched_;
  zmq::socket_t pair_;
  bool active_ = false;
  bool succeeded_ = false;
  Failure failure_ = Failure::none;
  uint32_t auth_status_ = 0;
};

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
    HandshakeWatch handshake(ctx_, *socket_);
    int64_t deadline = mono_ms() + options_.register_timeout_ms;
    if (!send(body, mono_ms())) continue;
    while (true) {
      int64_t left = deadline - mono_ms();
      if (left <= 0) break;
      zmq::pollitem_t items[3] = {{socket_->handle(), 0, ZMQ_POLLIN, 0}};
      int count = 1, stop_at = -1, watch_at = -1;
      if (handshake.handle()) {
        watch_at = count;
        items[count++] = {handshake.handle(), 0, ZMQ_POLLIN, 0};
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
        if (auto why =
                handshake_error(static_cast<int>(handshake.failure()), handshake.auth_status());
            !why.empty()) {
          handshake.stop();
          socket_.reset();
          return Status::error(why);
        }
      }
      std::string reply;
      if ((items[0].revents & ZMQ_POLLIN) && receive_reply(*socket_, reply)) {
        handshake.stop();
        in_flight_ = false;
        std::string error;
        if (!apply_register_reply(reply, error))
          return Status::error(
              fmt::format("the registry at {} refused to register group '{}' at {}: {}",
                          options_.registry, options_.group_name, options_.ip_port, error));
        if (!heartbeating_) socket_.reset();
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

std::string RegistryLink::handshake_error(int failure, uint32_t auth_status) const {
  using F = HandshakeWatch::Failure;
  const std::string& at = options_.registry;
  constexpr const char* kGiveKey =
      "--server-key KEY or GROUPCHAT_SERVER_KEY (message_server --public-key prints it)";
  switch (static_cast<F>(failure)) {
    case F::none:
      return {};
    case F::mechanism:
      if (options_.curve)
        return fmt::format(
            "the registry at {} does not speak CURVE: it is in open mode. Start it with "
            "--security curve, or register this open group without {}",
            at, "--server-key / GROUPCHAT_SERVER_KEY");
      return fmt::format(
          "the registry at {} is in curve mode and refused our unencrypted connection: give the "
          "group the registry's public key with {}",
          at, kGiveKey);
    case F::protocol:
      if (options_.curve)
        return fmt::format(
            "the CURVE handshake with the registry at {} failed: it does not hold the key given "
            "as its public key ({}), or it is not a groupchat registry; check the key against "
            "message_server --public-key there",
            at, options_.curve->server_public_key);
      return fmt::format(
          "the ZMTP handshake with the registry at {} failed; is it a groupchat "
          "registry (in curve mode it needs {})?",
          at, kGiveKey);
    case F::auth:
      return fmt::format("the registry at {} refused this group's key {} (ZAP status {})", at,
                         options_.curve ? options_.curve->mine.public_key : std::string("-"),
                         auth_status);
    case F::closed:
      if (options_.curve)
        return fmt::format(
            "the registry at {} closed the connection during the CURVE handshake: it is "
            "probably in open mode (start it with --security curve, or register this open "
            "group without --server-key / GROUPCHAT_SERVER_KEY), or it does not hold the key "
            "given as its public key ({})",
            at, options_.curve->server_public_key);
      return fmt::format(
          "the registry at {} closed the connection during the handshake: it is probably in "
          "curve mode; give the group its public key with {}",
          at, kGiveKey);
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
