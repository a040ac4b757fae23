// The server side of live delivery without sockets: the follow/unfollow
// actions of Group, the Followers table, and the push encoding.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "groupchat/followers.hpp"
#include "groupchat/group.hpp"
#include "groupchat/memory_store.hpp"

namespace gc {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'800'000'000'000'000;

class GroupFollowTest : public ::testing::Test {
 protected:
  MemoryStore store;
  Group group{store};
  GroupOutcome out;

  json call(const json& req) {
    group.handle_body(req.dump(), kNow, out);
    return json::parse(out.reply);
  }
};

TEST_F(GroupFollowTest, MemberFollowGetsLastSeqAndAnEventAndPrintsNothing) {
  call({{"action", "joinGroup"}, {"user_uuid", "u"}});
  call({{"action", "sendMessage"}, {"user_uuid", "u"}, {"message", "one"}});
  json r = call({{"action", "follow"}, {"user_uuid", "u"}, {"since_seq", 0}});
  EXPECT_EQ(r, json({{"response", "SUCCESS"}, {"last_seq", 1}}));
  EXPECT_TRUE(out.handled);
  EXPECT_TRUE(out.stdout_line.empty());
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, GroupEvent::Kind::follow_requested);
  EXPECT_EQ(out.events[0].user_uuid, "u");
}

TEST_F(GroupFollowTest, NonMemberFollowIsRefusedWithoutAnEvent) {
  json r = call({{"action", "follow"}, {"user_uuid", "stranger"}});
  EXPECT_EQ(r["response"], "FAILED");
  EXPECT_EQ(r["error"], "not a member of this group; join first");
  EXPECT_TRUE(out.events.empty());
}

TEST_F(GroupFollowTest, UnfollowAlwaysSucceedsWithAnEvent) {
  json r = call({{"action", "unfollow"}, {"user_uuid", "anyone"}});
  EXPECT_EQ(r, json({{"response", "SUCCESS"}}));
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, GroupEvent::Kind::unfollow_requested);
}

TEST_F(GroupFollowTest, UnknownActionNamesTheFollowActions) {
  json r = call({{"action", "subscribe"}, {"user_uuid", "u"}});
  EXPECT_NE(r["error"].get<std::string>().find("follow or unfollow"), std::string::npos);
  EXPECT_FALSE(out.handled);
}

TEST(FollowersTest, FollowRenewsAndExpires) {
  Followers f(5000);
  f.follow({"id1"}, "u", 0);
  EXPECT_EQ(f.size(), 1u);
  EXPECT_EQ(f.next_expiry_ms(), 5000);
  f.follow({"id1"}, "u", 3000);  // renewal: same connection, one follow
  EXPECT_EQ(f.size(), 1u);
  EXPECT_EQ(f.expire(7999), 0u);
  EXPECT_EQ(f.expire(8000), 1u);
  EXPECT_EQ(f.size(), 0u);
  EXPECT_EQ(f.next_expiry_ms(), -1);
}

TEST(FollowersTest, LeavingDropsEveryFollowOfThatUserOnly) {
  Followers f;
  f.follow({"id1"}, "u", 0);
  f.follow({"id2"}, "u", 0);
  f.follow({"id3"}, "v", 0);
  EXPECT_EQ(f.drop_user("u"), 2u);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f.all().begin()->second.user_uuid, "v");
}

TEST(FollowersTest, UnfollowEndsOneConnection) {
  Followers f;
  f.follow({"id1"}, "u", 0);
  f.follow({"id2", ""}, "u", 0);
  EXPECT_TRUE(f.unfollow({"id1"}));
  EXPECT_FALSE(f.unfollow({"id1"}));
  EXPECT_EQ(f.size(), 1u);
}

TEST(FollowersTest, EnvelopeKeysDoNotCollideAcrossFramings) {
  EXPECT_NE(Followers::key_of({"ab", ""}), Followers::key_of({"a", "b"}));
  EXPECT_NE(Followers::key_of({"ab"}), Followers::key_of({"ab", ""}));
}

TEST(PushEncodingTest, PushIsTheMessageObjectWithAnEventTag) {
  StoredMessage m;
  m.seq = 7;
  m.user_uuid = "u";
  m.text = "hi \"there\"";
  m.name = "Ann";
  m.time_us = kNow;
  std::string out;
  encode_push(out, m);
  json j = json::parse(out);
  EXPECT_EQ(j["event"], "message");
  EXPECT_EQ(j["seq"], 7);
  EXPECT_EQ(j["user_uuid"], "u");
  EXPECT_EQ(j["message"], "hi \"there\"");
  EXPECT_EQ(j["name"], "Ann");
  EXPECT_TRUE(j["timestamp"].is_string());
}

}  // namespace
}  // namespace gc
