#include "group/group.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/public_id.hpp"
#include "core/timefmt.hpp"
#include "store/memory_store.hpp"

namespace gc {
namespace {

using nlohmann::json;

constexpr int64_t kNoon = 1'800'000'000'000'000;  // some fixed epoch µs

class GroupTest : public ::testing::Test {
 protected:
  MemoryStore store;
  Group group{store, GroupConfig{100}};
  GroupOutcome out;

  json call(const json& req, int64_t now = kNoon) {
    group.handle_body(req.dump(), now, out);
    return json::parse(out.reply);
  }
  json call_raw(std::string_view body) {
    group.handle_body(body, kNoon, out);
    return json::parse(out.reply);
  }
  json join(const std::string& u, const std::string& name = "") {
    json r = {{"action", "joinGroup"}, {"user_uuid", u}};
    if (!name.empty()) r["name"] = name;
    return call(r);
  }
  json send(const std::string& u, const std::string& text, int64_t now = kNoon,
            const std::string& client_id = "") {
    json r = {{"action", "sendMessage"}, {"user_uuid", u}, {"message", text}};
    if (!client_id.empty()) r["client_msg_id"] = client_id;
    return call(r, now);
  }
  json get(const std::string& u, json extra = json::object()) {
    json r = {{"action", "getMessage"}, {"user_uuid", u}};
    r.update(extra);
    return call(r);
  }
  std::string pid(const std::string& u) { return public_id(store.group_secret(), u); }
};

TEST_F(GroupTest, JoinRepliesSuccessWithThePublicIdAndPrintsTheReferenceLine) {
  EXPECT_EQ(join("u1"), json({{"response", "SUCCESS"}, {"public_id", pid("u1")}}));
  EXPECT_EQ(out.stdout_line, "JOIN REQUEST FROM u1");  // the operator's: the real identity
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, GroupEvent::Kind::member_joined);
  EXPECT_EQ(join("u1"), json({{"response", "SUCCESS"}, {"public_id", pid("u1")}}));  // idempotent
  EXPECT_EQ(*store.member_count(), 1u);
}

TEST_F(GroupTest, LeaveByMemberSucceedsAndEmitsMemberLeft) {
  join("u1");
  EXPECT_EQ(call({{"action", "leaveGroup"}, {"user_uuid", "u1"}}), json({{"response", "SUCCESS"}}));
  EXPECT_EQ(out.stdout_line, "LEAVE REQUEST FROM u1");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, GroupEvent::Kind::member_left);
  EXPECT_FALSE(store.find_member("u1")->has_value());
}

TEST_F(GroupTest, LeaveByNonMemberFailsWithAnErrorAndKeepsServing) {
  auto r = call({{"action", "leaveGroup"}, {"user_uuid", "stranger"}});
  EXPECT_EQ(r["response"], "FAILED");
  EXPECT_EQ(r["error"], "not a member of this group; nothing to leave");
  EXPECT_EQ(out.stdout_line, "LEAVE REQUEST FROM stranger");
  EXPECT_TRUE(out.events.empty());
  EXPECT_EQ(join("u1")["response"], "SUCCESS");
}

TEST_F(GroupTest, SendByNonMemberFails) {
  auto r = send("u1", "hi");
  EXPECT_EQ(r["response"], "FAILED");
  EXPECT_EQ(r["error"], "not a member of this group; join first");
  EXPECT_EQ(out.stdout_line, "MESSAGE SEND FROM u1");
  EXPECT_EQ(store.last_seq(), 0u);
}

TEST_F(GroupTest, GetByNonMemberFails) {
  auto r = get("u1");
  EXPECT_EQ(r["response"], "FAILED");
  EXPECT_EQ(r["error"], "not a member of this group; join first");
  EXPECT_EQ(out.stdout_line, "MESSAGE REQUEST FROM u1");
}

