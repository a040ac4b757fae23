#include "store/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "support/scratch.hpp"

namespace gc {
namespace {

namespace fs = std::filesystem;

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> open(long max_pages = 0) {
    auto r = SqliteStore::open({(dir / "group.db").string(), false, max_pages});
    EXPECT_TRUE(r.is_ok()) << (r ? "" : r.error());
    return r ? std::move(*r) : nullptr;
  }
  static StoredMessage msg(const std::string& text, int64_t t, const std::string& client_id = "",
                           const std::string& user = "u") {
    return StoredMessage{0, user, "", text, t, client_id};
  }

  testing::ScratchDir scratch;
  const fs::path& dir = scratch.path();
};

TEST_F(SqliteStoreTest, SeqIsNeverReusedAcrossReopen) {
  {
    auto s = open();
    s->append(msg("a", 10));
    s->append(msg("b", 11));
  }
  {
    auto s = open();
    EXPECT_EQ(s->last_seq(), 2u);
    EXPECT_EQ(s->last_time_us(), 11);
    EXPECT_EQ(*s->append(msg("c", 12)), 3u);
  }
  auto s = open();
  MessagePage page;
  ASSERT_TRUE(s->read_after_seq(0, 10, page));
  ASSERT_EQ(page.messages.size(), 3u);
  EXPECT_EQ(page.messages[2].text, "c");
}

TEST_F(SqliteStoreTest, MembersPersistAcrossReopen) {
  {
    auto s = open();
    ASSERT_TRUE(s->add_member("u1", "Ann"));
    ASSERT_TRUE(s->add_member("u2", ""));
    ASSERT_TRUE(s->add_member("u1", ""));  // no name: keeps Ann
    EXPECT_TRUE(*s->remove_member("u2"));
    EXPECT_FALSE(*s->remove_member("u2"));
  }
  auto s = open();
  EXPECT_EQ(s->find_member("u1")->value(), "Ann");
  EXPECT_FALSE(s->find_member("u2")->has_value());
  EXPECT_EQ(*s->member_count(), 1u);
}

TEST_F(SqliteStoreTest, CommittedBatchSurvivesReopenAndRolledBackOneDoesNot) {
  {
    auto s = open();
    ASSERT_TRUE(s->begin_batch());
    s->append(msg("kept", 1));
    s->add_member("m", "");
    ASSERT_TRUE(s->commit_batch());
    ASSERT_TRUE(s->begin_batch());
    s->append(msg("lost", 2));
    s->add_member("gone", "");
    EXPECT_EQ(s->last_seq(), 2u);  // reads see the open batch
    s->rollback_batch();
    EXPECT_EQ(s->last_seq(), 1u);
    EXPECT_EQ(s->last_time_us(), 1);
    EXPECT_EQ(*s->append(msg("next", 3)), 2u);
  }
  auto s = open();
  MessagePage page;
  ASSERT_TRUE(s->read_after_seq(0, 10, page));
  ASSERT_EQ(page.messages.size(), 2u);
  EXPECT_EQ(page.messages[1].text, "next");
  EXPECT_TRUE(s->find_member("m")->has_value());
  EXPECT_FALSE(s->find_member("gone")->has_value());
}

// A batch's messages go into the table several rows per INSERT: until then
// every read of the batch still sees them, in order, and a rollback drops them.
TEST_F(SqliteStoreTest, ABatchsMessagesAreSeenBeforeTheyAreInsertedAndGoWithARollback) {
  {
    auto s = open();
    ASSERT_TRUE(s->begin_batch());
    for (int i = 1; i <= 45; ++i)  // one INSERT of 32 rows, 13 waiting
      ASSERT_EQ(*s->append(msg("m" + std::to_string(i), i, "id" + std::to_string(i))),
                static_cast<uint64_t>(i));
    auto found = s->find_by_client_msg_id("u", "id44");  // waiting
    ASSERT_TRUE(found.is_ok());
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->seq, 44u);
    found = s->find_by_client_msg_id("u", "id7");  // inserted
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->text, "m7");
    EXPECT_FALSE(s->find_by_client_msg_id("other", "id44")->has_value());
    EXPECT_EQ(*s->append(msg("m46", 46)), 46u);
    MessagePage page;
    ASSERT_TRUE(s->read_newest(0, 3, page));
    ASSERT_EQ(page.messages.size(), 3u);
    EXPECT_EQ(page.messages.back().text, "m46");
    EXPECT_EQ(*s->first_seq_at_or_after(40), 40u);
    EXPECT_EQ(*s->append(msg("m47", 47)), 47u);
    ASSERT_TRUE(s->commit_batch());
    ASSERT_TRUE(s->begin_batch());
    for (int i = 48; i <= 90; ++i) ASSERT_TRUE(s->append(msg("lost", i)).is_ok());
    s->rollback_batch();
    EXPECT_EQ(s->last_seq(), 47u);
    ASSERT_TRUE(s->begin_batch());
    EXPECT_EQ(*s->append(msg("m48", 48)), 48u);
    ASSERT_TRUE(s->commit_batch());
  }
  auto s = open();
  MessagePage page;
  ASSERT_TRUE(s->read_after_seq(0, 100, page));
  ASSERT_EQ(page.messages.size(), 48u);
  for (size_t i = 0; i < page.messages.size(); ++i) {
    EXPECT_EQ(page.messages[i].seq, i + 1);
    EXPECT_EQ(page.messages[i].text, "m" + std::to_string(i + 1));
  }
  EXPECT_EQ(page.messages[43].client_msg_id, "id44");
}

