#pragma once
// MemoryStore: a GroupStore kept in RAM, for unit tests and `--store memory`.
// Nothing survives the process. Batches are honoured (rollback restores the
// state at begin_batch) so the server loop behaves the same on either store.
#include <map>
#include <unordered_map>

#include "store/group_store.hpp"
#include "store/history_id.hpp"

namespace gc {

class MemoryStore final : public GroupStore {
 public:
  Status begin_batch() override;
  Status commit_batch() override;
  void rollback_batch() override;

  Result<uint64_t> append(const StoredMessage& msg) override;
  Status read_after_seq(uint64_t after_seq, size_t limit, MessagePage& page,
                        size_t max_bytes = SIZE_MAX) override;
  Status read_newest(uint64_t after_seq, size_t limit, MessagePage& page,
                     size_t max_bytes = SIZE_MAX) override;
  Result<uint64_t> first_seq_at_or_after(int64_t since_us) override;
  Result<std::optional<StoredMessage>> find_by_client_msg_id(
      const std::string& user_uuid, const std::string& client_msg_id) override;
  uint64_t last_seq() const override { return messages_.size(); }
  int64_t last_time_us() const override { return messages_.empty() ? 0 : messages_.back().time_us; }
  // A new history per instance: nothing survives the process.
  const std::string& history_id() const override { return history_id_; }
  // A new secret per instance, likewise.
  const GroupSecret& group_secret() const override { return secret_; }

  Status add_member(const std::string& user_uuid, const std::string& name) override;
  Result<bool> remove_member(const std::string& user_uuid) override;
  Result<std::optional<std::string>> find_member(const std::string& user_uuid) override;
  Result<size_t> member_count() override { return members_.size(); }

 private:
  struct Snapshot {
    size_t message_count = 0;
    std::map<std::string, std::string> members;
  };

  std::string history_id_ = new_history_id();
  GroupSecret secret_ = new_group_secret();
  std::vector<StoredMessage> messages_;  // messages_[i].seq == i + 1
  std::map<std::string, std::string> members_;
  std::map<std::pair<std::string, std::string>, uint64_t> by_client_id_;
  std::optional<Snapshot> batch_;
};

}  // namespace gc
