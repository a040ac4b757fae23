// The server side of live delivery without sockets: the follow/unfollow
// actions of Group and the Subscriptions table.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/public_id.hpp"
#include "group/group.hpp"
#include "group/subscriptions.hpp"
#include "store/memory_store.hpp"

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
  EXPECT_EQ(r, json({{"response", "SUCCESS"},
                     {"last_seq", 1},
                     {"history_id", store.history_id()},
                     {"public_id", public_id(store.group_secret(), "u")}}));
  EXPECT_TRUE(out.reached_store);
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
  EXPECT_NE(r["error"].get<std::string>().find("follow, unfollow or whoami"), std::string::npos);
  EXPECT_FALSE(out.reached_store);
}

TEST(SubscriptionsTest, FollowRenewsAndExpires) {
  Subscriptions f(5000);
  f.follow({"id1"}, "u", "a", nullptr, 0);
  f.follow({"id2"}, "u", "a", nullptr, 0);  // never renewed
  EXPECT_EQ(f.size(), 2u);
  f.follow({"id1"}, "u", "a", nullptr, 3000);  // renewal: same connection, one follow
  EXPECT_EQ(f.size(), 2u);
  EXPECT_EQ(f.expire(4999), 0u);
  EXPECT_EQ(f.expire(5000), 1u);  // id2, 5000 ms after it followed
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f.expire(7999), 0u);
  EXPECT_EQ(f.expire(8000), 1u);  // id1, 5000 ms after its renewal
  EXPECT_EQ(f.size(), 0u);
}

TEST(SubscriptionsTest, LeavingDropsEveryFollowOfThatUserOnly) {
  Subscriptions f(5000);
  f.follow({"id1"}, "u", "a", nullptr, 0);
  f.follow({"id2"}, "u", "a", nullptr, 0);
  f.follow({"id3"}, "v", "a", nullptr, 0);
  EXPECT_EQ(f.drop_user("u"), 2u);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f.all().begin()->second.user_uuid, "v");
}

TEST(SubscriptionsTest, UnfollowEndsOneConnection) {
  Subscriptions f(5000);
  f.follow({"id1"}, "u", "a", nullptr, 0);
  f.follow({"id2", ""}, "u", "a", nullptr, 0);
  EXPECT_TRUE(f.unfollow("id1"));
  EXPECT_FALSE(f.unfollow("id1"));
  EXPECT_EQ(f.size(), 1u);
}

TEST(SubscriptionsTest, ExtraEnvelopeFramesDoNotMakeAnotherFollow) {
  Subscriptions f(5000);
  for (int i = 0; i < 100; ++i)
    EXPECT_FALSE(f.follow({"id1", "fake" + std::to_string(i)}, "u", "a", nullptr, 0));
  EXPECT_EQ(f.size(), 1u);
}

TEST(SubscriptionsTest, FollowsPerUserAndPerAddressAreCapped) {
  Subscriptions f(5000, FollowLimits{2, 3});
  EXPECT_FALSE(f.follow({"id1"}, "u", "a", nullptr, 0));
  EXPECT_FALSE(f.follow({"id2"}, "u", "a", nullptr, 0));
  auto refused = f.follow({"id3"}, "u", "b", nullptr, 0);
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, "too many follows for this user: at most 2 connections at once");
  EXPECT_FALSE(f.follow({"id1"}, "u", "a", nullptr, 10));  // a renewal is never refused
  EXPECT_FALSE(f.follow({"id3"}, "v", "a", nullptr, 0));
  refused = f.follow({"id4"}, "w", "a", nullptr, 0);
  ASSERT_TRUE(refused);
  EXPECT_EQ(*refused, "too many follows from this address: at most 3 at once");
  EXPECT_EQ(f.drop_user("u"), 2u);  // frees both counts
  EXPECT_FALSE(f.follow({"id4"}, "w", "a", nullptr, 0));
  EXPECT_FALSE(f.follow({"id5"}, "u", "b", nullptr, 0));
}

}  // namespace
}  // namespace gc
