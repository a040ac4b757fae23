#include "store/sqlite_store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>

namespace gc {

namespace {

// One prepared statement, finalized with its owner.
struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s); }
  operator sqlite3_stmt*() const { return s; }  // NOLINT: a thin handle
};

// Resets a statement when the scope ends, so no read keeps a snapshot open.
// Bindings are left alone: every use binds every parameter afresh.
struct ResetOnExit {
  sqlite3_stmt* s;
  ~ResetOnExit() { sqlite3_reset(s); }
};

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

void bind_text_or_null(sqlite3_stmt* s, int i, const std::string& v) {
  if (v.empty())
    sqlite3_bind_null(s, i);
  else
    bind_text(s, i, v);
}

void column_text(sqlite3_stmt* s, int i, std::string& out) {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  if (p)
    out.assign(p, static_cast<size_t>(sqlite3_column_bytes(s, i)));
  else
    out.clear();
}

// Reads seq, user_uuid, name, text, time_us, client_msg_id.
void read_message(sqlite3_stmt* s, StoredMessage& m) {
  m.seq = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
  column_text(s, 1, m.user_uuid);
  column_text(s, 2, m.name);
  column_text(s, 3, m.text);
  m.time_us = sqlite3_column_int64(s, 4);
  column_text(s, 5, m.client_msg_id);
}

// Time is non-decreasing with seq, so "first message at or after T" is a
// binary search over seq; an index on time_us (schema version 1 had one) would
// only cost a second B-tree page per commit.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS messages(
  seq INTEGER PRIMARY KEY,
  user_uuid TEXT NOT NULL,
  name TEXT,
  text TEXT NOT NULL,
  time_us INTEGER NOT NULL,
  client_msg_id TEXT);
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id
  ON messages(user_uuid, client_msg_id) WHERE client_msg_id IS NOT NULL;
DROP INDEX IF EXISTS messages_by_time;
CREATE TABLE IF NOT EXISTS members(
  user_uuid TEXT PRIMARY KEY,
  name TEXT,
  joined_us INTEGER NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 2;
)sql";

constexpr const char* kMessageColumns = "seq, user_uuid, name, text, time_us, client_msg_id";

}  // namespace

struct SqliteStore::Statements {
  Stmt begin, commit, rollback;
  Stmt insert_message, read_after, time_at_or_after, find_client_id, tail;
  Stmt add_member, remove_member, find_member, count_members;
};

SqliteStore::SqliteStore(std::string path) : path_(std::move(path)) {}

SqliteStore::~SqliteStore() {
  st_.reset();  // statements first: sqlite3_close refuses while any is alive
  if (db_) sqlite3_close(db_);
}