TEST_F(GroupTest, SendStoresWithSeqAndTimestampAndEmitsEvent) {
  join("u1", "Ann");
  auto r = send("u1", "hello");
  EXPECT_EQ(r["response"], "SUCCESS");
  EXPECT_EQ(r["seq"], 1);
  EXPECT_EQ(r["timestamp"], format_local_iso(kNoon));
  EXPECT_EQ(out.stdout_line, "MESSAGE SEND FROM u1");
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].kind, GroupEvent::Kind::message_stored);
  EXPECT_EQ(out.events[0].message.seq, 1u);
  EXPECT_EQ(out.events[0].message.text, "hello");
  EXPECT_EQ(out.events[0].message.name, "Ann");  // the name given at join
  EXPECT_EQ(send("u1", "again")["seq"], 2);
}

TEST_F(GroupTest, SendWithoutMessageFails) {
  join("u1");
  auto r = call({{"action", "sendMessage"}, {"user_uuid", "u1"}});
  EXPECT_EQ(r["error"], "missing field 'message'");
}

TEST_F(GroupTest, OverLimitMessageIsRefused) {
  join("u1");
  auto r = send("u1", std::string(101, 'x'));
  EXPECT_EQ(r["response"], "FAILED");
  EXPECT_EQ(r["error"], "message of 101 bytes is over the limit of 100 bytes");
  EXPECT_EQ(send("u1", std::string(100, 'x'))["response"], "SUCCESS");
}

TEST_F(GroupTest, TimestampsNeverGoBackwardsWhenTheClockDoes) {
  join("u1");
  send("u1", "a", kNoon);
  auto r = send("u1", "b", kNoon - 5'000'000);
  EXPECT_EQ(r["timestamp"], format_local_iso(kNoon));
  EXPECT_EQ(store.last_time_us(), kNoon);
}

TEST_F(GroupTest, ClientMsgIdMakesARetriedSendIdempotent) {
  join("u1");
  join("u2");
  auto first = send("u1", "once", kNoon, "c-1");
  auto again = send("u1", "once", kNoon + 10, "c-1");
  EXPECT_EQ(again["seq"], first["seq"]);
  EXPECT_EQ(again["timestamp"], first["timestamp"]);
  EXPECT_TRUE(out.events.empty());  // nothing new stored, nothing to push
  EXPECT_EQ(store.last_seq(), 1u);
  // The id is per sender.
  EXPECT_EQ(send("u2", "other", kNoon, "c-1")["seq"], 2);
  EXPECT_EQ(send("u1", "new", kNoon, "c-2")["seq"], 3);
}

TEST_F(GroupTest, GetReturnsAllOldestFirstWithReferenceFields) {
  join("u1");
  send("u1", "a", kNoon);
  send("u1", "b", kNoon + 1);
  auto r = get("u1", {{"timestamp", nullptr}});
  EXPECT_EQ(r["response"], "SUCCESS");
  ASSERT_EQ(r["messages"].size(), 2u);
  EXPECT_EQ(r["messages"][0], json({{"user_uuid", pid("u1")},
                                    {"message", "a"},
                                    {"timestamp", format_local_iso(kNoon)},
                                    {"seq", 1}}));
  EXPECT_EQ(r["messages"][1]["message"], "b");
  EXPECT_EQ(r["more"], false);
  EXPECT_EQ(r["last_seq"], 2);
  EXPECT_EQ(get("u1")["messages"].size(), 2u);  // absent = null
}

TEST_F(GroupTest, MembersSeeEachOtherByPublicIdNeverByTheStoredIdentity) {
  join("alice-uuid");
  join("bob-uuid");
  send("alice-uuid", "from alice", kNoon, "a-1");
  ASSERT_EQ(out.events.size(), 1u);
  // The push names the sender by public id; the store keeps the identity.
  EXPECT_EQ(out.events[0].public_id, pid("alice-uuid"));
  EXPECT_EQ(out.events[0].message.user_uuid, "alice-uuid");
  std::string pushed;
  encode_push(pushed, out.events[0].message, out.events[0].public_id);
  EXPECT_EQ(pushed.find("alice-uuid"), std::string::npos) << pushed;
  EXPECT_EQ(json::parse(pushed)["user_uuid"], pid("alice-uuid"));
  send("bob-uuid", "from bob", kNoon, "b-1");
  EXPECT_EQ(out.stdout_line, "MESSAGE SEND FROM bob-uuid");  // the operator's line keeps it

  for (const char* reader : {"alice-uuid", "bob-uuid"}) {
    get(reader);
    EXPECT_EQ(out.reply.find("alice-uuid"), std::string::npos) << out.reply;
    EXPECT_EQ(out.reply.find("bob-uuid"), std::string::npos) << out.reply;
    json r = json::parse(out.reply);
    ASSERT_EQ(r["messages"].size(), 2u);
    EXPECT_EQ(r["messages"][0]["user_uuid"], pid("alice-uuid"));
    EXPECT_EQ(r["messages"][1]["user_uuid"], pid("bob-uuid"));
  }
  EXPECT_NE(pid("alice-uuid"), pid("bob-uuid"));
  // A retried send is still found by the real identity.
  EXPECT_EQ(send("alice-uuid", "from alice", kNoon, "a-1")["seq"], 1);
}

