#include "group/group_server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "core/clock.hpp"
#include "core/stop_signal.hpp"
#include "net/poll.hpp"

namespace gc {

GroupServer::GroupServer(zmq::context_t& ctx, GroupStore& store, GroupServerOptions options)
    : ctx_(ctx),
      store_(store),
      options_(std::move(options)),
      group_(store_, GroupConfig{options_.max_message_bytes, options_.max_reply_bytes}),
      router_(ctx_, zmq::socket_type::router),
      subscriptions_(options_.follow_expiry_ms, options_.follows),
      queued_(std::make_shared<QueuedTotal>()),
      policy_([&] {
        MemoryLimits m = MemoryLimits::for_budget(
            options_.memory_budget_bytes, options_.max_message_bytes + kRequestOverheadBytes);
        m.follower_queue_bytes = options_.follower_queue_bytes;
        return m;
      }()) {
  requests_.resize(kMaxBatchRequests);
  outcomes_.resize(kMaxBatchRequests);
  batch_peers_.resize(kMaxBatchRequests);
  stdout_buf_.reserve(64 * 1024);
}

GroupServer::~GroupServer() = default;

int64_t GroupServer::sweep_interval_ms() const {
  // Once a second, or more often for a shorter expiry, so a follow ends at
  // most one interval after its deadline.
  return std::clamp<int64_t>(options_.follow_expiry_ms / 2, 1, 1000);
}

std::optional<std::string> GroupServer::admit(std::string_view key) const {
  if (!members_) return std::nullopt;
  const std::string k(key);
  if (members_->contains(k) || k == options_.registry_key) return std::nullopt;
  return std::string("the key is not in the group's members file");
}

Status GroupServer::reload() {
  if (!curve() || options_.members_file.empty()) return Status::ok();
  auto loaded = load_members_file(options_.members_file);
  if (!loaded) return Status::error(loaded.error());
  std::vector<std::string> removed;
  size_t added = 0;
  if (members_) {
    for (const auto& key : *members_)
      if (!loaded->contains(key)) removed.push_back(key);
    for (const auto& key : *loaded) added += !members_->contains(key);
  } else {
    added = loaded->size();
  }
  members_ = std::move(*loaded);
  group_.set_allowed(*members_);
  for (const auto& key : removed) {
    subscriptions_.drop_user(key);
    if (auto gone = store_.remove_member(key); !gone)
      spdlog::error("cannot remove {} from the members: {}", key, gone.error());
  }
  if (!removed.empty()) {
    for (auto& [routing_id, peer] : peers_)
      if (!peer.key.empty() && !members_->contains(peer.key))
        close_peer(peer, routing_id, "its key is no longer in the members file");
  }
  spdlog::info("members file {}: {} keys ({} added, {} removed)", options_.members_file,
               members_->size(), added, removed.size());
  return Status::ok();
}

Status GroupServer::bind() {
  if (curve()) {
    if (!options_.keys) return Status::error("curve mode needs the group's key pair");
    if (auto s = reload(); !s) return s;
    try {
      zap_ = std::make_unique<ZapHandler>(
          ctx_, [this](std::string_view key, std::string_view) { return admit(key); });
      make_curve_server(router_, *options_.keys);
    } catch (const zmq::error_t& e) {
      return Status::error(fmt::format("cannot set up CURVE: {}", e.what()));
    }
  }
  try {
    // A reply to a peer that has gone fails at once instead of vanishing silently.
    router_.set(zmq::sockopt::router_mandatory, 1);
    // No frame of a request needs more than the largest request, and a
    // little more so that one just over it is answered with its size.
    router_.set(zmq::sockopt::maxmsgsize,
                static_cast<int64_t>(options_.max_message_bytes + 2 * kRequestOverheadBytes));
    // Every queued byte is accounted (net/peer_memory.hpp): no count limit.
    router_.set(zmq::sockopt::sndhwm, 0);
    router_.set(zmq::sockopt::handshake_ivl, kHandshakeTimeoutMs);
    router_.set(zmq::sockopt::linger, 200);
    guard_ = std::make_unique<ConnectionGuard>(ctx_, router_, options_.connections, "group");
    // What libzmq may hold of a message not yet ended, per connection and in all.
    guard_->limit_backlog(BacklogLimits::for_budget(
        options_.memory_budget_bytes, options_.max_message_bytes + 2 * kRequestOverheadBytes));
    router_.bind(options_.endpoint.zmq());
  } catch (const zmq::error_t& e) {
    return Status::error(fmt::format("cannot bind {}: {}", options_.endpoint.zmq(), e.what()));
  }
  return Status::ok();
}

void GroupServer::start_registering() {
  RegistryLinkOptions lo;
  lo.registry = options_.registry;
  lo.group_name = options_.name;
  lo.ip_port = options_.advertise.empty() ? options_.endpoint.ip_port() : options_.advertise;
  if (!options_.registry_key.empty() && options_.keys)
    lo.curve = CurveClientKeys{*options_.keys, options_.registry_key};
  lo.curve_group = options_.security == SecurityMode::curve;
  link_ = std::make_unique<RegistryLink>(ctx_, lo);
  link_->start(mono_ms());
}

void GroupServer::after_link() {
  if (!link_->take_accepted()) return;
  // The reference group prints the registry's verdict once registered.
  if (!options_.quiet) {
    std::fputs("SUCCESS\n", stdout);
    std::fflush(stdout);
  }
  if (!serving_logged_) {
    spdlog::info("serving on {}, listed by the registry at {}", options_.endpoint.zmq(),
                 options_.registry);
    serving_logged_ = true;
  }
}

int GroupServer::run(int stop_fd, int reload_fd) {
  while (true) {
    int64_t now = mono_ms();
    NextWake wake(now);
    if (link_) {
      if (long ms = link_->timeout_ms(now); ms >= 0) wake.within(ms);
    }
    // Parked requests are looked at every few ms until their peers read again.
    if (parked_peers_ > 0) wake.within(5);
    // Follows are swept on a timer; with none, nothing wakes the loop.
    if (subscriptions_.size() > 0) wake.at(next_follow_sweep_ms_);
    if (sync_due_ms_ >= 0) wake.at(sync_due_ms_);
    // Peers are swept, and memory they gave up is trimmed, a second apart.
    if (!peers_.empty() || trim_.pending(held_bytes())) wake.at(next_peer_sweep_ms_);
    // Messages not yet ended are looked for while there are connections.
    if (int64_t check = guard_->next_check_ms(); check >= 0) wake.at(check);
    zmq::socket_t* hb = link_ ? link_->socket() : nullptr;
    zmq::socket_t* hb_monitor = link_ ? link_->monitor_socket() : nullptr;
    // The ZAP handler and the reload signal take the place of a missing
    // registry socket: items holds only what exists.
    zmq::pollitem_t items[7] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                                {nullptr, stop_fd, ZMQ_POLLIN, 0},
                                {guard_->handle(), 0, ZMQ_POLLIN, 0}};
    size_t count = 3;
    const size_t hb_at = hb ? count++ : SIZE_MAX;
    if (hb) items[hb_at] = {hb->handle(), 0, ZMQ_POLLIN, 0};
    const size_t monitor_at = hb_monitor ? count++ : SIZE_MAX;
    if (hb_monitor) items[monitor_at] = {hb_monitor->handle(), 0, ZMQ_POLLIN, 0};
    const size_t zap_at = zap_ ? count++ : SIZE_MAX;
    if (zap_) items[zap_at] = {zap_->socket().handle(), 0, ZMQ_POLLIN, 0};
    const size_t reload_at = reload_fd >= 0 ? count++ : SIZE_MAX;
    if (reload_fd >= 0) items[reload_at] = {nullptr, reload_fd, ZMQ_POLLIN, 0};
    try {
      if (!poll_items(items, static_cast<int>(count), wake.timeout_ms())) continue;
    } catch (const zmq::error_t& e) {
      spdlog::error("poll failed: {}", e.what());
      return 1;
    }
    if (items[1].revents & ZMQ_POLLIN) break;
    // Handshakes wait for their answer: ZAP first.
    if (zap_ && (items[zap_at].revents & ZMQ_POLLIN)) zap_->on_readable();
    if (reload_fd >= 0 && (items[reload_at].revents & ZMQ_POLLIN)) {
      drain_signal_pipe(reload_fd);
      if (auto s = reload(); !s) spdlog::error("{}; the members stay as they were", s.message());
    }
    // Connection events first: a request is then credited to the connection it came on.
    if ((items[2].revents & ZMQ_POLLIN) || (items[0].revents & ZMQ_POLLIN)) guard_->drain();
    if ((items[0].revents & ZMQ_POLLIN) || parked_peers_ > 0) serve_batch();
    guard_->on_timer(mono_ms());
    sync_store(mono_ms());
    if (!store_.fault().empty()) break;
    if (link_) {
      now = mono_ms();
      if (hb_monitor && (items[monitor_at].revents & ZMQ_POLLIN)) link_->on_monitor(now);
      if (hb && (items[hb_at].revents & ZMQ_POLLIN)) link_->on_readable(now);
      link_->on_timer(now);
      after_link();
      if (!link_->fatal().empty()) {
        error_ = link_->fatal();
        break;
      }
    }
    now = mono_ms();
    if (now >= next_follow_sweep_ms_) {
      if (size_t ended = subscriptions_.expire(now))
        spdlog::info("{} follow(s) ended: not renewed within {} ms", ended,
                     options_.follow_expiry_ms);
      next_follow_sweep_ms_ = now + sweep_interval_ms();
    }
    if (now >= next_peer_sweep_ms_) {
      sweep_peers(now);
      next_peer_sweep_ms_ = now + 1000;
    }
  }
  if (!error_.empty()) return 1;
  const bool faulted = !store_.fault().empty();
  if (!faulted && !options_.quiet) {
    // The reference group's line on Ctrl-C.
    std::fputs("Shutting down group...\n", stdout);
    std::fflush(stdout);
  }
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
  size_t n = 0, built = 0;
  group_.begin_batch(subscriptions_.size() > 0);
  if (parked_peers_ > 0) take_parked(n, built);
  while (n < kMaxBatchRequests && built < kMaxBatchReplyBytes) {
    RoutedRequest& request = requests_[n];
    if (!receive_routed(router_, request, max_body, curve())) break;
    guard_->on_delivered(request.source_fd, request.wire_bytes);
    Peer& peer = peer_of(request);
    if (peer.closed) continue;  // already on its way out
    if (!request.framing_violation.empty()) {
      close_peer(peer, request.peer(), request.framing_violation);
      continue;
    }
    if (!peer.parked.empty() ||
        !policy_.may_serve(peer.account->queued_now(),
                           queued_->bytes.load(std::memory_order_relaxed), parked_total_)) {
      park(peer, std::move(request));
      continue;
    }
    take(request, peer, n, built);
  }
  const Status committed = group_.end_batch(std::span(outcomes_.data(), n));
  if (!committed)
    spdlog::error("storage failed; {} request(s) answered FAILED: {}", n, committed.message());
  apply_follows(n);
  stdout_buf_.clear();
  for (size_t i = 0; i < n; ++i) {
    reply(i);
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
  trim_.observe(held_bytes());
}

void GroupServer::take(RoutedRequest& request, Peer& peer, size_t& n, size_t& built) {
  batch_peers_[n] = &peer;
  if (!request.framing_error.empty())
    group_.refuse(request.framing_error, outcomes_[n]);
  else if (curve() && request.user_id.empty())
    group_.refuse("no authenticated key on this connection", outcomes_[n]);
  else {
    if (curve() && peer.key.empty()) peer.key = request.user_id;
    group_.handle_body(request.body, now_us(), outcomes_[n], request.user_id);
  }
  built += outcomes_[n].reply.size();
  ++n;
}

void GroupServer::take_parked(size_t& n, size_t& built) {
  size_t kept = 0;
  for (Peer* peer : parked_list_) {
    while (!peer->parked.empty() && n < kMaxBatchRequests && built < kMaxBatchReplyBytes &&
           policy_.may_serve(peer->account->queued_now(),
                             queued_->bytes.load(std::memory_order_relaxed), parked_total_)) {
      RoutedRequest& request = requests_[n];
      request = std::move(peer->parked.front());
      peer->parked.pop_front();
      const size_t bytes = request.held_bytes();
      peer->parked_bytes -= bytes;
      parked_total_ -= bytes;
      take(request, *peer, n, built);
    }
    if (peer->parked.empty())
      --parked_peers_;
    else
      parked_list_[kept++] = peer;
  }
  parked_list_.resize(kept);
}

void GroupServer::park(Peer& peer, RoutedRequest&& request) {
  const size_t bytes = request.held_bytes();
  if (!policy_.may_park(peer.parked_bytes, parked_total_, bytes)) {
    close_peer(peer, request.peer(),
               fmt::format("it does not read its replies: {} bytes queued for it, {} bytes of "
                           "its requests waiting (at most {})",
                           peer.account->queued_now(), peer.parked_bytes + bytes,
                           policy_.limits().peer_parked_bytes));
    return;
  }
  if (peer.parked.empty()) {
    ++parked_peers_;
    parked_list_.push_back(&peer);
  }
  peer.parked_bytes += bytes;
  parked_total_ += bytes;
  peer.parked.push_back(std::move(request));
}

GroupServer::Peer& GroupServer::peer_of(const RoutedRequest& request) {
  auto [it, added] = peers_.try_emplace(std::string(request.peer()));
  Peer& peer = it->second;
  if (added) {
    peer.account = std::make_shared<PeerAccount>(queued_);
    peer.connection = ConnectionId::of(request.source_fd);
    peer.address = request.peer_address.empty() && peer.connection ? peer_ip(peer.connection->fd)
                                                                   : request.peer_address;
  }
  return peer;
}

void GroupServer::close_peer(Peer& peer, std::string_view routing_id, const std::string& why) {
  if (peer.closed) return;
  peer.closed = true;
  if (!peer.parked.empty()) {
    --parked_peers_;
    std::erase(parked_list_, &peer);
  }
  parked_total_ -= peer.parked_bytes;
  peer.parked.clear();
  peer.parked_bytes = 0;
  subscriptions_.unfollow(std::string(routing_id));
  const bool shut = peer.connection && peer.connection->shut_down();
  log_closed_peer(log_close_, peer.address, why, shut);
}

void GroupServer::sweep_peers(int64_t now_ms) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    Peer& p = it->second;
    // Only the table holds the account: nothing queued, nothing followed.
    const bool idle = p.parked.empty() && p.account.use_count() == 1;
    if (!idle) {
      p.idle_since_ms = 0;
    } else if (p.idle_since_ms == 0) {
      p.idle_since_ms = now_ms;
    } else if (now_ms - p.idle_since_ms >= 1000) {
      // A closed peer is remembered a little, for the messages libzmq still had from it.
      it = peers_.erase(it);
      continue;
    }
    ++it;
  }
  trim_.maybe_trim(held_bytes(), now_ms);
}

