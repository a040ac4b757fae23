#pragma once
// Group: the group server's protocol state machine, sans IO. It takes one
// request and the current time, works on a GroupStore, and says what to
// answer, what to print and what happened (events). Requests come in batches,
// one store transaction each; what a failed batch means is decided here too.
// The server loop moves the frames and acts on the events only after the
// batch is committed (live push hangs off them).
//
// Actions are dispatched through one table (action name → handler), the way
// Redis maps commands: adding an action is one row and one function.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/result.hpp"
#include "protocol/group_protocol.hpp"
#include "store/group_store.hpp"

namespace gc {

struct GroupConfig {
  size_t max_message_bytes = kDefaultMaxMessageBytes;
  // A getMessage reply stops before passing this many bytes (one message
  // always goes out) and says "more": the client pages on.
  size_t max_reply_bytes = kDefaultMaxReplyBytes;
};

struct GroupEvent {
  enum class Kind {
    message_stored,
    member_joined,
    member_left,
    follow_requested,
    unfollow_requested
  };
  Kind kind = Kind::message_stored;
  std::string user_uuid;
  StoredMessage message;  // for message_stored (the stored identity in message.user_uuid)
  std::string public_id;  // for message_stored: the sender's public id, what a push names
};

// The public ids (core/public_id.hpp) of the few members who sent or asked
// last: a page of messages or a burst of sends mostly names the same few
// senders, and each id is a keyed hash. Bounded: the least recently used
// entry makes room.
class PublicIdCache {
 public:
  explicit PublicIdCache(const GroupSecret& secret) : secret_(secret) {
    entries_.reserve(kEntries);
  }
  // The public id of `identity`; valid until the next call.
  const std::string& of(const std::string& identity);

  static constexpr size_t kEntries = 64;

 private:
  struct Entry {
    std::string identity;
    std::string id;
    uint64_t used = 0;  // 0: empty
  };
  GroupSecret secret_;
  std::vector<Entry> entries_;
  uint64_t clock_ = 0;
};

// What one request produced. Buffers are reused across requests.
struct GroupOutcome {
  std::string reply;           // the reply body (always set)
  std::string stdout_line;     // the reference's print line, without newline; empty for none
  bool reached_store = false;  // an action ran, or would have: its reply depends on the batch
  std::vector<GroupEvent> events;
  bool store_failed = false;  // this request's own store access failed

  void clear();
};

class Group {
 public:
  Group(GroupStore& store, GroupConfig config = {});

  // Handles one decoded request at time now_us (epoch µs). Never throws for
  // bad input: every refusal becomes a FAILED reply.
  void handle(const GroupRequest& req, int64_t now_us, GroupOutcome& out);
  // Decodes the body and handles it; decoding errors become FAILED replies.
  // acting_key (curve mode): the key the request came with; it acts as that
  // key whatever user_uuid it claims. Empty: as its user_uuid (open mode).
  void handle_body(std::string_view body, int64_t now_us, GroupOutcome& out,
                   std::string_view acting_key = {});
  // A members file's keys (curve mode): only they may join, and a member
  // not among them is refused as a non-member. nullopt: anyone may join.
  void set_allowed(std::optional<std::unordered_set<std::string>> allowed) {
    allowed_ = std::move(allowed);
  }
  bool may_be_member(const std::string& identity) const {
    return !allowed_ || allowed_->contains(identity);
  }
  // A request refused before decoding (bad framing, too large): FAILED with `error`.
  void refuse(std::string_view error, GroupOutcome& out);

  // A batch is the requests the server drained at once, in one store
  // transaction: begin_batch(), handle them, end_batch() with their outcomes.
  // If any store access or the commit fails, nothing of the batch is kept and
  // every request that reached the store is answered FAILED with
  // "storage error, nothing was stored: <reason>" and loses its events;
  // requests after the failure are not run. Outside a batch each write
  // commits on its own. Before the commit, the store checks that its storage
  // is intact (GroupStore::check_intact): a batch is never acknowledged into
  // a lost file.
  // `followed`: whether anyone follows the group; when nobody does (and no
  // follow comes in the batch), a stored message makes no message_stored
  // event, as it would reach no one.
  void begin_batch(bool followed = true);
  // Commits (or rolls back) the batch and settles its outcomes as above.
  // Returns the store's error, for the log, when the batch failed.
  Status end_batch(std::span<GroupOutcome> outcomes);

 private:
  using Handler = void (Group::*)(const GroupRequest&, int64_t, GroupOutcome&);
  struct Command {
    std::string_view action;
    std::string_view print_prefix;  // the reference's stdout line, before the uuid; empty: none
    Handler handler;
  };
  static const Command kCommands[];

  void join(const GroupRequest& req, int64_t now_us, GroupOutcome& out);
  void leave(const GroupRequest& req, int64_t now_us, GroupOutcome& out);
  void send(const GroupRequest& req, int64_t now_us, GroupOutcome& out);
  void get(const GroupRequest& req, int64_t now_us, GroupOutcome& out);
  void follow(const GroupRequest& req, int64_t now_us, GroupOutcome& out);
  void unfollow(const GroupRequest& req, int64_t now_us, GroupOutcome& out);
  void whoami(const GroupRequest& req, int64_t now_us, GroupOutcome& out);

  // Looks the sender up; on a store error or a non-member fills `out` with
  // FAILED and returns false.
  bool require_member(const GroupRequest& req, GroupOutcome& out, std::string* name = nullptr);
  void fail_store(GroupOutcome& out, const std::string& error);

  GroupStore& store_;
  GroupConfig config_;
  bool in_batch_ = false;
  bool followed_ = true;   // whether message_stored events are wanted (begin_batch)
  StoredMessage scratch_;  // a stored message that makes no event
  std::optional<std::string> batch_error_;  // the first store failure of the open batch
  std::optional<std::unordered_set<std::string>> allowed_;
  GroupRequest decoded_;  // reused by handle_body
  MessagePage page_;      // reused by get
  PublicIdCache ids_;
  std::vector<std::string> page_ids_;  // reused by get: the public id of each page_ message
};

}  // namespace gc
