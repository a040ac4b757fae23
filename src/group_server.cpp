#include "groupchat/group_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "groupchat/timefmt.hpp"

namespace gc {

GroupServer::GroupServer(zmq::context_t& ctx, GroupStore& store, GroupServerOptions options)
    : ctx_(ctx),
      store_(store),
      options_(std::move(options)),
      group_(store_, GroupConfig{options_.max_message_bytes}),
      router_(ctx_, zmq::socket_type::router),
      followers_(options_.follow_expiry_ms) {
  pending_.resize(kMaxBatch);
  stdout_buf_.reserve(64 * 1024);
}

GroupServer::~GroupServer() = default;

int64_t GroupServer::sweep_interval_ms() const {
  // Once a second, or more often for a shorter expiry, so a follow ends at
  // most one interval after its deadline.
  return std::clamp<int64_t>(options_.follow_expiry_ms / 2, 1, 1000);
}

Status GroupServer::bind() {
  try {
    // A reply to a peer that has gone fails at once instead of vanishing silently.
    router_.set(zmq::sockopt::router_mandatory, 1);
    router_.set(zmq::sockopt::maxmsgsize, kMaxFrameBytes);
    router_.set(zmq::sockopt::linger, 200);
    router_.bind(options_.endpoint.zmq());
  } catch (const zmq::error_t& e) {
    return Status::error(fmt::format("cannot bind {}: {}", options_.endpoint.zmq(), e.what()));
  }
  return Status::ok();
}

Status GroupServer::register_group(int stop_fd) {
  RegistryLinkOptions lo;
  lo.registry = options_.registry;
  lo.group_name = options_.name;
  lo.ip_port = options_.endpoint.ip_port();
  link_ = std::make_unique<RegistryLink>(ctx_, lo);
  auto s = link_->register_blocking(stop_fd);
  if (s && !link_->heartbeating())
    spdlog::info("the registry at {} is a reference one: no heartbeats", options_.registry);
  return s;
}

int GroupServer::run(int stop_fd) {
  while (true) {
    int64_t now = mono_ms();
    long timeout = link_ ? link_->timeout_ms(now) : -1;
    // Held replies are retried every few ms until their peers read again.
    if (held_count_ > 0) timeout = timeout < 0 ? 2 : std::min(timeout, 2L);
    if (followers_.size() > 0) {
      // Follows are swept once a second; with none, nothing wakes the loop.
      long sweep = std::max<long>(0, next_follow_sweep_ms_ - now);
      timeout = timeout < 0 ? sweep : std::min(timeout, sweep);
    }
    zmq::socket_t* hb = link_ ? link_->socket() : nullptr;
    zmq::pollitem_t items[3] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                                {nullptr, stop_fd, ZMQ_POLLIN, 0},
                                {hb ? hb->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
    int n = hb ? 3 : 2;
    try {
      zmq::poll(items, static_cast<size_t>(n), std::chrono::milliseconds(timeout));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) {
        spdlog::error("poll failed: {}", e.what());
        return 1;
      }
      continue;
    }
    if (items[1].revents & ZMQ_POLLIN) break;
    if (held_count_ > 0) flush_held();
    if (items[0].revents & ZMQ_POLLIN) serve_batch();
    if (link_) {
      now = mono_ms();
      if (hb && (items[2].revents & ZMQ_POLLIN)) link_->on_readable(now);
      link_->on_timer(now);
    }
    now = mono_ms();
    if (now >= next_follow_sweep_ms_) {
      if (size_t ended = followers_.expire(now))
        spdlog::info("{} follow(s) ended: not renewed within {} ms", ended, options_.follow_expiry_ms);
      next_follow_sweep_ms_ = now + sweep_interval_ms();
    }
  }
  spdlog::info("stopping");
  if (link_) link_->unregister();
  return 0;
}

void GroupServer::serve_batch() {
  const size_t max_body = options_.max_message_bytes + kRequestOverheadBytes;
  Status begun = store_.begin_batch();
  bool store_failed = !begun;
  std::string store_error = begun ? std::string() : begun.message();
  size_t n = 0;
  for (; n < kMaxBatch; ++n) {
    Pending& p = pending_[n];
    if (!receive_routed(router_, p.request, max_body)) break;
    p.reached_store = false;
    if (!p.request.framing_error.empty()) {
      p.outcome.clear();
      encode_failed(p.outcome.reply, p.request.framing_error);
      continue;
    }
    if (store_failed) {
      p.outcome.clear();
      p.reached_store = true;
      continue;
    }
    group_.handle_body(p.request.body, now_us(), p.outcome);
    // A handler ran: it read or wrote the store.
    p.reached_store = p.outcome.handled;
    if (p.outcome.store_failed) {
      store_failed = true;
      store_error = p.outcome.store_error;
    }
  }
  if (n == 0) {
    store_.rollback_batch();
    return;
  }
  if (!store_failed) {
    if (auto s = store_.commit_batch(); !s) {
      store_failed = true;
      store_error = s.message();
    }
  } else {
    store_.rollback_batch();
  }
  if (store_failed) {
    spdlog::error("storage failed; {} request(s) answered FAILED: {}", n, store_error);
    std::string reply;
    encode_failed(reply, "storage error, nothing was stored: " + store_error);
    for (size_t i = 0; i < n; ++i) {
      if (pending_[i].reached_store) {
        pending_[i].outcome.reply = reply;
        pending_[i].outcome.events.clear();
      }
    }
  }
  stdout_buf_.clear();
  for (size_t i = 0; i < n; ++i) {
    Pending& p = pending_[i];
    reply(p.request.envelope, p.outcome.reply);
    if (!options_.quiet && !p.outcome.stdout_line.empty()) {
      stdout_buf_ += p.outcome.stdout_line;
      stdout_buf_ += '\n';
    }
  }
  if (!stdout_buf_.empty()) {
    std::fwrite(stdout_buf_.data(), 1, stdout_buf_.size(), stdout);
    std::fflush(stdout);
  }
  if (!store_failed) deliver_events(n);
}

namespace {

enum class SendResult { sent, full, gone };

// Sends envelope + body without blocking. Frames is a range of zmq::message_t
// or std::string.
template <typename Frames>
SendResult try_send(zmq::socket_t& router, const Frames& envelope, std::string_view body) {
  try {
    for (const auto& frame : envelope) {
      if (!router.send(zmq::buffer(frame.data(), frame.size()),
                       zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return SendResult::full;  // nothing of this message has gone out
    }
    (void)router.send(zmq::buffer(body.data(), body.size()), zmq::send_flags::dontwait);
    return SendResult::sent;
  } catch (const zmq::error_t&) {
    return SendResult::gone;  // EHOSTUNREACH under ROUTER_MANDATORY
  }
}

// The routing frames as strings, to keep beyond the batch that received them.
std::vector<std::string> envelope_strings(const std::vector<zmq::message_t>& envelope) {
  std::vector<std::string> out;
  out.reserve(envelope.size());
  for (const auto& frame : envelope) out.push_back(frame.to_string());
  return out;
}

}  // namespace

void GroupServer::deliver_events(size_t n) {
  int64_t now = mono_ms();
  for (size_t i = 0; i < n; ++i) {
    Pending& p = pending_[i];
    for (const GroupEvent& ev : p.outcome.events) {
      switch (ev.kind) {
        case GroupEvent::Kind::message_stored:
          push(ev.message);
          break;
        case GroupEvent::Kind::follow_requested:
          if (followers_.size() == 0) next_follow_sweep_ms_ = now + sweep_interval_ms();
          followers_.follow(envelope_strings(p.request.envelope), ev.user_uuid, now);
          break;
        case GroupEvent::Kind::unfollow_requested:
          followers_.unfollow(envelope_strings(p.request.envelope));
          break;
        case GroupEvent::Kind::member_left:
          // Only members receive pushes: a leaver stops at once.
          followers_.drop_user(ev.user_uuid);
          break;
        case GroupEvent::Kind::member_joined:
          break;
      }
    }
  }
}

void GroupServer::push(const StoredMessage& msg) {
  if (followers_.size() == 0) return;
  encode_push(push_buf_, msg);
  gone_.clear();
  for (const auto& [key, follow] : followers_.all()) {
    // A full queue (high-water mark) skips this follower; it notices the gap
    // by seq and fetches from the store, so a slow follower never slows us.
    if (try_send(router_, follow.envelope, push_buf_) == SendResult::gone) gone_.push_back(key);
  }
  for (const auto& key : gone_) followers_.remove(key);
}

void GroupServer::reply(const std::vector<zmq::message_t>& envelope, std::string_view body) {
  // Once anything is held for this peer, later replies queue behind it.
  bool behind_held = false;
  if (!held_.empty()) behind_held = held_.count(Followers::key_of(envelope_strings(envelope))) > 0;
  if (!behind_held) {
    switch (try_send(router_, envelope, body)) {
      case SendResult::sent:
        return;
      case SendResult::gone:
        spdlog::debug("reply dropped: the client has gone");
        return;
      case SendResult::full:
        break;
    }
  }
  if (held_count_ >= kMaxHeldReplies) {
    spdlog::warn("reply dropped: {} replies already held for slow clients", held_count_);
    return;
  }
  std::vector<std::string> frames = envelope_strings(envelope);
  std::string key = Followers::key_of(frames);
  held_[key].push_back({std::move(frames), std::string(body)});
  ++held_count_;
}

void GroupServer::flush_held() {
  for (auto it = held_.begin(); it != held_.end();) {
    auto& queue = it->second;
    while (!queue.empty()) {
      SendResult r = try_send(router_, queue.front().envelope, queue.front().body);
      if (r == SendResult::full) break;
      queue.pop_front();
      --held_count_;
      if (r == SendResult::gone) {
        held_count_ -= queue.size();
        queue.clear();
      }
    }
    it = queue.empty() ? held_.erase(it) : std::next(it);
  }
}

}  // namespace gc
