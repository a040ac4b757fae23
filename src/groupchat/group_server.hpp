#pragma once
// GroupServer: the group's event loop. One ROUTER socket, one thread, no
// shared state: poll, drain up to kMaxBatch ready requests, handle each
// through Group inside one store transaction, commit, and only then send the
// replies and print the stdout lines (one flush per batch). A SUCCESS thus
// always means "stored". Heartbeats to the registry ride the same loop.
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "groupchat/endpoint.hpp"
#include "groupchat/followers.hpp"
#include "groupchat/group.hpp"
#include "groupchat/registry_link.hpp"
#include "groupchat/result.hpp"
#include "groupchat/router_envelope.hpp"

namespace gc {

struct GroupServerOptions {
  std::string name;
  Endpoint endpoint;  // where to bind (and what to register)
  std::string registry = "localhost:5555";
  size_t max_message_bytes = 65536;  // longest message text
  bool quiet = false;                // no per-request stdout lines
  int64_t follow_expiry_ms = 5000;   // a follow not renewed for this long ends
};

// Requests beyond the message limit by more than this are refused unread.
inline constexpr size_t kRequestOverheadBytes = 64 * 1024;
// A frame above this drops the connection (ZMQ_MAXMSGSIZE).
inline constexpr int64_t kMaxFrameBytes = 16 * 1024 * 1024;
inline constexpr size_t kMaxBatch = 256;
// Replies held back because their peer's queue was full (a client pipelining
// more requests than the high-water mark without reading). Past this many,
// further replies to such clients are dropped to bound memory, with a warning.
inline constexpr size_t kMaxHeldReplies = 100000;

class GroupServer {
 public:
  GroupServer(zmq::context_t& ctx, GroupStore& store, GroupServerOptions options);
  ~GroupServer();

  // Binds the ROUTER. Error: "cannot bind tcp://IP:PORT: Address already in use".
  Status bind();
  // Registers with the registry (blocking, ~5 s at most).
  Status register_group(int stop_fd);
  // Serves until stop_fd becomes readable, then unregisters. Returns the exit code.
  int run(int stop_fd);

 private:
  struct Pending {
    RoutedRequest request;
    GroupOutcome outcome;
    bool reached_store = false;
  };
  int64_t sweep_interval_ms() const;
  void serve_batch();
  // After the replies: acts on the batch's events in request order (new
  // follows, pushes of stored messages, follows ended by leave/unfollow).
  void deliver_events(size_t n);
  void push(const StoredMessage& msg);
  // Sends a reply, or holds it when its peer's queue is full: a reply is only
  // ever lost when its peer has gone. Held replies keep their order per peer.
  void reply(const std::vector<zmq::message_t>& envelope, std::string_view body);
  // Sends what was held, peer by peer, as far as each queue allows.
  void flush_held();

  zmq::context_t& ctx_;
  GroupStore& store_;
  GroupServerOptions options_;
  Group group_;
  zmq::socket_t router_;
  std::unique_ptr<RegistryLink> link_;
  std::vector<Pending> pending_;
  std::string stdout_buf_;
  Followers followers_;
  int64_t next_follow_sweep_ms_ = 0;
  std::string push_buf_;
  std::vector<std::string> gone_;  // follow keys found gone while pushing
  struct HeldReply {
    std::vector<std::string> envelope;
    std::string body;
  };
  std::unordered_map<std::string, std::deque<HeldReply>> held_;  // by Followers::key_of
  size_t held_count_ = 0;
};

}  // namespace gc