TEST_F(GroupTest, PublicIdsStayRightPastTheCacheOfRecentSenders) {
  // More senders than the cache holds, then the first ones again.
  const size_t n = PublicIdCache::kEntries + 10;
  for (size_t i = 0; i < n; ++i) {
    const std::string u = "user-" + std::to_string(i);
    join(u);
    send(u, "m");
  }
  auto r = get("user-0", {{"limit", 10000}});
  ASSERT_EQ(r["messages"].size(), n);
  for (size_t i = 0; i < n; ++i)
    EXPECT_EQ(r["messages"][i]["user_uuid"], pid("user-" + std::to_string(i))) << i;
}

TEST_F(GroupTest, WhoamiAnswersThePublicIdAndMembershipAndPrintsNothing) {
  EXPECT_EQ(call({{"action", "whoami"}, {"user_uuid", "u1"}}),
            json({{"response", "SUCCESS"}, {"public_id", pid("u1")}, {"member", false}}));
  EXPECT_TRUE(out.stdout_line.empty());
  EXPECT_TRUE(out.events.empty());
  join("u1");
  EXPECT_EQ(call({{"action", "whoami"}, {"user_uuid", "u1"}}),
            json({{"response", "SUCCESS"}, {"public_id", pid("u1")}, {"member", true}}));
  EXPECT_TRUE(out.stdout_line.empty());
  EXPECT_EQ(*store.member_count(), 1u);  // it changes nothing
  EXPECT_EQ(call_raw(R"({"action":"whoami"})")["error"], "missing field 'user_uuid'");
}

