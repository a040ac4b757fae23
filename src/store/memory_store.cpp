#include "store/memory_store.hpp"

#include <algorithm>

namespace gc {

Status MemoryStore::begin_batch() {
  if (batch_) return Status::error("a batch is already open");
  // Copying members is fine for tests and small groups; messages only grow,
  // so their count is enough to roll back.
  batch_ = Snapshot{messages_.size(), members_};
  return Status::ok();
}

Status MemoryStore::commit_batch() {
  batch_.reset();
  return Status::ok();
}

void MemoryStore::rollback_batch() {
  if (!batch_) return;
  while (messages_.size() > batch_->message_count) {
    const auto& m = messages_.back();
    if (!m.client_msg_id.empty()) by_client_id_.erase({m.user_uuid, m.client_msg_id});
    messages_.pop_back();
  }
  members_ = std::move(batch_->members);
  batch_.reset();
}

Result<uint64_t> MemoryStore::append(const StoredMessage& msg) {
  if (!msg.client_msg_id.empty() && by_client_id_.count({msg.user_uuid, msg.client_msg_id}) != 0)
    return Result<uint64_t>::error("duplicate client_msg_id");
  StoredMessage stored = msg;
  stored.seq = messages_.size() + 1;
  if (!stored.client_msg_id.empty())
    by_client_id_[{stored.user_uuid, stored.client_msg_id}] = stored.seq;
  messages_.push_back(std::move(stored));
  return messages_.back().seq;
}

Status MemoryStore::read_after_seq(uint64_t after_seq, size_t limit, MessagePage& page,
                                   size_t max_bytes) {
  page.messages.clear();
  page.more = false;
  size_t bytes = 0;
  for (uint64_t i = after_seq; i < messages_.size(); ++i) {
    bytes += page_bytes(messages_[i]);
    if (page.messages.size() == limit || (!page.messages.empty() && bytes > max_bytes)) {
      page.more = true;
      break;
    }
    page.messages.push_back(messages_[i]);
  }
  return Status::ok();
}

Status MemoryStore::read_newest(uint64_t after_seq, size_t limit, MessagePage& page,
                                size_t max_bytes) {
  page.messages.clear();
  page.more = false;
  size_t bytes = 0;
  for (uint64_t i = messages_.size(); i > after_seq && page.messages.size() < limit; --i) {
    bytes += page_bytes(messages_[i - 1]);
    if (!page.messages.empty() && bytes > max_bytes) break;
    page.messages.push_back(messages_[i - 1]);
  }
  std::reverse(page.messages.begin(), page.messages.end());
  return Status::ok();
}

Result<uint64_t> MemoryStore::first_seq_at_or_after(int64_t since_us) {
  auto it = std::lower_bound(messages_.begin(), messages_.end(), since_us,
                             [](const StoredMessage& m, int64_t t) { return m.time_us < t; });
  return static_cast<uint64_t>(it - messages_.begin()) + 1;
}

Result<std::optional<StoredMessage>> MemoryStore::find_by_client_msg_id(
    const std::string& user_uuid, const std::string& client_msg_id) {
  auto it = by_client_id_.find({user_uuid, client_msg_id});
  if (it == by_client_id_.end()) return std::optional<StoredMessage>{};
  return std::optional<StoredMessage>{messages_[it->second - 1]};
}

Status MemoryStore::add_member(const std::string& user_uuid, const std::string& name) {
  auto [it, inserted] = members_.try_emplace(user_uuid, name);
  if (!inserted && !name.empty()) it->second = name;
  return Status::ok();
}

Result<bool> MemoryStore::remove_member(const std::string& user_uuid) {
  return members_.erase(user_uuid) == 1;
}

Result<std::optional<std::string>> MemoryStore::find_member(const std::string& user_uuid) {
  auto it = members_.find(user_uuid);
  if (it == members_.end()) return std::optional<std::string>{};
  return std::optional<std::string>{it->second};
}

}  // namespace gc
