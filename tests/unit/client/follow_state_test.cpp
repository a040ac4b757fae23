#include "client/follow_state.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

namespace gc {
namespace {

using nlohmann::json;

std::string push(int64_t seq) {
  return json{{"event", "message"},
              {"seq", seq},
              {"user_uuid", "u"},
              {"message", "m" + std::to_string(seq)},
              {"timestamp", "t"}}
      .dump();
}

std::string follow_ok(int64_t last_seq) {
  return json{{"response", "SUCCESS"}, {"last_seq", last_seq}}.dump();
}

std::string page(int64_t from, int64_t to, bool more) {
  json msgs = json::array();
  for (int64_t s = from; s <= to; ++s)
    msgs.push_back({{"seq", s}, {"user_uuid", "u"}, {"message", "m"}, {"timestamp", "t"}});
  return json{{"response", "SUCCESS"}, {"messages", msgs}, {"more", more}, {"last_seq", to}}.dump();
}

std::string follow_ok_in(int64_t last_seq, const std::string& history) {
  return json{{"response", "SUCCESS"}, {"last_seq", last_seq}, {"history_id", history}}.dump();
}

std::vector<int64_t> seqs(const FollowOutput& out) {
  std::vector<int64_t> s;
  for (const auto& m : out.to_show) s.push_back(*m.seq);
  return s;
}

json request(const FollowOutput& out, size_t i) {
  return json::parse(out.requests.at(i));
}

TEST(FollowStateTest, WithoutSinceSeqStartsFromTheServersLastSeq) {
  FollowState f("u", std::nullopt);
  FollowOutput out;
  f.start(0, out);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(request(out, 0)["action"], "follow");
  EXPECT_FALSE(request(out, 0).contains("since_seq"));
  out.clear();
  f.on_frame(follow_ok(41), 1, out);
  EXPECT_EQ(f.last_seq(), 41);
  EXPECT_TRUE(out.requests.empty());  // nothing to catch up
  f.on_frame(push(42), 2, out);
  f.on_frame(push(43), 3, out);
  EXPECT_EQ(seqs(out), (std::vector<int64_t>{42, 43}));
}

TEST(FollowStateTest, TheFollowReplyNamesOurPublicIdAndAReferenceOneNothing) {
  FollowState f("u", std::nullopt);
  FollowOutput out;
  f.start(0, out);
  f.on_frame(follow_ok(3), 1, out);
  EXPECT_EQ(f.public_id(), "");  // a reference group names none
  f.on_frame(json{{"response", "SUCCESS"}, {"last_seq", 3}, {"public_id", "3fa9c2d1e0b7"}}.dump(),
             2, out);
  EXPECT_EQ(f.public_id(), "3fa9c2d1e0b7");
  f.on_frame(json{{"response", "SUCCESS"}, {"last_seq", 3}, {"public_id", 7}}.dump(), 3, out);
  EXPECT_EQ(f.public_id(), "3fa9c2d1e0b7");  // not a string: ignored
  EXPECT_TRUE(out.problems.empty());
}

TEST(FollowStateTest, SinceSeqFetchesTheBacklogInPagesThenShowsPushes) {
  FollowTiming timing;
  timing.fetch_limit = 2;
  FollowState f("u", 0, timing);
  FollowOutput out;
  f.start(0, out);
  EXPECT_EQ(request(out, 0)["since_seq"], 0);
  out.clear();
  f.on_frame(follow_ok(3), 1, out);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(request(out, 0)["action"], "getMessage");
  EXPECT_EQ(request(out, 0)["since_seq"], 0);
  EXPECT_EQ(request(out, 0)["limit"], 2);
  out.clear();
  f.on_frame(push(4), 2, out);  // arrives while catching up: held back, not lost
  f.on_frame(page(1, 2, true), 3, out);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(request(out, 0)["since_seq"], 2);
  f.on_frame(page(3, 4, false), 4, out);
  EXPECT_EQ(seqs(out), (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST(FollowStateTest, DuplicatesAreDroppedAndGapsFetched) {
  FollowState f("u", 10);
  FollowOutput out;
  f.start(0, out);
  f.on_frame(follow_ok(10), 1, out);
  out.clear();
  f.on_frame(push(11), 2, out);
  f.on_frame(push(11), 3, out);  // duplicate
  f.on_frame(push(13), 4, out);  // 12 was dropped on the way
  EXPECT_EQ(seqs(out), (std::vector<int64_t>{11}));
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(request(out, 0)["since_seq"], 11);
  out.clear();
  f.on_frame(page(12, 13, false), 5, out);
  EXPECT_EQ(seqs(out), (std::vector<int64_t>{12, 13}));
  EXPECT_EQ(f.last_seq(), 13);
}

TEST(FollowStateTest, RenewsAndReconnectsWhenTheServerIsSilent) {
  FollowTiming timing;
  timing.renew_ms = 100;
  timing.reply_timeout_ms = 300;
  FollowState f("u", 5, timing);
  FollowOutput out;
  f.start(0, out);
  f.on_frame(follow_ok(5), 10, out);
  out.clear();
  EXPECT_EQ(f.next_deadline_ms(), 100);
  f.on_tick(100, out);
  ASSERT_EQ(out.requests.size(), 1u);  // the renewal
  EXPECT_EQ(request(out, 0)["since_seq"], 5);
  out.clear();
  f.on_tick(350, out);
  EXPECT_FALSE(out.reconnect);
  f.on_tick(400, out);  // renewal sent at 100 unanswered for 300 ms
  EXPECT_TRUE(out.reconnect);
  out.clear();
  f.start(401, out);  // the server restarted with more messages
  f.on_frame(follow_ok(7), 402, out);
  ASSERT_EQ(out.requests.size(), 2u);
  EXPECT_EQ(request(out, 1)["action"], "getMessage");
  EXPECT_EQ(request(out, 1)["since_seq"], 5);
}

TEST(FollowStateTest, APushThatOvertakesTheFollowReplyIsFetchedNotSkipped) {
  // The reply says "now" is seq 41, but the push of 42 (stored in the same
  // batch) came first: 42 is after "now", so it must be shown.
  FollowState f("u", std::nullopt);
  FollowOutput out;
  f.start(0, out);
  out.clear();
  f.on_frame(push(42), 1, out);
  f.on_frame(follow_ok(41), 2, out);
  EXPECT_EQ(f.last_seq(), 41);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(request(out, 0)["action"], "getMessage");
  EXPECT_EQ(request(out, 0)["since_seq"], 41);
  out.clear();
  f.on_frame(page(42, 42, false), 3, out);
  EXPECT_EQ(seqs(out), (std::vector<int64_t>{42}));
}

TEST(FollowStateTest, AnsweredIsSetByRepliesOnly) {
  FollowState f("u", 0);
  FollowOutput out;
  f.start(0, out);
  f.on_frame(push(1), 1, out);
  EXPECT_FALSE(out.answered);  // a push is not an answer
  f.on_frame(follow_ok(0), 2, out);
  EXPECT_TRUE(out.answered);
  out.clear();
  EXPECT_FALSE(out.answered);
}

TEST(FollowStateTest, ALeaveEndsFollowingAtTheNextRenewal) {
  FollowTiming timing;
  timing.renew_ms = 100;
  FollowState f("u", 3, timing);
  FollowOutput out;
  f.start(0, out);
  f.on_frame(follow_ok(3), 1, out);
  out.clear();
  f.on_tick(100, out);
  ASSERT_EQ(out.requests.size(), 1u);
  out.clear();
  f.on_frame(R"({"response":"FAILED","error":"not a member of this group; join first"})", 101, out);
  EXPECT_EQ(out.refused, "not a member of this group; join first");
  EXPECT_TRUE(out.to_show.empty());
}

TEST(FollowStateTest, RefusalIsReported) {
  FollowState f("u", std::nullopt);
  FollowOutput out;
  f.start(0, out);
  f.on_frame(R"({"response":"FAILED","error":"not a member of this group; join first"})", 1, out);
  EXPECT_EQ(out.refused, "not a member of this group; join first");
}

// A hostile server's seqs at int64's top must not overflow last_seq + 1 (found
// by fuzz/follow_state; UBSan in the sanitizer build reports the overflow).
TEST(FollowStateTest, SeqsAtTheTopOfInt64AreIgnored) {
  const int64_t top = std::numeric_limits<int64_t>::max();
  FollowState f("u", std::nullopt);
  FollowOutput out;
  f.start(0, out);
  out.clear();
  f.on_frame(follow_ok(top), 1, out);  // not a seq we can count from: start from 0
  EXPECT_EQ(f.last_seq(), 0);
  f.on_frame(push(top), 2, out);
  f.on_frame(push(1), 3, out);
  EXPECT_EQ(seqs(out), (std::vector<int64_t>{1}));
  json message = {{"seq", top}, {"user_uuid", "u"}, {"message", "m"}, {"timestamp", "t"}};
  f.on_frame(json{{"response", "SUCCESS"}, {"messages", {message}}, {"last_seq", top}}.dump(), 4,
             out);
  EXPECT_EQ(f.last_seq(), 1);
}

TEST(FollowStateTest, GarbageFramesAreSkipped) {
  FollowState f("u", 0);
  FollowOutput out;
  f.start(0, out);
  out.clear();
  f.on_frame("not json", 1, out);
  f.on_frame("[1,2]", 1, out);
  f.on_frame(R"({"event":"other"})", 1, out);
  EXPECT_TRUE(out.to_show.empty());
  EXPECT_TRUE(out.refused.empty());
}

TEST(FollowStateTest, ANewHistoryIdStartsAgainFromItsFirstMessageAndSaysSoOnce) {
  FollowState f("u", std::nullopt);
  FollowOutput out;
  f.start(0, out);
  f.on_frame(follow_ok_in(50, "aaaa"), 1, out);
  EXPECT_EQ(f.last_seq(), 50);
  EXPECT_TRUE(out.notice.empty());
  out.clear();
  // The same history on renewal: nothing changes.
  f.on_frame(follow_ok_in(50, "aaaa"), 2, out);
  EXPECT_TRUE(out.notice.empty());
  EXPECT_TRUE(out.requests.empty());
  out.clear();
  // The group's file was lost: the restarted server has 2 messages in a new
  // history. By seq alone they would be skipped (2 < 50).
  f.on_frame(follow_ok_in(2, "bbbb"), 3, out);
  EXPECT_FALSE(out.notice.empty());
  EXPECT_NE(out.notice.find("history"), std::string::npos) << out.notice;
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(request(out, 0)["action"], "getMessage");
  EXPECT_EQ(request(out, 0)["since_seq"], 0);
  out.clear();
  json msgs = json::array();
  for (int s = 1; s <= 2; ++s)
    msgs.push_back({{"seq", s}, {"user_uuid", "u"}, {"message", "m"}, {"timestamp", "t"}});
  f.on_frame(json{{"response", "SUCCESS"},
                  {"messages", msgs},
                  {"more", false},
                  {"last_seq", 2},
                  {"history_id", "bbbb"}}
                 .dump(),
             4, out);
  EXPECT_EQ(seqs(out), (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(out.notice.empty());  // told once
  out.clear();
  f.on_frame(push(3), 5, out);
  EXPECT_EQ(seqs(out), (std::vector<int64_t>{3}));
}

TEST(FollowStateTest, APageFromANewHistoryIsNotShownAsTheOldOnesContinuation) {
  FollowTiming timing;
  timing.fetch_limit = 10;
  FollowState f("u", 5, timing);
  FollowOutput out;
  f.start(0, out);
  out.clear();
  f.on_frame(follow_ok_in(8, "aaaa"), 1, out);
  ASSERT_EQ(out.requests.size(), 1u);  // fetches 6..8
  out.clear();
  // The answer comes from a new history (restart in between): its 6..7 are
  // not the old 6..7; start the new history from 1.
  json msgs = json::array();
  for (int s = 6; s <= 7; ++s)
    msgs.push_back({{"seq", s}, {"user_uuid", "u"}, {"message", "m"}, {"timestamp", "t"}});
  f.on_frame(json{{"response", "SUCCESS"},
                  {"messages", msgs},
                  {"more", false},
                  {"last_seq", 7},
                  {"history_id", "cccc"}}
                 .dump(),
             2, out);
  EXPECT_TRUE(out.to_show.empty());
  EXPECT_FALSE(out.notice.empty());
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(request(out, 0)["since_seq"], 0);
}

TEST(FollowStateTest, RepliesWithoutAHistoryIdChangeNothing) {
  // A reference group, or a reply that names none: seqs rule as before.
  FollowState f("u", std::nullopt);
  FollowOutput out;
  f.start(0, out);
  f.on_frame(follow_ok_in(10, "aaaa"), 1, out);
  out.clear();
  f.on_frame(follow_ok(10), 2, out);
  EXPECT_TRUE(out.notice.empty());
  EXPECT_EQ(f.last_seq(), 10);
}

TEST(FollowStateTest, UnusableFramesAreReportedSkippedAndNeverStopTheFollow) {
  FollowState f("u", std::nullopt);
  FollowOutput out;
  f.start(0, out);
  out.clear();
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  f.on_frame(deep, 1, out);
  f.on_frame(R"({"response":"SUCCESS","last_seq":1e400})", 1, out);
  f.on_frame(R"({"response":7})", 1, out);
  f.on_frame(R"({"event":"message","seq":1,"user_uuid":5,"message":"m","timestamp":"t"})", 1, out);
  f.on_frame(R"({"event":"message","seq":"1","user_uuid":"u","message":"m","timestamp":"t"})", 1,
             out);
  f.on_frame(R"({"response":"SUCCESS","last_seq":"4"})", 1, out);
  ASSERT_EQ(out.problems.size(), 6u);
  EXPECT_EQ(out.problems[0], "skipped a frame that is not JSON: nesting deeper than 32 levels");
  EXPECT_EQ(out.problems[3], "skipped a push: \"user_uuid\" of a message is not a string");
  EXPECT_TRUE(out.refused.empty());
  EXPECT_TRUE(out.to_show.empty());
  // Still following: a good reply and push are used as ever.
  f.on_frame(follow_ok(0), 2, out);
  f.on_frame(push(1), 3, out);
  EXPECT_EQ(seqs(out), (std::vector<int64_t>{1}));
}

TEST(FollowStateTest, ReportsOfUnusableFramesAreCapped) {
  FollowState f("u", 0);
  FollowOutput out;
  f.start(0, out);
  for (int i = 0; i < 1000; ++i) f.on_frame("garbage", 1, out);
  ASSERT_EQ(out.problems.size(), static_cast<size_t>(kMaxFollowProblemReports));
  EXPECT_NE(out.problems.back().find("further unusable frames are skipped silently"),
            std::string::npos);
}

TEST(FollowStateTest, APageThatDoesNotAdvanceIsNotFetchedAgainAndAgain) {
  FollowState f("u", 5);
  FollowOutput out;
  f.start(0, out);
  out.clear();
  // The follow reply says there is more than we have: a fetch.
  f.on_frame(follow_ok(1'000'000), 1, out);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(request(out, 0)["action"], "getMessage");
  // A hostile group answers with old messages and "more" forever.
  for (int i = 0; i < 100; ++i) {
    out.requests.clear();
    f.on_frame(page(1, 5, true), 2, out);
    if (out.requests.empty()) break;
  }
  EXPECT_TRUE(out.requests.empty());
  EXPECT_TRUE(out.to_show.empty());
  ASSERT_FALSE(out.problems.empty());
  EXPECT_EQ(out.problems[0], "skipped a page that says more messages follow but does not advance");
  // Pushes still come through.
  out.clear();
  f.on_frame(push(6), 3, out);
  EXPECT_EQ(seqs(out), (std::vector<int64_t>{6}));
}

TEST(FollowStateTest, AnUnreadablePageWaitsForTheNextRenewal) {
  FollowState f("u", 5);
  FollowOutput out;
  f.start(0, out);
  f.on_frame(follow_ok(9), 1, out);
  out.clear();
  f.on_frame(R"({"response":"SUCCESS","messages":[{"seq":6}],"last_seq":9})", 2, out);
  EXPECT_TRUE(out.requests.empty());  // not asked again at once
  ASSERT_EQ(out.problems.size(), 1u);
  EXPECT_EQ(out.problems[0], "skipped a page: a message has no \"user_uuid\"");
}

std::string reference_page(int n) {
  json msgs = json::array();
  for (int i = 1; i <= n; ++i)
    msgs.push_back({{"user_uuid", "u"}, {"message", "r" + std::to_string(i)}, {"timestamp", "t"}});
  return json{{"response", "SUCCESS"}, {"messages", msgs}}.dump();
}

std::vector<std::string> texts(const FollowOutput& out) {
  std::vector<std::string> v;
  for (const auto& m : out.to_show) v.push_back(m.message);
  return v;
}

TEST(FollowStateTest, AGroupThatDoesNotPushIsProbedThenPolledAndSaysSoOnce) {
  FollowTiming timing;
  timing.reply_timeout_ms = 300;
  timing.poll_ms = 1000;
  FollowState f("u", std::nullopt, timing);
  FollowOutput out;
  f.start(0, out);
  ASSERT_EQ(out.requests.size(), 1u);  // follow: a reference group gives no reply
  out.clear();
  f.on_tick(300, out);
  EXPECT_FALSE(out.reconnect);  // not yet: a getMessage probe first
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(request(out, 0)["action"], "getMessage");
  EXPECT_TRUE(request(out, 0)["timestamp"].is_null());
  out.clear();
  f.on_frame(reference_page(2), 310, out);  // no last_seq: a reference group
  EXPECT_TRUE(f.polling());
  EXPECT_NE(out.notice.find("polling"), std::string::npos) << out.notice;
  EXPECT_TRUE(out.to_show.empty());  // from now on: the two were there before
  out.clear();
  EXPECT_EQ(f.next_deadline_ms(), 1300);
  f.on_tick(1000, out);
  EXPECT_TRUE(out.requests.empty());
  f.on_tick(1300, out);
  ASSERT_EQ(out.requests.size(), 1u);
  out.clear();
  f.on_frame(reference_page(4), 1310, out);
  EXPECT_EQ(texts(out), (std::vector<std::string>{"r3", "r4"}));
  EXPECT_TRUE(out.notice.empty());  // said once
  out.clear();
  f.on_tick(2310, out);
  f.on_frame(reference_page(4), 2320, out);  // nothing new: nothing shown twice
  EXPECT_TRUE(out.to_show.empty());
  out.clear();
  // A poll unanswered: reconnect, and on the new connection poll at once.
  f.on_tick(3320, out);
  ASSERT_EQ(out.requests.size(), 1u);
  out.clear();
  f.on_tick(3620, out);
  EXPECT_TRUE(out.reconnect);
  out.clear();
  f.start(3621, out);
  ASSERT_EQ(out.requests.size(), 1u);
  EXPECT_EQ(request(out, 0)["action"], "getMessage");
  out.clear();
  // The group restarted with a shorter history: shown from its first message.
  f.on_frame(reference_page(1), 3630, out);
  EXPECT_EQ(texts(out), (std::vector<std::string>{"r1"}));
  EXPECT_FALSE(out.notice.empty());
}

TEST(FollowStateTest, SinceSeqAgainstAGroupThatDoesNotPushCountsPositions) {
  FollowTiming timing;
  timing.reply_timeout_ms = 300;
  FollowState f("u", 1, timing);
  FollowOutput out;
  f.start(0, out);
  f.on_tick(300, out);
  out.clear();
  f.on_frame(reference_page(3), 310, out);
  EXPECT_EQ(texts(out), (std::vector<std::string>{"r2", "r3"}));
}

TEST(FollowStateTest, ASilentGroupIsProbedOnceThenReconnected) {
  FollowTiming timing;
  timing.reply_timeout_ms = 300;
  FollowState f("u", std::nullopt, timing);
  FollowOutput out;
  f.start(0, out);
  f.on_tick(300, out);
  EXPECT_FALSE(out.reconnect);
  out.clear();
  f.on_tick(600, out);  // the probe unanswered too
  EXPECT_TRUE(out.reconnect);
  EXPECT_FALSE(f.polling());
}

TEST(FollowStateTest, OurGroupAnsweringTheProbeIsFollowedAsBefore) {
  FollowTiming timing;
  timing.reply_timeout_ms = 300;
  FollowState f("u", 5, timing);
  FollowOutput out;
  f.start(0, out);
  f.on_tick(300, out);  // the follow reply was lost; the probe goes out
  out.clear();
  f.on_frame(page(9, 9, false), 310, out);  // ours: last_seq 9; the page is not shown
  EXPECT_FALSE(f.polling());
  EXPECT_TRUE(out.to_show.empty());
  ASSERT_EQ(out.requests.size(), 1u);  // catches up from 5 instead
  EXPECT_EQ(request(out, 0)["since_seq"], 5);
}

TEST(FollowStateTest, ASlowHandshakeIsNotTakenForASilentGroup) {
  FollowTiming timing;
  timing.renew_ms = 10000;
  timing.reply_timeout_ms = 300;
  FollowState f("u", 5, timing);
  FollowOutput out;
  f.start(0, out);  // the follow waits in the socket while the connection is set up
  EXPECT_EQ(f.next_deadline_ms(), 300);
  f.on_connected(250);  // the handshake took its round trips
  EXPECT_EQ(f.next_deadline_ms(), 550);
  out.clear();
  f.on_tick(300, out);
  EXPECT_FALSE(out.reconnect);
  EXPECT_TRUE(out.requests.empty());  // no probe either: the connection was still being made
  f.on_tick(550, out);  // still nothing, a full timeout after the connection was made
  ASSERT_EQ(out.requests.size(), 1u);  // the group may not push: a getMessage probe first
  EXPECT_EQ(request(out, 0)["action"], "getMessage");
  out.clear();
  f.on_tick(850, out);  // the probe unanswered too
  EXPECT_TRUE(out.reconnect);
}

TEST(FollowStateTest, AConnectionWithNothingAwaitedStartsNoWait) {
  FollowTiming timing;
  timing.renew_ms = 1000;
  timing.reply_timeout_ms = 300;
  FollowState f("u", 5, timing);
  FollowOutput out;
  f.start(0, out);
  f.on_frame(follow_ok(5), 10, out);
  f.on_connected(20);
  EXPECT_EQ(f.next_deadline_ms(), 1000);  // the renewal, not a reply timeout
}

}  // namespace
}  // namespace gc
