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
// - Every history has an id, made at random when the history is created and
//   kept with it: a history that was lost and begun again (seq back at 1) has
//   another id, so a follower that resumes by seq can tell.
// - Every group has a secret (32 random bytes, core/public_id.hpp), made when
//   its storage is created and kept with it for as long as it lives: the
//   public ids members see are keyed with it, so they stay the same across
//   restarts.
// - A fault that makes the storage untrustworthy (its file deleted, replaced
//   or truncated under the process, the disk returning I/O errors, a failed
//   sync) is permanent: fault() names it, and from then on every batch fails
//   with it. The owner stops serving.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/public_id.hpp"
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
  // Messages with seq > after_seq, oldest first, at most limit and, past the
  // first, at most max_bytes of page_bytes() in all (fills `page`, reusing
  // its buffers; `more` is set when either stopped it).
  virtual Status read_after_seq(uint64_t after_seq, size_t limit, MessagePage& page,
                                size_t max_bytes = SIZE_MAX) = 0;
  // The newest messages with seq > after_seq, at most limit and, past the
  // newest, at most max_bytes of page_bytes() in all; returned oldest first
  // (fills `page`; `more` is false: nothing newer matched). What the caps
  // leave out is older than what is returned.
  virtual Status read_newest(uint64_t after_seq, size_t limit, MessagePage& page,
                             size_t max_bytes = SIZE_MAX) = 0;
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
  // The id of this history: 32 lower-case hex digits (128 random bits).
  virtual const std::string& history_id() const = 0;
  // The group's secret, the key of its members' public ids.
  virtual const GroupSecret& group_secret() const = 0;

  // Checks that the storage is still the one opened; an error is a fault
  // (see above). Cheap enough to run once per batch, before it is answered.
  virtual Status check_intact() { return Status::ok(); }
  // The permanent fault, empty while there is none.
  virtual const std::string& fault() const {
    static const std::string kNone;
    return kNone;
  }
  // Bounded loss on power cut: true when commits since the last sync() are
  // safe from a crash of the process but not yet from a power loss.
  virtual bool needs_sync() const { return false; }
  // Makes every committed write safe from a power loss. A failure is a fault.
  virtual Status sync() { return Status::ok(); }

  // Members. add is idempotent (a new non-empty name replaces the old one);
  // remove returns false for a non-member. find_member returns the member's
  // display name (empty when none) or nullopt for a non-member.
  virtual Status add_member(const std::string& user_uuid, const std::string& name) = 0;
  virtual Result<bool> remove_member(const std::string& user_uuid) = 0;
  virtual Result<std::optional<std::string>> find_member(const std::string& user_uuid) = 0;
  virtual Result<size_t> member_count() = 0;
};

}  // namespace gc
