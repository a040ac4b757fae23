#include "store/sqlite_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "store/history_id.hpp"

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
CREATE TABLE IF NOT EXISTS history(id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS secret(key BLOB NOT NULL);
PRAGMA user_version = 4;
)sql";
constexpr int kSchemaVersion = 4;

// Makes a new file's directory entry durable: SQLite syncs the directory for
// its journals, not for the database file itself. The directory is opened,
// never the database file (see check_intact).
void sync_directory(const std::string& file) {
  std::string dir = std::filesystem::path(file).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

constexpr const char* kMessageColumns = "seq, user_uuid, name, text, time_us, client_msg_id";

}  // namespace

struct SqliteStore::Statements {
  Stmt begin, commit, rollback;
  Stmt insert_message, insert_many, read_after, read_newest, time_at_or_after, find_client_id, tail;
  Stmt add_member, remove_member, find_member, count_members;
};

SqliteStore::SqliteStore(std::string path) : path_(std::move(path)) {}

SqliteStore::~SqliteStore() {
  st_.reset();  // statements first: sqlite3_close refuses while any is alive
  if (db_) sqlite3_close(db_);
}

Status SqliteStore::set_fault(const std::string& what) {
  if (fault_.empty())
    fault_ = fmt::format("{}; nothing more is acknowledged and the server stops", what);
  return Status::error(fault_);
}

std::string SqliteStore::error_text(const char* what, int rc) {
  std::string msg = fmt::format("{} failed in {}: {}", what, path_,
                                db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      // The file under us is damaged or the disk fails: nothing stored from
      // now on can be trusted. (At open, the error is returned all the same.)
      if (db_ && st_) set_fault(msg);
      break;
    default:
      break;
  }
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

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteOptions& options,
                                                       const std::string& vfs) {
  using R = Result<std::unique_ptr<SqliteStore>>;
  // Memory statistics take a global mutex on every allocation and nothing
  // here reads them. Only possible before SQLite initializes; a later call
  // fails harmlessly.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  std::unique_ptr<SqliteStore> store(new SqliteStore(options.path));
  store->sync_full_ = options.sync_full;
  // Looked at by path before SQLite opens it: no descriptor of ours.
  std::error_code size_ec;
  const auto size_before = std::filesystem::file_size(options.path, size_ec);
  const bool existed = !size_ec && size_before > 0;
  int rc = sqlite3_open_v2(options.path.c_str(), &store->db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           vfs.empty() ? nullptr : vfs.c_str());
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
  if (existed) {
    if (auto s = store->verify(); !s) return R::error(s.message());
  }
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
  if (auto s = exec(std::string("BEGIN IMMEDIATE;") + kSchema, "creating the schema"); !s)
    return R::error(s.message());
  if (auto s = store->load_history_id(); !s) return R::error(s.message());
  if (auto s = store->load_secret(); !s) return R::error(s.message());
  if (auto s = exec("COMMIT", "creating the schema"); !s) return R::error(s.message());
  // Durable from the start, whatever --sync says: a checkpoint syncs the WAL,
  // copies it into the file and syncs the file; then the directory entry.
  // A power cut can then lose recent writes (see sync()), never the group.
  if (auto s = exec("PRAGMA wal_checkpoint(TRUNCATE)", "making the database durable"); !s)
    return R::error(s.message());
  if (!existed) sync_directory(options.path);
  if (auto s = store->prepare_all(); !s) return R::error(s.message());
  if (auto s = store->load_tail(); !s) return R::error(s.message());
  if (auto s = store->remember_file(); !s) return R::error(s.message());
  return store;
}