TEST_F(SqliteStoreTest, FullDiskFailsTheWriteWithAClearErrorAndLosesNothingCommitted) {
  auto s = open(/*max_pages=*/40);
  std::string big(3000, 'x');
  ASSERT_TRUE(s->begin_batch());
  ASSERT_TRUE(s->append(msg("first", 1)).is_ok());
  ASSERT_TRUE(s->commit_batch());
  ASSERT_TRUE(s->begin_batch());
  Status failure;
  for (int i = 0; i < 200 && failure.is_ok(); ++i) {
    auto r = s->append(msg(big, 2));
    if (!r) failure = r.status();
  }
  ASSERT_FALSE(failure.is_ok()) << "the size cap never bit";
  EXPECT_NE(failure.message().find("database or disk is full"), std::string::npos)
      << failure.message();
  EXPECT_NE(failure.message().find("free disk space"), std::string::npos);
  s->rollback_batch();
  EXPECT_EQ(s->last_seq(), 1u);
  MessagePage page;
  ASSERT_TRUE(s->read_after_seq(0, 10, page));
  ASSERT_EQ(page.messages.size(), 1u);
  EXPECT_EQ(page.messages[0].text, "first");
  EXPECT_EQ(*s->append(msg("small", 3)), 2u);  // still serving after the failure
}

TEST_F(SqliteStoreTest, ANonDatabaseFileIsRefusedAtOpen) {
  {
    std::ofstream f(dir / "group.db", std::ios::binary);
    for (int i = 0; i < 4096; ++i) f.put(static_cast<char>(i * 7 + 3));
  }
  auto r = SqliteStore::open({(dir / "group.db").string(), false, 0});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.error().find("not a database"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("move it away"), std::string::npos) << r.error();
}

TEST_F(SqliteStoreTest, AnUnopenablePathIsRefusedAtOpen) {
  {
    std::ofstream f(dir / "plain-file");
    f << "x";
  }
  auto r = SqliteStore::open({(dir / "plain-file" / "group.db").string(), false, 0});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.error().find("unable to open database file"), std::string::npos) << r.error();
}

