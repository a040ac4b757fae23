#pragma once
// Subscriptions: the group server's table of live follows, sans IO. (The
// client's side of a follow is client/follower.hpp.)
//
// A subscription belongs to one connection (its routing envelope) and one
// user. It lasts expiry_ms after its last renewal (group_server
// --follow-expiry-ms); a user's subscriptions end at once when the user
// leaves. The server loop asks whom to push to and reports the connections
// that turned out to be gone.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace gc {

struct Subscription {
  std::vector<std::string> envelope;  // the routing frames to push with
  std::string user_uuid;
  int64_t expires_ms = 0;
};

class Subscriptions {
 public:
  explicit Subscriptions(int64_t expiry_ms) : expiry_ms_(expiry_ms) {}

  // Adds or renews the subscription of the connection whose envelope this is.
  void follow(std::vector<std::string> envelope, const std::string& user_uuid, int64_t now_ms);
  // Ends the subscription of one connection; false if there was none.
  bool unfollow(const std::vector<std::string>& envelope);
  // Ends every subscription of a user (the user left). Returns how many ended.
  size_t drop_user(const std::string& user_uuid);
  // Ends the subscriptions not renewed in time. Returns how many ended.
  size_t expire(int64_t now_ms);

  size_t size() const { return by_connection_.size(); }
  // Subscriptions by connection key (net/router.hpp's envelope_key); iterate to push.
  const std::unordered_map<std::string, Subscription>& all() const { return by_connection_; }
  // Removes a connection found to be gone while pushing.
  void remove(const std::string& key) { by_connection_.erase(key); }

 private:
  int64_t expiry_ms_;
  std::unordered_map<std::string, Subscription> by_connection_;
};

}  // namespace gc
