#include "groupchat/followers.hpp"

#include <algorithm>

#include "groupchat/group_protocol.hpp"

namespace gc {

void encode_push(std::string& out, const StoredMessage& msg) {
  // The message object as getMessage returns it, with the event tag in front.
  out.assign(R"({"event":"message",)");
  size_t at = out.size();
  append_message_object(out, msg);
  out.erase(at, 1);  // the object's own '{'
}

std::string Followers::key_of(const std::vector<std::string>& envelope) {
  std::string key;
  for (const auto& frame : envelope) {
    // Length-prefixed so that different framings can never collide.
    key += std::to_string(frame.size());
    key += ':';
    key += frame;
  }
  return key;
}

void Followers::follow(std::vector<std::string> envelope, const std::string& user_uuid,
                       int64_t now_ms) {
  std::string key = key_of(envelope);
  Follow& f = follows_[key];
  f.envelope = std::move(envelope);
  f.user_uuid = user_uuid;
  f.expires_ms = now_ms + expiry_ms_;
}

bool Followers::unfollow(const std::vector<std::string>& envelope) {
  return follows_.erase(key_of(envelope)) > 0;
}

size_t Followers::drop_user(const std::string& user_uuid) {
  return std::erase_if(follows_, [&](const auto& kv) { return kv.second.user_uuid == user_uuid; });
}

size_t Followers::expire(int64_t now_ms) {
  return std::erase_if(follows_, [&](const auto& kv) { return kv.second.expires_ms <= now_ms; });
}

int64_t Followers::next_expiry_ms() const {
  int64_t next = -1;
  for (const auto& [key, f] : follows_)
    if (next < 0 || f.expires_ms < next) next = f.expires_ms;
  return next;
}

}  // namespace gc
