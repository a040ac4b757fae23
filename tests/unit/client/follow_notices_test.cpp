// What the follow command and the terminal shell tell a person about a
// follower's connection, and how they print messages: no sockets.
#include "client/follow_notices.hpp"

#include <gtest/gtest.h>

#include "client/display.hpp"

namespace gc {
namespace {

TEST(FollowNoticesTest, QuietWhileTheServerAnswers) {
  FollowNotices n("127.0.0.1:6000");
  EXPECT_FALSE(n.update(0, false));
  EXPECT_FALSE(n.update(0, true));  // the first reply of a healthy start says nothing
  EXPECT_FALSE(n.silent());
}

TEST(FollowNoticesTest, OneNoticePerOutageAndOneWhenBack) {
  FollowNotices n("127.0.0.1:6000");
  auto lost = n.update(1, false);
  ASSERT_TRUE(lost);
  EXPECT_EQ(*lost, "no reply from 127.0.0.1:6000; retrying (is group_server running there?)");
  EXPECT_TRUE(n.silent());
  EXPECT_FALSE(n.update(2, false));  // still down: no repeat
  EXPECT_FALSE(n.update(3, false));
  auto back = n.update(3, true);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, "connected to 127.0.0.1:6000");
  EXPECT_FALSE(n.silent());
  EXPECT_TRUE(n.update(4, false));  // a second outage is told again
}

TEST(FormatTest, JsonLineHasSeqAndNameOnlyWhenPresent) {
  ChatMessage m{"u-1", "", "hi \"there\"", "2026-11-21T18:09:41.123456", 7};
  EXPECT_EQ(format_message_json(m),
            R"({"message":"hi \"there\"","seq":7,"timestamp":"2026-11-21T18:09:41.123456",)"
            R"("user_uuid":"u-1"})");
  m.name = "ann";
  m.seq.reset();
  EXPECT_EQ(format_message_json(m),
            R"({"message":"hi \"there\"","name":"ann","timestamp":"2026-11-21T18:09:41.123456",)"
            R"("user_uuid":"u-1"})");
}

TEST(FormatTest, PushedMessagesNameTheirGroup) {
  ChatMessage m{"u-1", "ann", "hello", "T", 1};
  EXPECT_EQ(format_pushed_message("127.0.0.1:6000", m), "[127.0.0.1:6000] ann : hello (T)");
}

TEST(FormatTest, AFingerprintFollowsTheNameWhenAsked) {
  ChatMessage m{"3fa9c2d1e0b7a6f5e4d3c2b1a0f9e8d7", "alice", "hi", "T", 1};
  EXPECT_EQ(format_message(m), "alice : hi (T)");
  EXPECT_EQ(format_message(m, true), "alice [3fa9c2d1] : hi (T)");
  EXPECT_EQ(format_pushed_message("127.0.0.1:6000", m, true),
            "[127.0.0.1:6000] alice [3fa9c2d1] : hi (T)");
  // A sender's id from a hostile group is shown inert, cut to 8 bytes.
  m.user_uuid = "\x1b[2Jxxxxxxxx";
  EXPECT_EQ(format_message(m, true), "alice [\\x1b[2Jxxxx] : hi (T)");
  // Without a name the whole id is shown already: nothing to add.
  m.name.clear();
  m.user_uuid = "3fa9c2d1e0b7";
  EXPECT_EQ(format_message(m, true), "3fa9c2d1e0b7 : hi (T)");
}

TEST(NameFingerprintsTest, ANameIsSharedOnceTwoSendersUsedItInAGroup) {
  NameFingerprints names;
  const std::string g = "127.0.0.1:6000";
  ChatMessage a1{"aaaaaaaa11", "alice", "one", "T", 1};
  ChatMessage a2{"aaaaaaaa11", "alice", "two", "T", 2};
  ChatMessage b{"bbbbbbbb22", "alice", "three", "T", 3};
  ChatMessage bob{"cccccccc33", "bob", "four", "T", 4};
  names.observe(g, a1);
  names.observe(g, a2);
  names.observe(g, bob);
  EXPECT_FALSE(names.shared(g, a1));  // one sender, however many messages
  EXPECT_FALSE(names.shared(g, bob));
  names.observe(g, b);
  EXPECT_TRUE(names.shared(g, a1));
  EXPECT_TRUE(names.shared(g, b));
  EXPECT_FALSE(names.shared(g, bob));
  // Another group has other ids: its names are counted apart.
  EXPECT_FALSE(names.shared("127.0.0.1:6001", a1));
  names.observe("127.0.0.1:6001", b);
  EXPECT_FALSE(names.shared("127.0.0.1:6001", b));
  // A message without a name is never marked.
  ChatMessage anon{"dddddddd44", "", "x", "T", 5};
  names.observe(g, anon);
  EXPECT_FALSE(names.shared(g, anon));
}

TEST(NameFingerprintsTest, PastItsCapANewNameCountsAsShared) {
  NameFingerprints names;
  const std::string g = "127.0.0.1:6000";
  for (size_t i = 0; i < NameFingerprints::kMaxNames; ++i)
    names.observe(g, ChatMessage{"id-" + std::to_string(i), "n" + std::to_string(i), "", "", {}});
  ChatMessage known{"id-0", "n0", "", "", {}};
  EXPECT_FALSE(names.shared(g, known));
  ChatMessage late{"id-late", "late", "", "", {}};
  EXPECT_FALSE(names.shared(g, late));  // unseen, and the table not yet full
  names.observe(g, late);               // no room: remembered as "cannot tell"
  EXPECT_TRUE(names.shared(g, late));
  EXPECT_FALSE(names.shared(g, known));  // what was told before stays
}

}  // namespace
}  // namespace gc
