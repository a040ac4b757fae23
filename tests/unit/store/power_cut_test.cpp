// A power cut, simulated: a SQLite VFS that wraps the default one and keeps,
// for every file, the image a power cut would leave: what was in the file at
// its last xSync. Writes reach the real file (SQLite works as usual) but
// become durable only when the file is synced; a file never synced does not
// survive at all. After the "cut", the durable images are written to a new
// directory and opened with the normal VFS.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "store/sqlite_store.hpp"
#include "support/scratch.hpp"

namespace gc {
namespace {

namespace fs = std::filesystem;

// path → bytes as of the file's last xSync
std::map<std::string, std::string> g_durable;
sqlite3_vfs* g_real = nullptr;

struct CutFile {
  sqlite3_file base;
  sqlite3_file* real;  // lives right after this struct
  const char* path;    // valid until xClose (SQLite's promise); null for temp files
};

sqlite3_file* real_of(sqlite3_file* f) {
  return reinterpret_cast<CutFile*>(f)->real;
}

int cut_close(sqlite3_file* f) {
  sqlite3_file* r = real_of(f);
  return r->pMethods ? r->pMethods->xClose(r) : SQLITE_OK;
}
int cut_read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return real_of(f)->pMethods->xRead(real_of(f), buf, n, off);
}
int cut_write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  return real_of(f)->pMethods->xWrite(real_of(f), buf, n, off);
}
int cut_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return real_of(f)->pMethods->xTruncate(real_of(f), size);
}
int cut_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
int cut_sync(sqlite3_file* f, int flags) {
  sqlite3_file* r = real_of(f);
  int rc = r->pMethods->xSync(r, flags);
  const char* path = reinterpret_cast<CutFile*>(f)->path;
  if (rc != SQLITE_OK || !path) return rc;
  // The whole file as it is now becomes the durable image.
  sqlite3_int64 size = 0;
  if ((rc = r->pMethods->xFileSize(r, &size)) != SQLITE_OK) return rc;
  std::string image(static_cast<size_t>(size), '\0');
  if (size > 0 &&
      (rc = r->pMethods->xRead(r, image.data(), static_cast<int>(size), 0)) != SQLITE_OK)
    return rc;
  g_durable[path] = std::move(image);
  return SQLITE_OK;
}
int cut_lock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xLock(real_of(f), level);
}
int cut_unlock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xUnlock(real_of(f), level);
}
int cut_check_reserved(sqlite3_file* f, int* out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int cut_file_control(sqlite3_file* f, int op, void* arg) {
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
int cut_sector_size(sqlite3_file* f) {
  return real_of(f)->pMethods->xSectorSize(real_of(f));
}
int cut_device(sqlite3_file* f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

// Version 1: no shared memory and no mmap; WAL works because the store runs
// in locking_mode=EXCLUSIVE (the WAL index lives in the heap).
const sqlite3_io_methods kCutMethods = {1,
                                        cut_close,
                                        cut_read,
                                        cut_write,
                                        cut_truncate,
                                        cut_sync,
                                        cut_file_size,
                                        cut_lock,
                                        cut_unlock,
                                        cut_check_reserved,
                                        cut_file_control,
                                        cut_sector_size,
                                        cut_device,
                                        nullptr,
                                        nullptr,
                                        nullptr,
                                        nullptr,
                                        nullptr,
                                        nullptr};

int cut_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* c = reinterpret_cast<CutFile*>(f);
  c->base.pMethods = nullptr;
  c->real = reinterpret_cast<sqlite3_file*>(c + 1);
  c->path = name;
  int rc = g_real->xOpen(g_real, name, c->real, flags, out_flags);
  if (rc == SQLITE_OK) c->base.pMethods = &kCutMethods;
  return rc;
}

int cut_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  g_durable.erase(name);
  return g_real->xDelete(g_real, name, sync_dir);
}

void install_cut_vfs() {
  static sqlite3_vfs vfs;
  if (g_real) return;
  g_real = sqlite3_vfs_find(nullptr);
  vfs = *g_real;
  vfs.pNext = nullptr;
  vfs.zName = "powercut";
  vfs.szOsFile = static_cast<int>(sizeof(CutFile)) + g_real->szOsFile;
  vfs.xOpen = cut_open;
  vfs.xDelete = cut_delete;
  ASSERT_EQ(sqlite3_vfs_register(&vfs, 0), SQLITE_OK);
}

// Writes what survived the cut under `to`, file names kept.
void restore_durable_images(const fs::path& to) {
  for (const auto& [path, bytes] : g_durable) {
    std::ofstream f(to / fs::path(path).filename(), std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
}

StoredMessage msg(const std::string& text, int64_t t) {
  return StoredMessage{0, "u1", "", text, t, ""};
}

class PowerCut : public ::testing::Test {
 protected:
  void SetUp() override {
    install_cut_vfs();
    g_durable.clear();
  }
  std::unique_ptr<SqliteStore> open_live(bool sync_full = false) {
    auto r = SqliteStore::open({(live / "group.db").string(), sync_full, 0}, "powercut");
    EXPECT_TRUE(r.is_ok()) << (r ? "" : r.error());
    return r ? std::move(*r) : nullptr;
  }
  // The cut: keep only the durable images, open them as the restarted server would.
  std::unique_ptr<SqliteStore> cut_and_reopen() {
    restore_durable_images(after.path());
    auto r = SqliteStore::open({(after / "group.db").string(), false, 0});
    EXPECT_TRUE(r.is_ok()) << (r ? "" : r.error());
    return r ? std::move(*r) : nullptr;
  }
  void commit_batch(SqliteStore& s, int from, int to, const std::string& member = "") {
    ASSERT_TRUE(s.begin_batch());
    if (!member.empty()) {
      ASSERT_TRUE(s.add_member(member, member + "-name"));
    }
    for (int i = from; i <= to; ++i) ASSERT_TRUE(s.append(msg("m" + std::to_string(i), i)));
    ASSERT_TRUE(s.commit_batch());
  }
  static void expect_prefix(SqliteStore& s, uint64_t n) {
    MessagePage page;
    ASSERT_TRUE(s.read_after_seq(0, 1000, page));
    ASSERT_EQ(page.messages.size(), n);
    for (uint64_t i = 0; i < n; ++i) EXPECT_EQ(page.messages[i].text, "m" + std::to_string(i + 1));
  }

  testing::ScratchDir live, after;
};

TEST_F(PowerCut, WhatWasSyncedSurvivesAndOnlyWhatCameAfterIsLost) {
  auto s = open_live();
  ASSERT_NE(s, nullptr);
  const std::string id = s->history_id();
  commit_batch(*s, 1, 5, "u1");
  commit_batch(*s, 6, 8, "u2");
  EXPECT_TRUE(s->needs_sync());
  ASSERT_TRUE(s->sync());  // the periodic sync
  EXPECT_FALSE(s->needs_sync());
  commit_batch(*s, 9, 12, "u3");  // acknowledged, not yet synced

  auto r = cut_and_reopen();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->history_id(), id);
  EXPECT_TRUE(r->find_member("u1")->has_value());
  EXPECT_TRUE(r->find_member("u2")->has_value());
  // Everything up to the sync is there; what came after is all or nothing
  // (one transaction), and in this model an unsynced write never survives.
  EXPECT_EQ(r->last_seq(), 8u);
  expect_prefix(*r, 8);
  EXPECT_FALSE(r->find_member("u3")->has_value());
}

TEST_F(PowerCut, WithoutAnySyncTheGroupItselfSurvives) {
  // Nothing was synced after creation: the file, its schema and its history
  // id are durable from open(); the unsynced members and messages are lost.
  auto s = open_live();
  ASSERT_NE(s, nullptr);
  const std::string id = s->history_id();
  commit_batch(*s, 1, 3, "u1");

  auto r = cut_and_reopen();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->history_id(), id);
  EXPECT_EQ(r->last_seq(), 0u);
  EXPECT_EQ(*r->member_count(), 0u);
  // And it goes on working.
  EXPECT_EQ(*r->append(msg("m1", 1)), 1u);
}

TEST_F(PowerCut, SyncFullKeepsEveryCommit) {
  auto s = open_live(/*sync_full=*/true);
  ASSERT_NE(s, nullptr);
  commit_batch(*s, 1, 4, "u1");
  commit_batch(*s, 5, 7, "u2");
  EXPECT_FALSE(s->needs_sync());  // nothing for the periodic sync to do

  auto r = cut_and_reopen();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->last_seq(), 7u);
  expect_prefix(*r, 7);
  EXPECT_TRUE(r->find_member("u2")->has_value());
}

TEST_F(PowerCut, SyncsAcrossACheckpointKeepEverything) {
  // Enough to pass SQLite's automatic checkpoint (1000 pages): the WAL is
  // copied into the file and begun again, and the syncs still cover all.
  auto s = open_live();
  ASSERT_NE(s, nullptr);
  const std::string big(3000, 'x');
  int seq = 0;
  for (int batch = 0; batch < 30; ++batch) {
    ASSERT_TRUE(s->begin_batch());
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(s->append(StoredMessage{0, "u", "", big, ++seq, ""}));
    ASSERT_TRUE(s->commit_batch());
    if (batch % 5 == 4) {
      ASSERT_TRUE(s->sync());
    }
  }
  ASSERT_TRUE(s->sync());
  auto r = cut_and_reopen();
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->last_seq(), static_cast<uint64_t>(seq));
}

}  // namespace
}  // namespace gc