TEST_F(SqliteStoreTest, TheHistoryIdIsKeptAcrossReopenAndANewFileGetsAnother) {
  std::string id;
  {
    auto s = open();
    id = s->history_id();
    EXPECT_EQ(id.size(), 32u);
    s->append(msg("a", 1));
  }
  EXPECT_EQ(open()->history_id(), id);
  fs::remove(dir / "group.db");
  EXPECT_NE(open()->history_id(), id);
}

TEST_F(SqliteStoreTest, AFileFromBeforeHistoryIdsGetsOneAtOpenAndKeepsItsMessages) {
  {
    auto s = open();
    s->append(msg("old", 1));
  }
  {
    // What version 2 wrote: no history table.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "group.db").string().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db, "DROP TABLE history; PRAGMA user_version = 2;", nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = open();
  EXPECT_EQ(s->history_id().size(), 32u);
  EXPECT_EQ(s->last_seq(), 1u);
  const std::string id = s->history_id();
  s.reset();
  EXPECT_EQ(open()->history_id(), id);
}

// One value from a query on the file, read with a connection of its own.
std::string query_one(const fs::path& file, const char* sql) {
  sqlite3* db = nullptr;
  std::string out = "(none)";
  if (sqlite3_open(file.string().c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out;
}

TEST_F(SqliteStoreTest, AVersion1FileLosesItsTimeIndexAndGetsAHistoryId) {
  {
    auto s = open();
    s->append(msg("old", 1));
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "group.db").string().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "DROP TABLE history; CREATE INDEX messages_by_time ON messages(time_us);"
                           "PRAGMA user_version = 1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  std::string id;
  {
    auto s = open();
    id = s->history_id();
    EXPECT_EQ(s->last_seq(), 1u);
  }
  EXPECT_EQ(query_one(dir / "group.db", "PRAGMA user_version"), "4");
  EXPECT_EQ(query_one(dir / "group.db",
                      "SELECT count(*) FROM sqlite_master WHERE name = 'messages_by_time'"),
            "0");
  EXPECT_EQ(query_one(dir / "group.db", "SELECT id FROM history"), id);
}

TEST_F(SqliteStoreTest, TheGroupSecretIsKeptAcrossReopenAndANewFileGetsAnother) {
  GroupSecret secret{};
  {
    auto s = open();
    secret = s->group_secret();
    EXPECT_NE(secret, GroupSecret{});
    s->append(msg("a", 1));
  }
  EXPECT_EQ(open()->group_secret(), secret);
  EXPECT_EQ(query_one(dir / "group.db", "SELECT length(key) FROM secret"), "32");
  EXPECT_EQ(query_one(dir / "group.db", "SELECT count(*) FROM secret"), "1");
  fs::remove(dir / "group.db");
  EXPECT_NE(open()->group_secret(), secret);
}

TEST_F(SqliteStoreTest, AVersion3FileGetsASecretAtOpenAndKeepsItsMessages) {
  std::string history;
  {
    auto s = open();
    history = s->history_id();
    s->append(msg("old", 1));
  }
  {
    // What version 3 wrote: no secret table.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "group.db").string().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(db, "DROP TABLE secret; PRAGMA user_version = 3;", nullptr, nullptr, nullptr),
        SQLITE_OK);
    sqlite3_close(db);
  }
  GroupSecret secret{};
  {
    auto s = open();
    secret = s->group_secret();
    EXPECT_NE(secret, GroupSecret{});
    EXPECT_EQ(s->last_seq(), 1u);
    EXPECT_EQ(s->history_id(), history);  // the same history: only ids are new
  }
  EXPECT_EQ(query_one(dir / "group.db", "PRAGMA user_version"), "4");
  EXPECT_EQ(open()->group_secret(), secret);
}

TEST_F(SqliteStoreTest, ASecretOfTheWrongSizeIsRefusedAsDamage) {
  { auto s = open(); }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "group.db").string().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE secret SET key = x'0102';", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto r = SqliteStore::open({(dir / "group.db").string(), false, 0});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.error().find("group secret is not 32 bytes"), std::string::npos) << r.error();
}

TEST_F(SqliteStoreTest, AFileFromANewerVersionIsRefused) {
  { auto s = open(); }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "group.db").string().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99;", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto r = SqliteStore::open({(dir / "group.db").string(), false, 0});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.error().find("schema version 99"), std::string::npos) << r.error();
}

