// Group on the durable store: what must hold across a restart of the server.
#include <gtest/gtest.h>

#include <filesystem>

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

}  // namespace
}  // namespace gc