int64_t GroupServer::held_bytes() const {
  return queued_->bytes.load(std::memory_order_relaxed) + static_cast<int64_t>(parked_total_);
}

void GroupServer::apply_follows(size_t n) {
  const int64_t now = mono_ms();
  for (size_t i = 0; i < n; ++i) {
    for (GroupEvent& ev : outcomes_[i].events) {
      if (ev.kind == GroupEvent::Kind::follow_requested) {
        if (subscriptions_.size() == 0) next_follow_sweep_ms_ = now + sweep_interval_ms();
        Peer& peer = *batch_peers_[i];
        if (auto refused = subscriptions_.follow(envelope_strings(requests_[i].envelope),
                                                 ev.user_uuid, peer.address, peer.account, now)) {
          encode_failed(outcomes_[i].reply, *refused);
        }
      } else if (ev.kind == GroupEvent::Kind::unfollow_requested) {
        subscriptions_.unfollow(std::string(requests_[i].peer()));
      }
    }
  }
}

void GroupServer::deliver_events(size_t n) {
  for (size_t i = 0; i < n; ++i) {
    for (const GroupEvent& ev : outcomes_[i].events) {
      switch (ev.kind) {
        case GroupEvent::Kind::message_stored:
          queue_push(ev.message, ev.public_id);
          break;
        case GroupEvent::Kind::follow_requested:
        case GroupEvent::Kind::unfollow_requested:
          break;  // done by apply_follows, before the replies
        case GroupEvent::Kind::member_left:
          // Only members receive pushes: a leaver stops at once, after the
          // messages stored before it left.
          flush_pushes();
          subscriptions_.drop_user(ev.user_uuid);
          break;
        case GroupEvent::Kind::member_joined:
          break;
      }
    }
  }
  flush_pushes();
}

