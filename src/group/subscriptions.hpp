#pragma once
// Subscriptions: the group server's table of live follows, sans IO. (The
// client's side of a follow is client/follower.hpp.)
//
// A subscription belongs to one connection (its routing id: the first
// envelope frame; the others are the peer's to choose, so they do not make
// another follow) and one user. It lasts expiry_ms after its last renewal
// (group_server --follow-expiry-ms); a user's subscriptions end at once when
// the user leaves. A user, and a source address, hold at most a set number
// of follows. The server loop asks whom to push to and reports the
// connections that turned out to be gone.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/peer_memory.hpp"

namespace gc {

struct FollowLimits {
  size_t per_user = 16;      // follows of one user at once (one per connection)
  size_t per_address = 256;  // follows from one source IP address at once
};

struct Subscription {
  std::vector<std::string> envelope;  // the routing frames to push with
  std::string user_uuid;
  std::string address;                   // the follower's IP address
  std::shared_ptr<PeerAccount> account;  // what its queue holds
  int64_t expires_ms = 0;
};

class Subscriptions {
 public:
  explicit Subscriptions(int64_t expiry_ms, FollowLimits limits = {})
      : expiry_ms_(expiry_ms), limits_(limits) {}

  // Adds or renews the follow of (connection, user). Returns the error to
  // answer with when a new follow is over a limit (a renewal never is).
  std::optional<std::string> follow(std::vector<std::string> envelope, const std::string& user_uuid,
                                    const std::string& address,
                                    std::shared_ptr<PeerAccount> account, int64_t now_ms);
  // Ends the follows of one connection; false if there was none.
  bool unfollow(const std::string& routing_id);
  // Ends every subscription of a user (the user left). Returns how many ended.
  size_t drop_user(const std::string& user_uuid);
  // Ends the subscriptions not renewed in time. Returns how many ended.
  size_t expire(int64_t now_ms);

  size_t size() const { return by_key_.size(); }
  // Subscriptions by key (routing id and user); iterate to push.
  const std::unordered_map<std::string, Subscription>& all() const { return by_key_; }
  // Removes a follow found to be gone while pushing.
  void remove(const std::string& key);

 private:
  void forget(const Subscription& s);
  template <typename Pred>
  size_t remove_if(Pred pred);

  int64_t expiry_ms_;
  FollowLimits limits_;
  std::unordered_map<std::string, Subscription> by_key_;
  std::unordered_map<std::string, size_t> per_user_, per_address_;
};

}  // namespace gc
