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

}  // namespace
}  // namespace gc