void GroupServer::queue_push(const StoredMessage& msg, const std::string& public_id) {
  if (subscriptions_.size() == 0) return;
  encode_push(push_buf_, msg, public_id);
  pushes_.push_back(shared_message(push_buf_, queued_charge(push_buf_.size(), 0, 1), queued_));
}

void GroupServer::flush_pushes() {
  if (pushes_.empty()) return;
  gone_.clear();
  for (const auto& [key, subscription] : subscriptions_.all()) {
    size_t envelope_bytes = 0;
    for (const auto& f : subscription.envelope) envelope_bytes += f.size();
    const size_t frames = subscription.envelope.size() + 1;
    // Behind an empty delimiter the follower gets a copy of the one encoded
    // body; a follower without one (a bare DEALER) gets a body of its own.
    const bool shared = subscription.envelope.size() > 1 && subscription.envelope.back().empty();
    for (zmq::message_t& body : pushes_) {
      // A follower whose queue is over its bytes (or a server over budget)
      // misses this push; it notices the gap by seq and fetches from the
      // store, so a slow follower never slows us or grows our memory.
      const size_t charge = queued_charge(body.size(), envelope_bytes, frames);
      const size_t total_charge = shared ? charge - body.size() : charge;
      if (!policy_.may_push(subscription.account->queued_now(), charge,
                            queued_->bytes.load(std::memory_order_relaxed), total_charge))
        continue;
      const SendResult sent =
          shared
              ? send_shared(router_, subscription.envelope, body, charge, total_charge,
                            subscription.account)
              : send_accounted(router_, subscription.envelope,
                               std::string_view(static_cast<const char*>(body.data()), body.size()),
                               subscription.account);
      if (sent == SendResult::gone) {
        gone_.push_back(key);
        break;
      }
    }
  }
  pushes_.clear();
  for (const auto& key : gone_) subscriptions_.remove(key);
}

void GroupServer::reply(size_t i) {
  switch (send_accounted(router_, requests_[i].envelope, outcomes_[i].reply,
                         batch_peers_[i]->account)) {
    case SendResult::sent:
      return;
    case SendResult::gone:
      spdlog::debug("reply dropped: the client has gone");
      return;
    case SendResult::full:
      spdlog::warn("reply dropped: the send queue is full");
      return;
  }
}

}  // namespace gc