Status SqliteStore::verify() {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_, "PRAGMA quick_check(1)", -1, &s, nullptr);
  std::string problem;
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
      if (!text || std::strcmp(text, "ok") != 0) problem = text ? text : "no verdict";
      rc = SQLITE_OK;
    }
  }
  if (rc != SQLITE_OK && rc != SQLITE_DONE) problem = sqlite3_errmsg(db_);
  sqlite3_finalize(s);
  if (problem.empty()) {
    // A file from a newer groupchat may hold what this one cannot keep.
    int version = 0;
    if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
      version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version > kSchemaVersion)
      return Status::error(fmt::format(
          "the database file {} has schema version {}, newer than this group_server's {}: run "
          "the groupchat version that wrote it",
          path_, version, kSchemaVersion));
    return Status::ok();
  }
  // One line: quick_check reports "*** in database main ***" then a line per problem.
  if (auto at = problem.find("***\n");
      problem.rfind("*** in database", 0) == 0 && at != std::string::npos)
    problem.erase(0, at + 4);
  for (char& c : problem)
    if (c == '\n' || c == '\r') c = ' ';
  if (problem.size() > 300) problem.resize(300);
  return Status::error(fmt::format(
      "the database file {} is damaged (integrity check: {}): move it away to start a new, empty "
      "history, or restore it from a backup, then start again",
      path_, problem));
}

Status SqliteStore::load_history_id() {
  // One row, made with the history. A file from before history ids gets its
  // id now: its history begins, as far as followers can tell, at this upgrade.
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_, "SELECT id FROM history LIMIT 1", -1, &s, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      column_text(s, 0, history_id_);
      rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_OK) return Status::error(error_text("reading the history id", rc));
  if (!history_id_.empty()) return Status::ok();
  history_id_ = new_history_id();
  rc = sqlite3_prepare_v2(db_, "INSERT INTO history(id) VALUES(?)", -1, &s, nullptr);
  if (rc == SQLITE_OK) {
    bind_text(s, 1, history_id_);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_OK) return Status::error(error_text("storing the history id", rc));
  return Status::ok();
}

Status SqliteStore::load_secret() {
  // One row, made with the file (or at its upgrade to version 4). A row that
  // is not 32 bytes is damage, not something to replace: the ids members
  // know would all change.
  sqlite3_stmt* s = nullptr;
  bool found = false;
  int rc = sqlite3_prepare_v2(db_, "SELECT key FROM secret LIMIT 1", -1, &s, nullptr);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      found = true;
      const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s, 0));
      const int n = sqlite3_column_bytes(s, 0);
      if (p && n == static_cast<int>(secret_.size())) {
        std::copy(p, p + n, secret_.begin());
        rc = SQLITE_OK;
      } else {
        rc = SQLITE_CORRUPT;
      }
    } else if (rc == SQLITE_DONE) {
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(s);
  if (rc == SQLITE_CORRUPT)
    return Status::error(fmt::format(
        "the database file {} is damaged (its group secret is not {} bytes): move it away or "
        "restore a backup",
        path_, secret_.size()));
  if (rc != SQLITE_OK) return Status::error(error_text("reading the group secret", rc));
  if (found) return Status::ok();
  secret_ = new_group_secret();
  rc = sqlite3_prepare_v2(db_, "INSERT INTO secret(key) VALUES(?)", -1, &s, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_bind_blob(s, 1, secret_.data(), static_cast<int>(secret_.size()), SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_OK) return Status::error(error_text("storing the group secret", rc));
  return Status::ok();
}

Status SqliteStore::remember_file() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0)
    return Status::error(fmt::format("cannot stat {}: {}", path_, std::strerror(errno)));
  file_dev_ = static_cast<uint64_t>(st.st_dev);
  file_ino_ = static_cast<uint64_t>(st.st_ino);
  file_max_size_ = static_cast<int64_t>(st.st_size);
  return Status::ok();
}

Status SqliteStore::check_intact() {
  if (!fault_.empty()) return Status::error(fault_);
  // stat(2) of the path: no descriptor is opened, so SQLite's locks stay.
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return set_fault(fmt::format(
          "the database file {} was deleted while the group server was running", path_));
    return set_fault(
        fmt::format("the database file {} cannot be checked: {}", path_, std::strerror(errno)));
  }
  if (static_cast<uint64_t>(st.st_dev) != file_dev_ ||
      static_cast<uint64_t>(st.st_ino) != file_ino_)
    return set_fault(fmt::format(
        "the database file {} was replaced by another file while the group server was running",
        path_));
  const auto size = static_cast<int64_t>(st.st_size);
  if (size < file_max_size_)
    return set_fault(fmt::format(
        "the database file {} was truncated from {} to {} bytes while the group server was "
        "running",
        path_, file_max_size_, size));
  // Rows are never deleted and the file is never vacuumed: it only grows.
  file_max_size_ = size;
  return Status::ok();
}

