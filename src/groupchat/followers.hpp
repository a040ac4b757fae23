#pragma once
// Followers: the group server's table of live subscriptions (follow), sans IO.
//
// A follow belongs to one connection (its routing envelope) and one user. It
// lasts expiry_ms after its last renewal; a user's follows end at once when
// the user leaves. The server loop asks who to push to and reports the
// connections that turned out to be gone.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "groupchat/group_store.hpp"

namespace gc {

// A pushed message: {"event":"message","seq":S,"user_uuid":U,"message":T,
// "timestamp":TS[,"name":N]}, written into out (cleared first).
void encode_push(std::string& out, const StoredMessage& msg);

struct Follow {
  std::vector<std::string> envelope;  // the routing frames to push with
  std::string user_uuid;
  int64_t expires_ms = 0;
};

class Followers {
 public:
  explicit Followers(int64_t expiry_ms = 5000) : expiry_ms_(expiry_ms) {}

  // Adds or renews the follow of the connection whose envelope this is.
  void follow(std::vector<std::string> envelope, const std::string& user_uuid, int64_t now_ms);
  // Ends the follow of one connection; false if there was none.
  bool unfollow(const std::vector<std::string>& envelope);
  // Ends every follow of a user (the user left). Returns how many ended.
  size_t drop_user(const std::string& user_uuid);
  // Ends the follows not renewed in time. Returns how many ended.
  size_t expire(int64_t now_ms);
  // The earliest expiry, or -1 when there are no follows.
  int64_t next_expiry_ms() const;

  size_t size() const { return follows_.size(); }
  // Follows by connection key; iterate to push.
  const std::unordered_map<std::string, Follow>& all() const { return follows_; }
  // Removes a connection found to be gone while pushing.
  void remove(const std::string& key) { follows_.erase(key); }

  // The key of a connection: its envelope frames joined.
  static std::string key_of(const std::vector<std::string>& envelope);

 private:
  int64_t expiry_ms_;
  std::unordered_map<std::string, Follow> follows_;
};

}  // namespace gc
