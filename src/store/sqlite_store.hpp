#pragma once
// SqliteStore: the default GroupStore, one SQLite file per group in WAL mode.
//
// Durability: a batch is one transaction. With synchronous=NORMAL (the
// default) a committed batch survives a crash of the process, and a power
// loss once the owner has called sync(), which it does about once a second
// while there are commits (at most about a second of acknowledged writes is
// lost on a power cut, never the file: open() makes the schema durable before
// it returns). With synchronous=FULL (`--sync full`) every commit survives a
// power loss, at the cost of an fsync per commit. Seq is the table's INTEGER
// PRIMARY KEY; rows are never deleted, so a seq is never reused, across
// restarts too.
//
// Faults: open() runs `PRAGMA quick_check` on an existing file and refuses a
// damaged one. While running, check_intact() compares the path's device and
// inode with those seen at open and its size with the largest seen, with one
// stat(2) and no descriptor of its own (closing any descriptor of the file
// would drop SQLite's POSIX locks).
//
// Memory stays bounded: reads go through the primary key with a LIMIT and
// only the newest seq/time are kept in RAM.
//
// The process holds the file's lock for its lifetime (locking_mode=EXCLUSIVE):
// a second process opening the same file is refused with SQLITE_BUSY.
#include <memory>
#include <string>
#include <unordered_map>

#include "store/group_store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace gc {

struct SqliteOptions {
  std::string path;        // the database file; its directory must exist
  bool sync_full = false;  // synchronous=FULL instead of NORMAL
  // For tests: caps the file at this many pages (0 = no cap), which makes
  // SQLite report "database or disk is full" as a real full disk would.
  long max_page_count = 0;
};

class SqliteStore final : public GroupStore {
 public:
  // Opens or creates the database. Errors say what is wrong with the file or
  // its directory (not writable, not a database, ...) and what to do.
  // vfs, for tests: the name of a registered SQLite VFS to open the file
  // with (empty: the default one).
  static Result<std::unique_ptr<SqliteStore>> open(const SqliteOptions& options,
                                                   const std::string& vfs = {});
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

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
  uint64_t last_seq() const override { return last_seq_; }
  int64_t last_time_us() const override { return last_time_us_; }
  const std::string& history_id() const override { return history_id_; }
  const GroupSecret& group_secret() const override { return secret_; }

  Status check_intact() override;
  const std::string& fault() const override { return fault_; }
  bool needs_sync() const override { return unsynced_; }
  Status sync() override;

  Status add_member(const std::string& user_uuid, const std::string& name) override;
  Result<bool> remove_member(const std::string& user_uuid) override;
  Result<std::optional<std::string>> find_member(const std::string& user_uuid) override;
  Result<size_t> member_count() override;

 private:
  struct Statements;
  explicit SqliteStore(std::string path);
  Status prepare_all();
  Status load_tail();
  Status load_history_id();
  // Reads the group's secret, or makes and stores one (a new file, or one
  // from before schema version 4).
  Status load_secret();
  // PRAGMA quick_check and the schema version of an existing file.
  Status verify();
  // Records what the file is at open (device, inode, size) for check_intact().
  Status remember_file();
  // The error text for the last failure of `what`, with advice where there is
  // some. A damaged file or an I/O error is a fault (fault_ is set).
  std::string error_text(const char* what, int rc);
  // Sets fault_ (the first one stays) and returns it as an error.
  Status set_fault(const std::string& what);
  // Opens the batch's transaction before its first write (BEGIN IMMEDIATE).
  Status begin_write();
  // Runs a statement that returns no rows; resets it.
  Status step_done(sqlite3_stmt* stmt, const char* what);
  // Inserts the batch's pending messages: kInsertRows at a time with one
  // statement, the rest one by one. Run before anything reads the messages
  // table and before the commit.
  Status flush_pending();
  // Inserts msg as the row numbered seq.
  Status insert_one(const StoredMessage& msg, uint64_t seq);

  std::string path_;
  bool sync_full_ = false;
  sqlite3* db_ = nullptr;
  std::string history_id_;
  GroupSecret secret_{};
  std::string fault_;
  bool unsynced_ = false;  // a write since the last sync() (synchronous=NORMAL only)
  uint64_t file_dev_ = 0, file_ino_ = 0;
  int64_t file_max_size_ = 0;
  std::unique_ptr<Statements> st_;
  bool in_batch_ = false;
  bool in_transaction_ = false;  // the batch has written: BEGIN was run
  uint64_t last_seq_ = 0;
  int64_t last_time_us_ = 0;
  // Members found by find_member (every send and get asks), so a request
  // costs one SELECT less. Dropped entry by entry on add/remove, wholly on
  // rollback; bounded by kMemberCacheSize.
  static constexpr size_t kMemberCacheSize = 4096;
  std::unordered_map<std::string, std::string> member_cache_;
  uint64_t committed_seq_ = 0;
  int64_t committed_time_us_ = 0;
  // Messages appended in the open batch and not inserted yet: the first
  // pending_count_ entries (kept with their buffers from batch to batch).
  static constexpr size_t kInsertRows = 32;
  std::vector<StoredMessage> pending_;
  size_t pending_count_ = 0;
};

}  // namespace gc
