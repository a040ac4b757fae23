#pragma once
// Group: the group server's protocol state machine, sans IO. It takes one
// decoded request and the current time, works on a GroupStore, and says what
// to answer, what to print and what happened (events). The server loop moves
// the frames, owns the store transaction, and acts on the events only after
// the batch is committed (live push will hang off them).
//
// Actions are dispatched through one table (action name → handler), the way
// Redis maps commands: adding an action is one row and one function.
#include <cstdint>
#include <string>
#include <vector>

#include "groupchat/group_protocol.hpp"
#include "groupchat/group_store.hpp"

namespace gc {

struct GroupConfig {
  size_t max_message_bytes = 65536;
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
  StoredMessage message;  // for message_stored
};

// What one request produced. Buffers are reused across requests.
struct GroupOutcome {
  std::string reply;        // the reply body (always set)
  std::string stdout_line;  // the reference's print line, without newline; empty for none
  bool handled = false;     // an action's handler ran (it may have read or written the store)
  std::vector<GroupEvent> events;
  // The store failed: the batch must be rolled back and every request in it
  // answered FAILED (reply already holds this request's FAILED).
  bool store_failed = false;
  std::string store_error;

  void clear();
};

class Group {
 public:
  Group(GroupStore& store, GroupConfig config = {});

  // Handles one decoded request at time now_us (epoch µs). Never throws for
  // bad input: every refusal becomes a FAILED reply.
  void handle(const GroupRequest& req, int64_t now_us, GroupOutcome& out);

  // Decodes the body and handles it; decoding errors become FAILED replies.
  void handle_body(std::string_view body, int64_t now_us, GroupOutcome& out);

  GroupStore& store() { return store_; }
  const GroupConfig& config() const { return config_; }

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

  // Looks the sender up; on a store error or a non-member fills `out` with
  // FAILED and returns false.
  bool require_member(const GroupRequest& req, GroupOutcome& out, std::string* name = nullptr);
  void fail_store(GroupOutcome& out, const std::string& error);

  GroupStore& store_;
  GroupConfig config_;
  GroupRequest decoded_;  // reused by handle_body
  MessagePage page_;      // reused by get
};

}  // namespace gc
