#pragma once
// GroupStore: where a group keeps its messages and members.
//
// Contract (every implementation):
// - Sequence numbers are per group, start at 1 and increase by one per
//   appended message: contiguous. A committed seq is never reused, even
//   across restarts; the seqs of a batch rolled back are given again.
// - Writes between begin_batch() and commit_batch() become durable together
//   at commit_batch(): after it returns ok, they survive a crash of the
//   process. Group answers SUCCESS only after the commit.
//   Outside a batch each write commits on its own.
// - A failed commit loses the whole batch (Group then answers FAILED to every
//   request of it), and last_seq()/last_time_us() are rolled back to the
//   committed values. rollback_batch() does the same on purpose.
// - Reads see the writes of the current batch.
// - Reads never load the whole history: each read returns at most `limit`
//   messages, found by index.
// - A (user_uuid, client_msg_id) pair with a non-empty client_msg_id is
//   stored at most once; find_by_client_msg_id() finds it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "protocol/message.hpp"

namespace gc {

class GroupStore {
 public:
  virtual ~GroupStore() = default;

  virtual Status begin_batch() = 0;
  virtual Status commit_batch() = 0;
  virtual void rollback_batch() = 0;

  // Appends a message; assigns and returns its seq (msg.seq is ignored).
  virtual Result<uint64_t> append(const StoredMessage& msg) = 0;
  // Messages with seq > after_seq, oldest first, at most limit (fills `page`,
  // reusing its buffers).
  virtual Status read_after_seq(uint64_t after_seq, size_t limit, MessagePage& page) = 0;
  // The seq of the first message with time_us >= since_us; last_seq() + 1
  // when there is none. Because time is non-decreasing with seq, "messages at
  // or after T" are exactly the messages with seq >= this.
  virtual Result<uint64_t> first_seq_at_or_after(int64_t since_us) = 0;
  // The message a sender stored under client_msg_id, if any.
  virtual Result<std::optional<StoredMessage>> find_by_client_msg_id(
      const std::string& user_uuid, const std::string& client_msg_id) = 0;
  // The highest seq stored (0 when empty).
  virtual uint64_t last_seq() const = 0;
  // The time of the newest message (0 when empty).
  virtual int64_t last_time_us() const = 0;

  // Members. add is idempotent (a new non-empty name replaces the old one);
  // remove returns false for a non-member. find_member returns the member's
  // display name (empty when none) or nullopt for a non-member.
  virtual Status add_member(const std::string& user_uuid, const std::string& name) = 0;
  virtual Result<bool> remove_member(const std::string& user_uuid) = 0;
  virtual Result<std::optional<std::string>> find_member(const std::string& user_uuid) = 0;
  virtual Result<size_t> member_count() = 0;
};

}  // namespace gc