std::string SqliteStore::error_text(const char* what, int rc) const {
  std::string msg = fmt::format("{} failed in {}: {}", what, path_,
                                db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_FULL:
      msg += "; free disk space there and retry";
      break;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
      msg += "; check that the directory and file are writable (see --data-dir)";
      break;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      msg += "; the file is damaged or not a groupchat database: move it away or restore a backup";
      break;
    case SQLITE_BUSY:
      msg +=
          "; another process holds the database (is a second group_server using this "
          "--data-dir?)";
      break;
    default:
      break;
  }
  return msg;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteOptions& options) {
  using R = Result<std::unique_ptr<SqliteStore>>;
  // Memory statistics take a global mutex on every allocation and nothing
  // here reads them. Only possible before SQLite initializes; a later call
  // fails harmlessly.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  std::unique_ptr<SqliteStore> store(new SqliteStore(options.path));
  int rc =
      sqlite3_open_v2(options.path.c_str(), &store->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return R::error(store->error_text("opening the database", rc));
  sqlite3_extended_result_codes(store->db_, 1);
  sqlite3_busy_timeout(store->db_, 2000);

  auto exec = [&](const std::string& sql, const char* what) -> Status {
    int r = sqlite3_exec(store->db_, sql.c_str(), nullptr, nullptr, nullptr);
    if (r != SQLITE_OK) return Status::error(store->error_text(what, r));
    return Status::ok();
  };
  // One process owns the file: take its lock once and keep it, instead of
  // fcntl() lock and unlock calls around every transaction. Set before WAL is
  // entered, so the WAL index lives in heap memory, not in a -shm file. A
  // second server on the same file gets SQLITE_BUSY ("another process holds
  // the database").
  if (auto s = exec("PRAGMA locking_mode=EXCLUSIVE", "opening the database"); !s)
    return R::error(s.message());
  // The first read of the file: a file that is not a database fails here (SQLITE_NOTADB).
  if (auto s = exec("PRAGMA journal_mode=WAL", "opening the database"); !s)
    return R::error(s.message());
  if (auto s = exec(options.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                    "setting synchronous");
      !s)
    return R::error(s.message());
  if (options.max_page_count > 0) {
    if (auto s = exec(fmt::format("PRAGMA max_page_count={}", options.max_page_count),
                      "capping the size");
        !s)
      return R::error(s.message());
  }
  // Writes user_version every time, so a read-only file or directory fails at start, not at
  // the first message.
  if (auto s = exec(std::string("BEGIN IMMEDIATE;") + kSchema + "COMMIT;", "creating the schema");
      !s)
    return R::error(s.message());
  if (auto s = store->prepare_all(); !s) return R::error(s.message());
  if (auto s = store->load_tail(); !s) return R::error(s.message());
  return store;
}

Status SqliteStore::prepare_all() {
  st_ = std::make_unique<Statements>();
  auto prep = [&](Stmt& stmt, const std::string& sql) -> Status {
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt.s, nullptr);
    if (rc != SQLITE_OK) return Status::error(error_text("preparing a statement", rc));
    return Status::ok();
  };
  const std::string cols = kMessageColumns;
  Status s;
  if (!(s = prep(st_->begin, "BEGIN IMMEDIATE"))) return s;
  if (!(s = prep(st_->commit, "COMMIT"))) return s;
  if (!(s = prep(st_->rollback, "ROLLBACK"))) return s;
  if (!(s = prep(st_->insert_message, "INSERT INTO messages(" + cols + ") VALUES(?,?,?,?,?,?)")))
    return s;
  if (!(s = prep(st_->read_after,
                 "SELECT " + cols + " FROM messages WHERE seq > ? ORDER BY seq LIMIT ?")))
    return s;
  if (!(s = prep(st_->time_at_or_after,
                 "SELECT seq, time_us FROM messages WHERE seq >= ? ORDER BY seq LIMIT 1")))
    return s;
  if (!(s = prep(st_->find_client_id, "SELECT " + cols +
                                          " FROM messages WHERE user_uuid = ? AND "
                                          "client_msg_id = ?")))
    return s;
  if (!(s = prep(st_->tail, "SELECT seq, time_us FROM messages ORDER BY seq DESC LIMIT 1")))
    return s;
  if (!(s = prep(st_->add_member,
                 "INSERT INTO members(user_uuid, name, joined_us) VALUES(?, ?, "
                 "CAST(strftime('%s','now') AS INTEGER) * 1000000) ON CONFLICT(user_uuid) DO "
                 "UPDATE SET name = excluded.name WHERE excluded.name IS NOT NULL")))
    return s;
  if (!(s = prep(st_->remove_member, "DELETE FROM members WHERE user_uuid = ?"))) return s;
  if (!(s = prep(st_->find_member, "SELECT name FROM members WHERE user_uuid = ?"))) return s;
  if (!(s = prep(st_->count_members, "SELECT count(*) FROM members"))) return s;
  return Status::ok();
}

Status SqliteStore::load_tail() {
  ResetOnExit reset{st_->tail};
  int rc = sqlite3_step(st_->tail);
  if (rc == SQLITE_ROW) {
    last_seq_ = static_cast<uint64_t>(sqlite3_column_int64(st_->tail, 0));
    last_time_us_ = sqlite3_column_int64(st_->tail, 1);
  } else if (rc != SQLITE_DONE) {
    return Status::error(error_text("reading the newest message", rc));
  }
  committed_seq_ = last_seq_;
  committed_time_us_ = last_time_us_;
  return Status::ok();
}

Status SqliteStore::step_done(sqlite3_stmt* stmt, const char* what) {
  ResetOnExit reset{stmt};
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Status::error(error_text(what, rc));
  return Status::ok();
}

Status SqliteStore::begin_batch() {
  if (in_batch_) return Status::error("a batch is already open");
  // The transaction itself starts at the batch's first write: a batch of
  // reads (getMessage) then costs no BEGIN/COMMIT and writes no WAL frame.
  in_batch_ = true;
  return Status::ok();
}

Status SqliteStore::begin_write() {
  if (!in_batch_ || in_transaction_) return Status::ok();
  if (auto s = step_done(st_->begin, "starting a transaction"); !s) return s;
  in_transaction_ = true;
  return Status::ok();
}

Status SqliteStore::commit_batch() {
  if (!in_batch_) return Status::ok();
  if (in_transaction_) {
    auto s = step_done(st_->commit, "committing");
    if (!s) {
      rollback_batch();
      return s;
    }
  }
  in_batch_ = false;
  in_transaction_ = false;
  committed_seq_ = last_seq_;
  committed_time_us_ = last_time_us_;
  return Status::ok();
}

void SqliteStore::rollback_batch() {
  // SQLite may already have rolled back on its own (full disk, I/O error); a
  // ROLLBACK without a transaction then fails harmlessly.
  // A cached lookup may have seen a write that is now undone.
  if (in_transaction_) member_cache_.clear();
  if (!sqlite3_get_autocommit(db_)) (void)step_done(st_->rollback, "rolling back");
  in_batch_ = false;
  in_transaction_ = false;
  last_seq_ = committed_seq_;
  last_time_us_ = committed_time_us_;
}