TEST_F(GroupTest, GetByTimestampInEachForm) {
  join("u1");
  // Three messages one hour apart, at local times we can name.
  const int64_t hour = 3'600'000'000;
  int64_t t0 = *parse_since("2026-03-04T10:00:00", 0);
  send("u1", "ten", t0);
  send("u1", "eleven", t0 + hour);
  send("u1", "noon", t0 + 2 * hour);
  auto texts = [&](const json& r) {
    std::vector<std::string> v;
    for (auto& m : r["messages"]) v.push_back(m["message"]);
    return v;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(texts(get("u1", {{"timestamp", "2026-03-04T11:00:00"}})), (V{"eleven", "noon"}));
  EXPECT_EQ(texts(get("u1", {{"timestamp", "2026-03-04 11:00:00.000001"}})), (V{"noon"}));
  EXPECT_EQ(texts(get("u1", {{"timestamp", "2026-03-04 09:00:00"}})), (V{"ten", "eleven", "noon"}));
  // HH:MM:SS means today, by the server's clock (now = t0 + 2h here).
  group.handle_body(
      json({{"action", "getMessage"}, {"user_uuid", "u1"}, {"timestamp", "10:30:00"}}).dump(),
      t0 + 2 * hour, out);
  EXPECT_EQ(texts(json::parse(out.reply)), (V{"eleven", "noon"}));
  EXPECT_TRUE(get("u1", {{"timestamp", "2026-03-05T00:00:00"}})["messages"].empty());
}

TEST_F(GroupTest, SinceTimeIsAnExactInstantPreferredToTimestamp) {
  join("u1");
  const int64_t t0 = *parse_since("2026-03-04T10:00:00Z", 0);
  send("u1", "a", t0);
  send("u1", "b", t0 + 500'000);
  auto texts = [&](const json& r) {
    std::vector<std::string> v;
    for (auto& m : r["messages"]) v.push_back(m["message"]);
    return v;
  };
  using V = std::vector<std::string>;
  // The same instant in three spellings; timestamp is not read beside it.
  for (const char* since : {"2026-03-04T10:00:00.25Z", "2026-03-04T19:00:00.250000+09:00",
                            "2026-03-04T02:00:00.25-08:00"}) {
    EXPECT_EQ(texts(get("u1", {{"since_time", since}, {"timestamp", "2999-01-01T00:00:00"}})),
              (V{"b"}))
        << since;
    EXPECT_EQ(texts(get("u1", {{"timestamp", since}})), (V{"b"})) << since;
  }
  // An empty since_time is absent: timestamp counts.
  EXPECT_EQ(texts(get("u1", {{"since_time", ""}, {"timestamp", "2000-01-01"}})), (V{"a", "b"}));
  auto r = get("u1", {{"since_time", "2026-03-04T10:00:00"}});
  EXPECT_EQ(r["response"], "FAILED");
  EXPECT_EQ(r["error"].get<std::string>().rfind("cannot parse since_time '2026-03-04T10:00:00'", 0),
            0u)
      << r;
  r = get("u1", {{"since_time", std::string(65, '1')}});
  EXPECT_EQ(r["error"], "field 'since_time' of 65 bytes is over the limit of 64 bytes");
}

TEST_F(GroupTest, UnparseableTimestampIsRefused) {
  join("u1");
  auto r = get("u1", {{"timestamp", "yesterday"}});
  EXPECT_EQ(r["response"], "FAILED");
  EXPECT_EQ(r["error"].get<std::string>().rfind("cannot parse timestamp 'yesterday'", 0), 0u);
}

TEST_F(GroupTest, SinceSeqAndLimitPageThroughHistory) {
  join("u1");
  for (int i = 1; i <= 25; ++i) send("u1", std::to_string(i), kNoon + i);
  std::vector<int> seen;
  uint64_t after = 0;
  for (int pages = 0; pages < 10; ++pages) {
    auto r = get("u1", {{"since_seq", after}, {"limit", 10}});
    for (auto& m : r["messages"]) {
      seen.push_back(m["seq"]);
      EXPECT_EQ(m["message"], std::to_string(m["seq"].get<int>()));
    }
    EXPECT_EQ(r["last_seq"], 25);
    if (!r["more"].get<bool>()) break;
    EXPECT_EQ(r["messages"].size(), 10u);
    after = r["messages"].back()["seq"];
  }
  ASSERT_EQ(seen.size(), 25u);
  for (int i = 0; i < 25; ++i) EXPECT_EQ(seen[i], i + 1);
  EXPECT_TRUE(get("u1", {{"since_seq", 25}})["messages"].empty());
  EXPECT_TRUE(get("u1", {{"since_seq", 1000}})["messages"].empty());
}

TEST_F(GroupTest, SinceSeqAndTimestampCombineAsAnd) {
  join("u1");
  for (int i = 1; i <= 6; ++i) send("u1", std::to_string(i), kNoon + i * 1'000'000);
  // time >= message 4's time AND seq > 2 → 4, 5, 6; seq > 5 → 6.
  std::string t4 = format_local_iso(kNoon + 4'000'000);
  auto r = get("u1", {{"timestamp", t4}, {"since_seq", 2}});
  ASSERT_EQ(r["messages"].size(), 3u);
  EXPECT_EQ(r["messages"][0]["seq"], 4);
  r = get("u1", {{"timestamp", t4}, {"since_seq", 5}});
  ASSERT_EQ(r["messages"].size(), 1u);
  EXPECT_EQ(r["messages"][0]["seq"], 6);
}

TEST_F(GroupTest, ARequestNamingNoPageGetsTheNewestThousand) {
  // The reference's getMessage has no limit, last or since_seq: it gets the
  // newest messages, oldest first, never the oldest page of a long history.
  join("u1");
  for (int i = 1; i <= 1003; ++i) send("u1", std::to_string(i));
  auto r = get("u1");
  ASSERT_EQ(r["messages"].size(), 1000u);
  EXPECT_EQ(r["messages"].front()["seq"], 4);
  EXPECT_EQ(r["messages"].back()["seq"], 1003);
  EXPECT_EQ(r["more"], false);
  // A limit alone still pages from the start, 1000 by default with since_seq.
  r = get("u1", {{"limit", 1000}});
  EXPECT_EQ(r["messages"].front()["seq"], 1);
  EXPECT_EQ(r["more"], true);
  r = get("u1", {{"since_seq", 0}});
  ASSERT_EQ(r["messages"].size(), 1000u);
  EXPECT_EQ(r["messages"].front()["seq"], 1);
  EXPECT_EQ(r["more"], true);
}

TEST_F(GroupTest, LastGivesTheNewestThatPassTheOtherFiltersOldestFirst) {
  join("u1");
  for (int i = 1; i <= 10; ++i) send("u1", std::to_string(i), kNoon + i * 1'000'000);
  auto seqs = [](const json& r) {
    std::vector<int> v;
    for (auto& m : r["messages"]) v.push_back(m["seq"]);
    return v;
  };
  using V = std::vector<int>;
  EXPECT_EQ(seqs(get("u1", {{"last", 3}})), (V{8, 9, 10}));
  EXPECT_EQ(get("u1", {{"last", 3}})["more"], false);
  EXPECT_EQ(seqs(get("u1", {{"last", 30}})), (V{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  // Filters first, then the newest of what passes.
  EXPECT_EQ(seqs(get("u1", {{"last", 3}, {"since_seq", 8}})), (V{9, 10}));
  std::string t4 = format_local_iso(kNoon + 4'000'000);
  EXPECT_EQ(seqs(get("u1", {{"last", 30}, {"timestamp", t4}})), (V{4, 5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(seqs(get("u1", {{"last", 2}, {"timestamp", t4}, {"since_seq", 1}})), (V{9, 10}));
  EXPECT_TRUE(get("u1", {{"last", 2}, {"since_seq", 10}})["messages"].empty());
  // The scanner and the full parser agree on the field.
  EXPECT_EQ(seqs(call_raw(R"({"action":"getMessage","user_uuid":"u1","last":1})")), (V{10}));
  EXPECT_EQ(seqs(call_raw(R"({"action":"getMessage","user_uuid":"u1", "last" : 1 })")), (V{10}));
}

TEST_F(GroupTest, LastIsCheckedLikeLimit) {
  join("u1");
  send("u1", "x");
  EXPECT_EQ(get("u1", {{"last", 0}})["error"], "field 'last' must be an integer from 1 to 10000");
  EXPECT_EQ(get("u1", {{"last", 10001}})["error"],
            "field 'last' must be an integer from 1 to 10000");
  EXPECT_EQ(get("u1", {{"last", "3"}})["error"], "field 'last' must be an integer from 1 to 10000");
  EXPECT_EQ(get("u1", {{"last", 2}, {"limit", 2}})["error"], "give 'last' or 'limit', not both");
}

TEST_F(GroupTest, TheNewestPageUnderTheReplyCapKeepsTheNewest) {
  MemoryStore small_store;
  GroupConfig config{100};
  config.max_message_bytes = 4096;
  config.max_reply_bytes = 2000;
  Group small{small_store, config};
  GroupOutcome o;
  auto call_small = [&](const json& req) {
    small.handle_body(req.dump(), kNoon, o);
    return json::parse(o.reply);
  };
  call_small({{"action", "joinGroup"}, {"user_uuid", "u1"}});
  for (int i = 1; i <= 20; ++i)
    call_small(
        {{"action", "sendMessage"}, {"user_uuid", "u1"}, {"message", std::string(300, 'a')}});
  auto r = call_small({{"action", "getMessage"}, {"user_uuid", "u1"}});
  ASSERT_GE(r["messages"].size(), 1u);
  EXPECT_LT(r["messages"].size(), 20u);
  EXPECT_EQ(r["messages"].back()["seq"], 20);
  EXPECT_LE(o.reply.size(), 2000u);
  // Escaping that doubles the text still leaves the newest one.
  for (int i = 21; i <= 24; ++i)
    call_small(
        {{"action", "sendMessage"}, {"user_uuid", "u1"}, {"message", std::string(300, '"')}});
  r = call_small({{"action", "getMessage"}, {"user_uuid", "u1"}, {"last", 10}});
  ASSERT_GE(r["messages"].size(), 1u);
  EXPECT_EQ(r["messages"].back()["seq"], 24);
  EXPECT_LE(o.reply.size(), 2000u);
}

TEST_F(GroupTest, UnknownActionAndBadInputGetErrorsWithoutPrinting) {
  auto r = call({{"action", "dance"}, {"user_uuid", "u1"}});
  EXPECT_EQ(r["response"], "FAILED");
  EXPECT_EQ(r["error"].get<std::string>().rfind("unknown action 'dance'", 0), 0u);
  EXPECT_NE(r["error"].get<std::string>().find("whoami"), std::string::npos) << r["error"];
  EXPECT_TRUE(out.stdout_line.empty());
  EXPECT_EQ(call_raw("not json")["error"].get<std::string>().rfind("malformed JSON", 0), 0u);
  EXPECT_TRUE(out.stdout_line.empty());
  EXPECT_EQ(call_raw("[]")["error"], "request must be a JSON object");
  EXPECT_EQ(call_raw(R"({"action":"joinGroup"})")["error"], "missing field 'user_uuid'");
  EXPECT_EQ(join("u1")["response"], "SUCCESS");
}

TEST_F(GroupTest, RolledBackBatchForgetsItsWrites) {
  join("u1");
  ASSERT_TRUE(store.begin_batch());
  send("u1", "lost");
  join("u2");
  store.rollback_batch();
  EXPECT_EQ(store.last_seq(), 0u);
  EXPECT_FALSE(store.find_member("u2")->has_value());
  EXPECT_EQ(send("u1", "kept")["seq"], 1);
}

// A store whose writes fail, as a full disk would make them.
class FailingStore final : public GroupStore {
 public:
  MemoryStore inner;
  bool fail_append = true;
  bool fail_commit = false;
  Status begin_batch() override { return inner.begin_batch(); }
  Status commit_batch() override {
    if (!fail_commit) return inner.commit_batch();
    inner.rollback_batch();
    return Status::error("disk I/O error");
  }
  void rollback_batch() override { inner.rollback_batch(); }
  Result<uint64_t> append(const StoredMessage& m) override {
    if (!fail_append) return inner.append(m);
    return Result<uint64_t>::error("database or disk is full");
  }
  Status read_after_seq(uint64_t a, size_t l, MessagePage& p, size_t b) override {
    return inner.read_after_seq(a, l, p, b);
  }
  Status read_newest(uint64_t a, size_t l, MessagePage& p, size_t b) override {
    return inner.read_newest(a, l, p, b);
  }
  Result<uint64_t> first_seq_at_or_after(int64_t t) override {
    return inner.first_seq_at_or_after(t);
  }
  const std::string& history_id() const override { return inner.history_id(); }
  const GroupSecret& group_secret() const override { return inner.group_secret(); }
  Result<std::optional<StoredMessage>> find_by_client_msg_id(const std::string& u,
                                                             const std::string& c) override {
    return inner.find_by_client_msg_id(u, c);
  }
  uint64_t last_seq() const override { return inner.last_seq(); }
  int64_t last_time_us() const override { return inner.last_time_us(); }
  Status add_member(const std::string& u, const std::string& n) override {
    return inner.add_member(u, n);
  }
  Result<bool> remove_member(const std::string& u) override { return inner.remove_member(u); }
  Result<std::optional<std::string>> find_member(const std::string& u) override {
    return inner.find_member(u);
  }
  Result<size_t> member_count() override { return inner.member_count(); }
};

TEST(GroupStoreFailure, AFailedWriteIsAFailedReplyNamingTheProblem) {
  FailingStore store;
  Group group(store);
  GroupOutcome out;
  group.handle_body(R"({"action":"joinGroup","user_uuid":"u"})", kNoon, out);
  group.handle_body(R"({"action":"sendMessage","user_uuid":"u","message":"m"})", kNoon, out);
  auto r = json::parse(out.reply);
  EXPECT_EQ(r["response"], "FAILED");
  EXPECT_EQ(r["error"], "storage error, nothing was stored: database or disk is full");
  EXPECT_TRUE(out.store_failed);
  EXPECT_TRUE(out.events.empty());
}

// A batch as the server loop runs it: begin, handle each body, end.
std::vector<GroupOutcome> run_batch(Group& group, const std::vector<std::string>& bodies,
                                    Status& ended) {
  std::vector<GroupOutcome> outcomes(bodies.size());
  group.begin_batch();
  for (size_t i = 0; i < bodies.size(); ++i) group.handle_body(bodies[i], kNoon, outcomes[i]);
  ended = group.end_batch(outcomes);
  return outcomes;
}

std::string error_text(const GroupOutcome& out) {
  return json::parse(out.reply).value("error", "");
}

constexpr const char* kJoinU = R"({"action":"joinGroup","user_uuid":"u"})";
constexpr const char* kJoinV = R"({"action":"joinGroup","user_uuid":"v"})";
constexpr const char* kSendU = R"({"action":"sendMessage","user_uuid":"u","message":"m"})";

TEST(GroupBatch, AStoreFailureFailsEveryRequestThatReachedTheStoreAndKeepsNothing) {
  FailingStore store;
  Group group(store);
  Status ended;
  auto outs = run_batch(group, {kJoinU, "{bad", kSendU, kJoinV}, ended);
  EXPECT_FALSE(ended.is_ok());
  EXPECT_EQ(ended.message(), "database or disk is full");
  const std::string documented = "storage error, nothing was stored: database or disk is full";
  EXPECT_EQ(error_text(outs[0]), documented);  // its join was rolled back with the batch
  EXPECT_TRUE(outs[0].events.empty());
  EXPECT_EQ(error_text(outs[1]).rfind("malformed JSON", 0), 0u);  // never reached the store
  EXPECT_EQ(error_text(outs[2]), documented);
  EXPECT_EQ(error_text(outs[3]), documented);  // after the failure: not run at all
  EXPECT_FALSE(store.find_member("u")->has_value());
  EXPECT_FALSE(store.find_member("v")->has_value());
  // The next batch starts clean.
  store.fail_append = false;
  outs = run_batch(group, {kJoinU, kSendU}, ended);
  EXPECT_TRUE(ended.is_ok());
  EXPECT_EQ(json::parse(outs[1].reply)["seq"], 1);
}

TEST(GroupBatch, AFailedCommitFailsTheWholeBatchAndDropsItsEvents) {
  FailingStore store;
  store.fail_append = false;
  store.fail_commit = true;
  Group group(store);
  Status ended;
  auto outs = run_batch(group, {kJoinU, kSendU}, ended);
  EXPECT_EQ(ended.message(), "disk I/O error");
  for (const auto& out : outs) {
    EXPECT_EQ(error_text(out), "storage error, nothing was stored: disk I/O error");
    EXPECT_TRUE(out.events.empty());
  }
  EXPECT_EQ(store.last_seq(), 0u);
  EXPECT_FALSE(store.find_member("u")->has_value());
}

TEST(GroupBatch, ACommittedBatchKeepsEveryReplyAndEvent) {
  MemoryStore store;
  Group group(store);
  Status ended;
  auto outs = run_batch(group, {kJoinU, kSendU}, ended);
  EXPECT_TRUE(ended.is_ok());
  EXPECT_EQ(json::parse(outs[0].reply)["response"], "SUCCESS");
  EXPECT_EQ(json::parse(outs[1].reply)["seq"], 1);
  ASSERT_EQ(outs[1].events.size(), 1u);
  EXPECT_EQ(outs[1].events[0].kind, GroupEvent::Kind::message_stored);
  EXPECT_EQ(store.last_seq(), 1u);
}

}  // namespace
}  // namespace gc