Status SqliteStore::sync() {
  if (auto s = check_intact(); !s) return s;
  if (!unsynced_) return Status::ok();
  // The WAL holds every commit since the last checkpoint; syncing it is what
  // synchronous=FULL does at each commit, done here once for many commits.
  sqlite3_file* wal = nullptr;
  int rc = sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal);
  if (rc == SQLITE_OK && wal && wal->pMethods) {
    rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL);
    if (rc != SQLITE_OK)
      return set_fault(fmt::format("syncing the WAL of {} failed: {}", path_, sqlite3_errstr(rc)));
  }
  unsynced_ = false;
  return Status::ok();
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
  std::string many = "INSERT INTO messages(" + cols + ") VALUES(?,?,?,?,?,?)";
  for (size_t i = 1; i < kInsertRows; ++i) many += ",(?,?,?,?,?,?)";
  if (!(s = prep(st_->insert_many, many))) return s;
  if (!(s = prep(st_->read_after,
                 "SELECT " + cols + " FROM messages WHERE seq > ? ORDER BY seq LIMIT ?")))
    return s;
  if (!(s = prep(st_->read_newest,
                 "SELECT " + cols + " FROM messages WHERE seq > ? ORDER BY seq DESC LIMIT ?")))
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
  if (!fault_.empty()) return Status::error(fault_);
  // The transaction itself starts at the batch's first write: a batch of
  // reads (getMessage) then costs no BEGIN/COMMIT and writes no WAL frame.
  in_batch_ = true;
  return Status::ok();
}

Status SqliteStore::begin_write() {
  if (!fault_.empty()) return Status::error(fault_);
  if (!sync_full_) unsynced_ = true;
  if (!in_batch_ || in_transaction_) return Status::ok();
  if (auto s = step_done(st_->begin, "starting a transaction"); !s) return s;
  in_transaction_ = true;
  return Status::ok();
}

Status SqliteStore::commit_batch() {
  if (!in_batch_) return Status::ok();
  if (in_transaction_) {
    auto s = flush_pending();
    if (s) s = step_done(st_->commit, "committing");
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
  pending_count_ = 0;
  if (!sqlite3_get_autocommit(db_)) (void)step_done(st_->rollback, "rolling back");
  in_batch_ = false;
  in_transaction_ = false;
  last_seq_ = committed_seq_;
  last_time_us_ = committed_time_us_;
}

namespace {
constexpr int kMessageBinds = 6;

// Binds msg as the row numbered seq (msg.seq is not read).
void bind_message(sqlite3_stmt* s, int first, const StoredMessage& msg, uint64_t seq) {
  sqlite3_bind_int64(s, first, static_cast<sqlite3_int64>(seq));
  bind_text(s, first + 1, msg.user_uuid);
  bind_text_or_null(s, first + 2, msg.name);
  bind_text(s, first + 3, msg.text);
  sqlite3_bind_int64(s, first + 4, msg.time_us);
  bind_text_or_null(s, first + 5, msg.client_msg_id);
}
}  // namespace

Status SqliteStore::insert_one(const StoredMessage& msg, uint64_t seq) {
  sqlite3_stmt* s = st_->insert_message;
  ResetOnExit reset{s};
  bind_message(s, 1, msg, seq);
  int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE) return Status::error(error_text("storing a message", rc));
  return Status::ok();
}