Result<uint64_t> SqliteStore::append(const StoredMessage& msg) {
  if (auto st = begin_write(); !st) return st;
  sqlite3_stmt* s = st_->insert_message;
  uint64_t seq = last_seq_ + 1;
  {
    ResetOnExit reset{s};
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(seq));
    bind_text(s, 2, msg.user_uuid);
    bind_text_or_null(s, 3, msg.name);
    bind_text(s, 4, msg.text);
    sqlite3_bind_int64(s, 5, msg.time_us);
    bind_text_or_null(s, 6, msg.client_msg_id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) return Result<uint64_t>::error(error_text("storing a message", rc));
  }
  last_seq_ = seq;
  last_time_us_ = msg.time_us;
  if (!in_batch_) {
    committed_seq_ = last_seq_;
    committed_time_us_ = last_time_us_;
  }
  return seq;
}

Status SqliteStore::read_after_seq(uint64_t after_seq, size_t limit, MessagePage& page) {
  sqlite3_stmt* s = st_->read_after;
  ResetOnExit reset{s};
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(after_seq));
  // One more than asked tells whether there is more.
  sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(limit) + 1);
  size_t n = 0;
  page.more = false;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (n == limit) {
      page.more = true;
      break;
    }
    if (page.messages.size() <= n) page.messages.emplace_back();
    read_message(s, page.messages[n]);
    ++n;
  }
  page.messages.resize(n);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return Status::error(error_text("reading messages", rc));
  return Status::ok();
}

Result<uint64_t> SqliteStore::first_seq_at_or_after(int64_t since_us) {
  using R = Result<uint64_t>;
  // Binary search over seq for the first message with time_us >= since_us;
  // each probe is a rowid lookup. The probe reads the first row at or after
  // a seq, so the search would stay right even if seqs had gaps.
  sqlite3_stmt* s = st_->time_at_or_after;
  uint64_t lo = 1, hi = last_seq_ + 1;  // the answer is in [lo, hi]; hi = none
  uint64_t found = last_seq_ + 1;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo) / 2;
    ResetOnExit reset{s};
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(mid));
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
      hi = mid;  // nothing at or after mid
      continue;
    }
    if (rc != SQLITE_ROW) return R::error(error_text("finding messages by time", rc));
    const auto row_seq = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
    if (sqlite3_column_int64(s, 1) >= since_us) {
      found = row_seq;
      hi = mid;
    } else {
      lo = row_seq + 1;
    }
  }
  return found;
}

Result<std::optional<StoredMessage>> SqliteStore::find_by_client_msg_id(
    const std::string& user_uuid, const std::string& client_msg_id) {
  using R = Result<std::optional<StoredMessage>>;
  sqlite3_stmt* s = st_->find_client_id;
  ResetOnExit reset{s};
  bind_text(s, 1, user_uuid);
  bind_text(s, 2, client_msg_id);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::optional<StoredMessage>{};
  if (rc != SQLITE_ROW) return R::error(error_text("finding a message by client_msg_id", rc));
  StoredMessage m;
  read_message(s, m);
  return std::optional<StoredMessage>{std::move(m)};
}

Status SqliteStore::add_member(const std::string& user_uuid, const std::string& name) {
  if (auto st = begin_write(); !st) return st;
  member_cache_.erase(user_uuid);
  sqlite3_stmt* s = st_->add_member;
  bind_text(s, 1, user_uuid);
  bind_text_or_null(s, 2, name);
  return step_done(s, "adding a member");
}

Result<bool> SqliteStore::remove_member(const std::string& user_uuid) {
  if (auto st = begin_write(); !st) return st;
  member_cache_.erase(user_uuid);
  sqlite3_stmt* s = st_->remove_member;
  bind_text(s, 1, user_uuid);
  if (auto st = step_done(s, "removing a member"); !st) return st;
  return sqlite3_changes(db_) > 0;
}

Result<std::optional<std::string>> SqliteStore::find_member(const std::string& user_uuid) {
  using R = Result<std::optional<std::string>>;
  if (auto it = member_cache_.find(user_uuid); it != member_cache_.end())
    return std::optional<std::string>{it->second};
  sqlite3_stmt* s = st_->find_member;
  ResetOnExit reset{s};
  bind_text(s, 1, user_uuid);
  int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::optional<std::string>{};
  if (rc != SQLITE_ROW) return R::error(error_text("looking up a member", rc));
  std::string name;
  column_text(s, 0, name);
  if (member_cache_.size() >= kMemberCacheSize) member_cache_.clear();
  member_cache_.emplace(user_uuid, name);
  return std::optional<std::string>{std::move(name)};
}

Result<size_t> SqliteStore::member_count() {
  sqlite3_stmt* s = st_->count_members;
  ResetOnExit reset{s};
  int rc = sqlite3_step(s);
  if (rc != SQLITE_ROW) return Result<size_t>::error(error_text("counting members", rc));
  return static_cast<size_t>(sqlite3_column_int64(s, 0));
}

}  // namespace gc
