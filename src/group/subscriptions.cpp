#include "group/subscriptions.hpp"

#include <algorithm>

namespace gc {

namespace {
std::string key_of(const std::string& routing_id, const std::string& user_uuid) {
  std::string key = std::to_string(routing_id.size());
  key += ':';
  key += routing_id;
  key += user_uuid;
  return key;
}

void count_down(std::unordered_map<std::string, size_t>& counts, const std::string& k) {
  auto it = counts.find(k);
  if (it != counts.end() && --it->second == 0) counts.erase(it);
}
}  // namespace

std::optional<std::string> Subscriptions::follow(std::vector<std::string> envelope,
                                                 const std::string& user_uuid,
                                                 const std::string& address,
                                                 std::shared_ptr<PeerAccount> account,
                                                 int64_t now_ms) {
  const std::string routing_id = envelope.empty() ? std::string() : envelope[0];
  const std::string key = key_of(routing_id, user_uuid);
  auto it = by_key_.find(key);
  if (it == by_key_.end()) {
    if (per_user_[user_uuid] >= limits_.per_user) {
      if (per_user_[user_uuid] == 0) per_user_.erase(user_uuid);
      return "too many follows for this user: at most " + std::to_string(limits_.per_user) +
             " connections at once";
    }
    if (per_address_[address] >= limits_.per_address) {
      if (per_address_[address] == 0) per_address_.erase(address);
      return "too many follows from this address: at most " + std::to_string(limits_.per_address) +
             " at once";
    }
    ++per_user_[user_uuid];
    ++per_address_[address];
    it = by_key_.emplace(key, Subscription{}).first;
    it->second.user_uuid = user_uuid;
    it->second.address = address;
  }
  Subscription& s = it->second;
  s.envelope = std::move(envelope);
  s.account = std::move(account);
  s.expires_ms = now_ms + expiry_ms_;
  return std::nullopt;
}

void Subscriptions::forget(const Subscription& s) {
  count_down(per_user_, s.user_uuid);
  count_down(per_address_, s.address);
}

template <typename Pred>
size_t Subscriptions::remove_if(Pred pred) {
  size_t n = 0;
  for (auto it = by_key_.begin(); it != by_key_.end();) {
    if (pred(it->second)) {
      forget(it->second);
      it = by_key_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

bool Subscriptions::unfollow(const std::string& routing_id) {
  return remove_if([&](const Subscription& s) {
           return !s.envelope.empty() && s.envelope[0] == routing_id;
         }) > 0;
}

size_t Subscriptions::drop_user(const std::string& user_uuid) {
  return remove_if([&](const Subscription& s) { return s.user_uuid == user_uuid; });
}

size_t Subscriptions::expire(int64_t now_ms) {
  return remove_if([&](const Subscription& s) { return s.expires_ms <= now_ms; });
}

void Subscriptions::remove(const std::string& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) return;
  forget(it->second);
  by_key_.erase(it);
}

}  // namespace gc
