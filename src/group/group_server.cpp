#include "group/group_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/clock.hpp"
#include "net/poll.hpp"

namespace gc {

GroupServer::GroupServer(zmq::context_t& ctx, GroupStore& store, GroupServerOptions options)
    : ctx_(ctx),
      store_(store),
      options_(std::move(options)),
      group_(store_, GroupConfig{options_.max_message_bytes}),
      router_(ctx_, zmq::socket_type::router),
      subscriptions_(options_.follow_expiry_ms) {
  requests_.resize(kMaxBatchRequests);
  outcomes_.resize(kMaxBatchRequests);
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
    NextWake wake(now);
    if (link_) {
      if (long ms = link_->timeout_ms(now); ms >= 0) wake.within(ms);
    }
    // Held replies are retried every few ms until their peers read again.
    if (held_count_ > 0) wake.within(2);
    // Follows are swept on a timer; with none, nothing wakes the loop.
    if (subscriptions_.size() > 0) wake.at(next_follow_sweep_ms_);
    if (sync_due_ms_ >= 0) wake.at(sync_due_ms_);
    zmq::socket_t* hb = link_ ? link_->socket() : nullptr;
    zmq::pollitem_t items[3] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                                {nullptr, stop_fd, ZMQ_POLLIN, 0},
                                {hb ? hb->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
    try {
      if (!poll_items(items, hb ? 3 : 2, wake.timeout_ms())) continue;
    } catch (const zmq::error_t& e) {
      spdlog::error("poll failed: {}", e.what());
      return 1;
    }
    if (items[1].revents & ZMQ_POLLIN) break;
    if (held_count_ > 0) flush_held();
    if (items[0].revents & ZMQ_POLLIN) serve_batch();
    sync_store(mono_ms());
    if (!store_.fault().empty()) break;
    if (link_) {
      now = mono_ms();
      if (hb && (items[2].revents & ZMQ_POLLIN)) link_->on_readable(now);
      link_->on_timer(now);
    }
    now = mono_ms();
    if (now >= next_follow_sweep_ms_) {
      if (size_t ended = subscriptions_.expire(now))
        spdlog::info("{} follow(s) ended: not renewed within {} ms", ended,
                     options_.follow_expiry_ms);
      next_follow_sweep_ms_ = now + sweep_interval_ms();
    }
  }
  const bool faulted = !store_.fault().empty();
  if (faulted) {
    // Requests in flight get the fault too: answered until none has come for
    // 100 ms, for one second at most.
    const int64_t until = mono_ms() + 1000;
    for (int64_t now = mono_ms(); now < until; now = mono_ms()) {
      zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
      try {
        if (!poll_items(&item, 1, std::min<int64_t>(100, until - now))) continue;
      } catch (const zmq::error_t&) {
        break;
      }
      if (!(item.revents & ZMQ_POLLIN)) break;
      serve_batch();
    }
    spdlog::error("stopping: {}", store_.fault());
  } else
    spdlog::info("stopping");
  if (link_) link_->unregister();
  return faulted ? 1 : 0;
}

void GroupServer::sync_store(int64_t now) {
  if (sync_due_ms_ < 0) {
    if (!store_.needs_sync()) return;
    // About once a second while there are commits; at once after a quiet spell.
    sync_due_ms_ = std::max(now, last_sync_ms_ + kSyncIntervalMs);
  }
  if (now < sync_due_ms_) return;
  const auto start = std::chrono::steady_clock::now();
  const Status synced = store_.sync();
  const auto took_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  if (!synced) return;  // a fault: the loop stops
  if (took_ms >= 100) spdlog::warn("syncing the store to disk took {} ms", took_ms);
  last_sync_ms_ = mono_ms();
  sync_due_ms_ = -1;
}

void GroupServer::serve_batch() {
  const size_t max_body = options_.max_message_bytes + kRequestOverheadBytes;
  size_t n = 0;
  group_.begin_batch();
  for (; n < kMaxBatchRequests; ++n) {
    RoutedRequest& request = requests_[n];
    if (!receive_routed(router_, request, max_body)) break;
    if (!request.framing_error.empty())
      group_.refuse(request.framing_error, outcomes_[n]);
    else
      group_.handle_body(request.body, now_us(), outcomes_[n]);
  }
  const Status committed = group_.end_batch(std::span(outcomes_.data(), n));
  if (!committed)
    spdlog::error("storage failed; {} request(s) answered FAILED: {}", n, committed.message());
  stdout_buf_.clear();
  for (size_t i = 0; i < n; ++i) {
    reply(requests_[i].envelope, outcomes_[i].reply);
    if (!options_.quiet && !outcomes_[i].stdout_line.empty()) {
      stdout_buf_ += outcomes_[i].stdout_line;
      stdout_buf_ += '\n';
    }
  }
  if (!stdout_buf_.empty()) {
    std::fwrite(stdout_buf_.data(), 1, stdout_buf_.size(), stdout);
    std::fflush(stdout);
  }
  deliver_events(n);
}

void GroupServer::deliver_events(size_t n) {
  int64_t now = mono_ms();
  for (size_t i = 0; i < n; ++i) {
    const auto& envelope = requests_[i].envelope;
    for (const GroupEvent& ev : outcomes_[i].events) {
      switch (ev.kind) {
        case GroupEvent::Kind::message_stored:
          push(ev.message);
          break;
        case GroupEvent::Kind::follow_requested:
          if (subscriptions_.size() == 0) next_follow_sweep_ms_ = now + sweep_interval_ms();
          subscriptions_.follow(envelope_strings(envelope), ev.user_uuid, now);
          break;
        case GroupEvent::Kind::unfollow_requested:
          subscriptions_.unfollow(envelope_strings(envelope));
          break;
        case GroupEvent::Kind::member_left:
          // Only members receive pushes: a leaver stops at once.
          subscriptions_.drop_user(ev.user_uuid);
          break;
        case GroupEvent::Kind::member_joined:
          break;
      }
    }
  }
}

void GroupServer::push(const StoredMessage& msg) {
  if (subscriptions_.size() == 0) return;
  encode_push(push_buf_, msg);
  gone_.clear();
  for (const auto& [key, subscription] : subscriptions_.all()) {
    // A full queue (high-water mark) skips this follower; it notices the gap
    // by seq and fetches from the store, so a slow follower never slows us.
    if (send_routed(router_, subscription.envelope, push_buf_) == SendResult::gone)
      gone_.push_back(key);
  }
  for (const auto& key : gone_) subscriptions_.remove(key);
}

void GroupServer::reply(const std::vector<zmq::message_t>& envelope, std::string_view body) {
  // Once anything is held for this peer, later replies queue behind it.
  bool behind_held = false;
  if (!held_.empty()) behind_held = held_.count(envelope_key(envelope_strings(envelope))) > 0;
  if (!behind_held) {
    switch (send_routed(router_, envelope, body)) {
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
  std::string key = envelope_key(frames);
  held_[key].push_back({std::move(frames), std::string(body)});
  ++held_count_;
}

void GroupServer::flush_held() {
  for (auto it = held_.begin(); it != held_.end();) {
    auto& queue = it->second;
    while (!queue.empty()) {
      SendResult r = send_routed(router_, queue.front().envelope, queue.front().body);
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