Status SqliteStore::flush_pending() {
  size_t done = 0;
  if (pending_count_ == kInsertRows) {
    sqlite3_stmt* s = st_->insert_many;
    ResetOnExit reset{s};
    for (size_t i = 0; i < kInsertRows; ++i)
      bind_message(s, static_cast<int>(i) * kMessageBinds + 1, pending_[i], pending_[i].seq);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
      pending_count_ = 0;
      return Status::error(error_text("storing messages", rc));
    }
    done = kInsertRows;
  }
  for (; done < pending_count_; ++done) {
    if (auto st = insert_one(pending_[done], pending_[done].seq); !st) {
      pending_count_ = 0;
      return st;
    }
  }
  pending_count_ = 0;
  return Status::ok();
}

Result<uint64_t> SqliteStore::append(const StoredMessage& msg) {
  if (auto st = begin_write(); !st) return st;
  const uint64_t seq = last_seq_ + 1;
  if (!in_batch_) {
    if (auto st = insert_one(msg, seq); !st) return Result<uint64_t>::error(st.message());
  } else {
    // In a batch the row waits, and kInsertRows of them go in one INSERT.
    if (pending_.size() <= pending_count_) pending_.resize(pending_count_ + 1);
    StoredMessage& row = pending_[pending_count_++];
    row.seq = seq;
    row.user_uuid.assign(msg.user_uuid);
    row.name.assign(msg.name);
    row.text.assign(msg.text);
    row.time_us = msg.time_us;
    row.client_msg_id.assign(msg.client_msg_id);
    if (pending_count_ == kInsertRows) {
      if (auto st = flush_pending(); !st) return Result<uint64_t>::error(st.message());
    }
  }
  last_seq_ = seq;
  last_time_us_ = msg.time_us;
  if (!in_batch_) {
    committed_seq_ = last_seq_;
    committed_time_us_ = last_time_us_;
  }
  return seq;
}

Status SqliteStore::read_after_seq(uint64_t after_seq, size_t limit, MessagePage& page,
                                   size_t max_bytes) {
  if (auto st = flush_pending(); !st) return st;
  sqlite3_stmt* s = st_->read_after;
  ResetOnExit reset{s};
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(after_seq));
  // One more than asked tells whether there is more.
  sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(limit) + 1);
  size_t n = 0, bytes = 0;
  page.more = false;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (n == limit || (n > 0 && bytes >= max_bytes)) {
      page.more = true;
      break;
    }
    if (page.messages.size() <= n) page.messages.emplace_back();
    read_message(s, page.messages[n]);
    bytes += page_bytes(page.messages[n]);
    if (n > 0 && bytes > max_bytes) {  // this one does not fit: the next page starts with it
      page.more = true;
      break;
    }
    ++n;
  }
  page.messages.resize(n);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return Status::error(error_text("reading messages", rc));
  return Status::ok();
}

Status SqliteStore::read_newest(uint64_t after_seq, size_t limit, MessagePage& page,
                                size_t max_bytes) {
  if (auto st = flush_pending(); !st) return st;
  sqlite3_stmt* s = st_->read_newest;
  ResetOnExit reset{s};
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(after_seq));
  sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(limit));
  size_t n = 0, bytes = 0;
  page.more = false;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (page.messages.size() <= n) page.messages.emplace_back();
    read_message(s, page.messages[n]);
    bytes += page_bytes(page.messages[n]);
    if (n > 0 && bytes > max_bytes) break;  // this one and older ones do not fit
    ++n;
  }
  page.messages.resize(n);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return Status::error(error_text("reading the newest messages", rc));
  std::reverse(page.messages.begin(), page.messages.end());
  return Status::ok();
}

Result<uint64_t> SqliteStore::first_seq_at_or_after(int64_t since_us) {
  using R = Result<uint64_t>;
  if (auto st = flush_pending(); !st) return R::error(st.message());
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
  // A message of the open batch not inserted yet is found here; the table
  // has the others (ids are unique, so never both).
  for (size_t i = 0; i < pending_count_; ++i) {
    const StoredMessage& m = pending_[i];
    if (m.client_msg_id == client_msg_id && m.user_uuid == user_uuid && !client_msg_id.empty())
      return std::optional<StoredMessage>{m};
  }
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
