// Group on the durable store: what must hold across a restart of the server.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "group/group.hpp"
#include "store/sqlite_store.hpp"
#include "support/scratch.hpp"

namespace gc {
namespace {

namespace fs = std::filesystem;

class GroupOnSqliteTest : public ::testing::Test {
 protected:
  std::unique_ptr<SqliteStore> open() {
    auto r = SqliteStore::open({(dir / "group.db").string(), false, 0});
    EXPECT_TRUE(r.is_ok()) << (r ? "" : r.error());
    return r ? std::move(*r) : nullptr;
  }

  testing::ScratchDir scratch;
  const fs::path& dir = scratch.path();
};

TEST_F(GroupOnSqliteTest, IdempotencyOfARetriedSendHoldsAcrossReopen) {
  std::string first_reply;
  {
    auto s = open();
    Group g(*s);
    GroupOutcome out;
    g.handle_body(R"({"action":"joinGroup","user_uuid":"u"})", 1'000'000, out);
    g.handle_body(R"({"action":"sendMessage","user_uuid":"u","message":"m","client_msg_id":"k"})",
                  2'000'000, out);
    first_reply = out.reply;
  }
  auto s = open();
  Group g(*s);
  GroupOutcome out;
  g.handle_body(R"({"action":"sendMessage","user_uuid":"u","message":"m","client_msg_id":"k"})",
                3'000'000, out);
  EXPECT_EQ(out.reply, first_reply);
  EXPECT_EQ(s->last_seq(), 1u);
}

TEST_F(GroupOnSqliteTest, ABatchAfterTheFileWasDeletedIsAnsweredFailedNamingTheFault) {
  auto s = open();
  Group g(*s);
  GroupOutcome out;
  g.handle_body(R"({"action":"joinGroup","user_uuid":"u"})", 1'000'000, out);
  ASSERT_NE(out.reply.find("SUCCESS"), std::string::npos);
  fs::remove(dir / "group.db");
  std::vector<GroupOutcome> outs(2);
  g.begin_batch();
  g.handle_body(R"({"action":"sendMessage","user_uuid":"u","message":"m"})", 2'000'000, outs[0]);
  g.handle_body(R"({"action":"getMessage","user_uuid":"u"})", 2'000'000, outs[1]);
  auto st = g.end_batch(outs);
  EXPECT_FALSE(st);
  for (const auto& o : outs) {
    EXPECT_NE(o.reply.find("FAILED"), std::string::npos) << o.reply;
    EXPECT_NE(o.reply.find("was deleted"), std::string::npos) << o.reply;
    EXPECT_TRUE(o.events.empty());
  }
  EXPECT_FALSE(s->fault().empty());
}

TEST_F(GroupOnSqliteTest, FollowAndGetRepliesCarryTheHistoryId) {
  auto s = open();
  Group g(*s);
  GroupOutcome out;
  g.handle_body(R"({"action":"joinGroup","user_uuid":"u"})", 1'000'000, out);
  g.handle_body(R"({"action":"follow","user_uuid":"u"})", 1'000'000, out);
  EXPECT_NE(out.reply.find("\"history_id\":\"" + s->history_id() + "\""), std::string::npos)
      << out.reply;
  g.handle_body(R"({"action":"getMessage","user_uuid":"u"})", 1'000'000, out);
  EXPECT_NE(out.reply.find("\"history_id\":\"" + s->history_id() + "\""), std::string::npos)
      << out.reply;
}

TEST_F(GroupOnSqliteTest, PublicIdsAreTheSameAfterAReopen) {
  using nlohmann::json;
  std::string joined, page;
  {
    auto s = open();
    Group g(*s);
    GroupOutcome out;
    g.handle_body(R"({"action":"joinGroup","user_uuid":"u"})", 1'000'000, out);
    joined = json::parse(out.reply)["public_id"];
    g.handle_body(R"({"action":"sendMessage","user_uuid":"u","message":"m"})", 2'000'000, out);
    g.handle_body(R"({"action":"getMessage","user_uuid":"u"})", 3'000'000, out);
    page = out.reply;
  }
  EXPECT_EQ(joined.size(), 32u);
  EXPECT_EQ(page.find("\"u\""), std::string::npos) << page;
  auto s = open();
  Group g(*s);
  GroupOutcome out;
  g.handle_body(R"({"action":"getMessage","user_uuid":"u"})", 3'000'000, out);
  EXPECT_EQ(out.reply, page);
  EXPECT_EQ(json::parse(out.reply)["messages"][0]["user_uuid"], joined);
  g.handle_body(R"({"action":"whoami","user_uuid":"u"})", 3'000'000, out);
  EXPECT_EQ(json::parse(out.reply)["public_id"], joined);
}

}  // namespace
}  // namespace gc