// A file with enough messages to span many pages, closed cleanly.
void fill(std::unique_ptr<SqliteStore> s) {
  ASSERT_TRUE(s->begin_batch());
  for (int i = 1; i <= 300; ++i)
    ASSERT_TRUE(s->append(StoredMessage{0, "u", "", std::string(300, 'a' + i % 26), i, ""}));
  ASSERT_TRUE(s->commit_batch());
}

TEST_F(SqliteStoreTest, ADamagedFileIsRefusedAtOpenNamingTheFileAndWhatToDo) {
  fill(open());
  const auto path = dir / "group.db";
  ASSERT_GT(fs::file_size(path), 8u * 4096);
  {
    // Garbage over a page in the middle of the messages' B-tree.
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5 * 4096);
    for (int i = 0; i < 4096; ++i) f.put(static_cast<char>(0xA5));
  }
  auto r = SqliteStore::open({path.string(), false, 0});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.error().find(path.string()), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("damaged"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("move it away"), std::string::npos) << r.error();
}

TEST_F(SqliteStoreTest, ATruncatedFileIsRefusedAtOpen) {
  fill(open());
  const auto path = dir / "group.db";
  fs::resize_file(path, fs::file_size(path) / 2);
  auto r = SqliteStore::open({path.string(), false, 0});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.error().find(path.string()), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("move it away"), std::string::npos) << r.error();
}

TEST_F(SqliteStoreTest, ADeletedFileIsAFaultAndNoBatchCommitsAfterIt) {
  auto s = open();
  ASSERT_TRUE(s->add_member("u1", "Ann"));
  EXPECT_TRUE(s->check_intact());
  fs::remove(dir / "group.db");
  auto st = s->check_intact();
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("was deleted"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find((dir / "group.db").string()), std::string::npos) << st.message();
  EXPECT_EQ(s->fault(), st.message());
  EXPECT_FALSE(s->begin_batch());  // permanent
  EXPECT_FALSE(s->append(msg("x", 1)));
  EXPECT_FALSE(s->sync());
}

TEST_F(SqliteStoreTest, AReplacedFileIsAFault) {
  auto s = open();
  {
    std::ofstream f(dir / "other.db");
    f << "x";
  }
  fs::rename(dir / "other.db", dir / "group.db");
  auto st = s->check_intact();
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("was replaced"), std::string::npos) << st.message();
}

TEST_F(SqliteStoreTest, ATruncatedFileIsAFaultWhileRunning) {
  auto s = open();
  const auto path = dir / "group.db";
  ASSERT_GT(fs::file_size(path), 0u);  // the schema, checkpointed at open
  EXPECT_TRUE(s->check_intact());
  fs::resize_file(path, 0);
  auto st = s->check_intact();
  ASSERT_FALSE(st);
  EXPECT_NE(st.message().find("was truncated"), std::string::npos) << st.message();
}

TEST_F(SqliteStoreTest, WritesNeedASyncWithSyncNormalOnly) {
  auto s = open();
  EXPECT_FALSE(s->needs_sync());
  ASSERT_TRUE(s->add_member("u1", ""));
  EXPECT_TRUE(s->needs_sync());
  ASSERT_TRUE(s->sync());
  EXPECT_FALSE(s->needs_sync());
  s.reset();
  auto full = SqliteStore::open({(dir / "group.db").string(), true, 0});
  ASSERT_TRUE(full);
  ASSERT_TRUE((*full)->add_member("u2", ""));
  EXPECT_FALSE((*full)->needs_sync());
}

}  // namespace
}  // namespace gc
