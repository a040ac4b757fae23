#include "group/group.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "core/timefmt.hpp"
#include "core/visible_text.hpp"

namespace gc {

void GroupOutcome::clear() {
  reply.clear();
  stdout_line.clear();
  reached_store = false;
  events.clear();
  store_failed = false;
}

const Group::Command Group::kCommands[] = {
    {"joinGroup", "JOIN REQUEST FROM ", &Group::join},
    {"leaveGroup", "LEAVE REQUEST FROM ", &Group::leave},
    {"sendMessage", "MESSAGE SEND FROM ", &Group::send},
    {"getMessage", "MESSAGE REQUEST FROM ", &Group::get},
    // Live delivery (ours); the reference prints nothing for these.
    {"follow", "", &Group::follow},
    {"unfollow", "", &Group::unfollow},
    // Ours: a member's own public id. No stdout line: it changes nothing.
    {"whoami", "", &Group::whoami},
};

const std::string& PublicIdCache::of(const std::string& identity) {
  ++clock_;
  Entry* oldest = nullptr;
  for (Entry& e : entries_) {
    if (e.identity == identity) {
      e.used = clock_;
      return e.id;
    }
    if (!oldest || e.used < oldest->used) oldest = &e;
  }
  if (entries_.size() < kEntries) {
    entries_.emplace_back();
    oldest = &entries_.back();
  }
  oldest->identity = identity;
  oldest->used = clock_;
  public_id_into(oldest->id, secret_, identity);
  return oldest->id;
}

Group::Group(GroupStore& store, GroupConfig config)
    : store_(store), config_(config), ids_(store.group_secret()) {
  page_ids_.reserve(64);
}

void Group::handle_body(std::string_view body, int64_t now_us, GroupOutcome& out,
                        std::string_view acting_key) {
  out.clear();
  if (batch_error_) {
    // The batch has failed; its reply is settled by end_batch().
    out.reached_store = true;
    return;
  }
  if (auto s = decode_group_request(body, decoded_); !s) {
    encode_failed(out.reply, s.message());
    return;
  }
  if (!acting_key.empty()) decoded_.user_uuid.assign(acting_key);
  handle(decoded_, now_us, out);
}

void Group::handle(const GroupRequest& req, int64_t now_us, GroupOutcome& out) {
  out.clear();
  for (const auto& cmd : kCommands) {
    if (cmd.action == req.action) {
      out.reached_store = true;
      if (!cmd.print_prefix.empty()) {
        out.stdout_line.assign(cmd.print_prefix);
        append_visible(out.stdout_line, req.user_uuid);  // a peer's bytes: no forged lines
      }
      (this->*cmd.handler)(req, now_us, out);
      return;
    }
  }
  std::string shown = req.action.substr(0, 64);
  encode_failed(out.reply,
                fmt::format("unknown action '{}'; use joinGroup, leaveGroup, sendMessage, "
                            "getMessage, follow, unfollow or whoami",
                            shown));
}

void Group::refuse(std::string_view error, GroupOutcome& out) {
  out.clear();
  encode_failed(out.reply, error);
}

namespace {
void encode_storage_failure(std::string& out, std::string_view error) {
  encode_failed(out, "storage error, nothing was stored: " + std::string(error));
}
}  // namespace

void Group::fail_store(GroupOutcome& out, const std::string& error) {
  out.store_failed = true;
  out.events.clear();
  encode_storage_failure(out.reply, error);
  if (in_batch_ && !batch_error_) batch_error_ = error;
}

void Group::begin_batch(bool followed) {
  in_batch_ = true;
  followed_ = followed;
  batch_error_.reset();
  if (auto s = store_.begin_batch(); !s) batch_error_ = s.message();
}

Status Group::end_batch(std::span<GroupOutcome> outcomes) {
  in_batch_ = false;
  // Nothing is acknowledged into storage that is no longer the one opened
  // (its file deleted, replaced or truncated): the fault names what happened.
  if (auto s = store_.check_intact(); !s) batch_error_ = s.message();
  if (!batch_error_) {
    if (auto s = store_.commit_batch(); !s) batch_error_ = s.message();
  } else {
    store_.rollback_batch();
  }
  if (!batch_error_) return Status::ok();
  std::string reply;
  encode_storage_failure(reply, *batch_error_);
  for (GroupOutcome& out : outcomes) {
    if (!out.reached_store) continue;
    out.reply = reply;
    out.events.clear();
  }
  Status failed = Status::error(std::move(*batch_error_));
  batch_error_.reset();
  return failed;
}

namespace {
constexpr std::string_view kNotListed =
    "your key is not in this group's members file; ask the group's operator to add it";
}

bool Group::require_member(const GroupRequest& req, GroupOutcome& out, std::string* name) {
  if (!may_be_member(req.user_uuid)) {
    encode_failed(out.reply, fmt::format("not a member of this group: {}", kNotListed));
    return false;
  }
  auto member = store_.find_member(req.user_uuid);
  if (!member) {
    fail_store(out, member.error());
    return false;
  }
  if (!member->has_value()) {
    encode_failed(out.reply, "not a member of this group; join first");
    return false;
  }
  if (name) *name = std::move(**member);
  return true;
}

void Group::join(const GroupRequest& req, int64_t, GroupOutcome& out) {
  if (!may_be_member(req.user_uuid)) return encode_failed(out.reply, kNotListed);
  if (auto s = store_.add_member(req.user_uuid, req.name); !s) return fail_store(out, s.message());
  encode_join_success(out.reply, ids_.of(req.user_uuid));
  out.events.push_back({GroupEvent::Kind::member_joined, req.user_uuid, {}, {}});
}

void Group::leave(const GroupRequest& req, int64_t, GroupOutcome& out) {
  auto removed = store_.remove_member(req.user_uuid);
  if (!removed) return fail_store(out, removed.error());
  if (!*removed) return encode_failed(out.reply, "not a member of this group; nothing to leave");
  encode_success(out.reply);
  out.events.push_back({GroupEvent::Kind::member_left, req.user_uuid, {}, {}});
}

void Group::send(const GroupRequest& req, int64_t now_us, GroupOutcome& out) {
  if (!req.message) return encode_failed(out.reply, "missing field 'message'");
  if (req.message->size() > config_.max_message_bytes)
    return encode_failed(out.reply, fmt::format("message of {} bytes is over the limit of {} bytes",
                                                req.message->size(), config_.max_message_bytes));
  std::string member_name;
  if (!require_member(req, out, &member_name)) return;

  if (!req.client_msg_id.empty()) {
    // A retried send (Lazy Pirate on the client) must not store twice.
    auto found = store_.find_by_client_msg_id(req.user_uuid, req.client_msg_id);
    if (!found) return fail_store(out, found.error());
    if (found->has_value()) {
      const StoredMessage& m = **found;
      return encode_send_success(out.reply, m.seq, m.time_us);
    }
  }

  // With nobody following, the message is built in a buffer kept from send to
  // send (no allocation) and makes no event.
  const bool event = followed_;
  GroupEvent ev;
  StoredMessage& msg = event ? ev.message : scratch_;
  msg.user_uuid.assign(req.user_uuid);
  msg.name.assign(req.name.empty() ? member_name : req.name);
  msg.text.assign(*req.message);
  // The wall clock may step back; stored time never does, so time order is seq order.
  msg.time_us = std::max(now_us, store_.last_time_us());
  msg.client_msg_id.assign(req.client_msg_id);
  auto seq = store_.append(msg);
  if (!seq) return fail_store(out, seq.error());
  msg.seq = *seq;
  encode_send_success(out.reply, msg.seq, msg.time_us);
  if (!event) return;
  ev.kind = GroupEvent::Kind::message_stored;
  ev.user_uuid = req.user_uuid;
  ev.public_id = ids_.of(req.user_uuid);
  out.events.push_back(std::move(ev));
}

void Group::get(const GroupRequest& req, int64_t now_us, GroupOutcome& out) {
  if (!require_member(req, out)) return;
  uint64_t after = req.since_seq.value_or(0);
  // since_time (ours, an exact instant) is preferred: the same request's
  // timestamp then carries a whole-second local form for a reference group.
  std::optional<Result<int64_t>> since;
  if (req.since_time && !req.since_time->empty())
    since = parse_instant(*req.since_time);
  else if (req.timestamp && !req.timestamp->empty())
    since = parse_since(*req.timestamp, now_us);
  if (since) {
    if (!*since) return encode_failed(out.reply, since->error());
    auto first = store_.first_seq_at_or_after(**since);
    if (!first) return fail_store(out, first.error());
    // Both filters hold: seq > after AND seq >= first.
    if (*first > 0) after = std::max(after, *first - 1);
  }
  if (req.last && req.limit) return encode_failed(out.reply, "give 'last' or 'limit', not both");
  // A request that names no page (the reference's: no last, limit or
  // since_seq) gets the newest messages, never the oldest page of a long history.
  const bool newest = req.last || (!req.limit && !req.since_seq);
  if (newest) {
    if (auto s = store_.read_newest(after, req.last.value_or(kDefaultGetLimit), page_,
                                    config_.max_reply_bytes);
        !s)
      return fail_store(out, s.message());
  } else if (auto s = store_.read_after_seq(after, req.limit.value_or(kDefaultGetLimit), page_,
                                            config_.max_reply_bytes);
             !s) {
    return fail_store(out, s.message());
  }
  // Members see each other by public id, never by the stored identity.
  page_ids_.resize(page_.messages.size());
  for (size_t i = 0; i < page_.messages.size(); ++i)
    page_ids_[i] = ids_.of(page_.messages[i].user_uuid);
  encode_messages(out.reply, page_, page_ids_, store_.last_seq(), store_.history_id());
  // Escaping can make the text longer than the store measured it: halve the
  // page, keeping its oldest half (the next page starts after it) or, for the
  // newest messages, its newest half.
  while (out.reply.size() > config_.max_reply_bytes && page_.messages.size() > 1) {
    const size_t keep = (page_.messages.size() + 1) / 2;
    if (newest) {
      const auto drop = static_cast<std::ptrdiff_t>(page_.messages.size() - keep);
      page_.messages.erase(page_.messages.begin(), page_.messages.begin() + drop);
      page_ids_.erase(page_ids_.begin(), page_ids_.begin() + drop);
    } else {
      page_.messages.resize(keep);
      page_.more = true;
    }
    encode_messages(out.reply, page_, page_ids_, store_.last_seq(), store_.history_id());
  }
}

void Group::follow(const GroupRequest& req, int64_t, GroupOutcome& out) {
  if (!require_member(req, out)) return;
  encode_follow_success(out.reply, store_.last_seq(), store_.history_id(), ids_.of(req.user_uuid));
  followed_ = true;
  out.events.push_back({GroupEvent::Kind::follow_requested, req.user_uuid, {}, {}});
}

void Group::unfollow(const GroupRequest& req, int64_t, GroupOutcome& out) {
  encode_success(out.reply);
  out.events.push_back({GroupEvent::Kind::unfollow_requested, req.user_uuid, {}, {}});
}

void Group::whoami(const GroupRequest& req, int64_t, GroupOutcome& out) {
  auto member = store_.find_member(req.user_uuid);
  if (!member) return fail_store(out, member.error());
  encode_whoami(out.reply, ids_.of(req.user_uuid), member->has_value());
}

}  // namespace gc
