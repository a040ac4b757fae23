#include "group/subscriptions.hpp"

#include <algorithm>

#include "net/router.hpp"

namespace gc {

void Subscriptions::follow(std::vector<std::string> envelope, const std::string& user_uuid,
                           int64_t now_ms) {
  Subscription& s = by_connection_[envelope_key(envelope)];
  s.envelope = std::move(envelope);
  s.user_uuid = user_uuid;
  s.expires_ms = now_ms + expiry_ms_;
}

bool Subscriptions::unfollow(const std::vector<std::string>& envelope) {
  return by_connection_.erase(envelope_key(envelope)) > 0;
}

size_t Subscriptions::drop_user(const std::string& user_uuid) {
  return std::erase_if(by_connection_,
                       [&](const auto& kv) { return kv.second.user_uuid == user_uuid; });
}

size_t Subscriptions::expire(int64_t now_ms) {
  return std::erase_if(by_connection_,
                       [&](const auto& kv) { return kv.second.expires_ms <= now_ms; });
}

}  // namespace gc
