// The shell and the typed client calls, over a scripted transport: no sockets.
#include "client/shell.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

#include "client/display.hpp"
#include "client/user_files.hpp"
#include "core/clock.hpp"
#include "core/timefmt.hpp"

namespace gc {
namespace {
using nlohmann::json;

struct SentRequest {
  std::string address;
  json body;
  std::string peer_kind;
};

// Answers each request with the next scripted reply; records what was sent.
class ScriptedTransport : public Transport {
 public:
  std::deque<Result<std::string>> replies;
  std::vector<SentRequest> sent;
  std::optional<int> cap;                   // as cap_waits left it
  std::vector<std::optional<int>> caps_at;  // the cap in force at each request

  void cap_waits(std::optional<int> ms) override { cap = ms; }

  void reply(std::string body) { replies.emplace_back(std::move(body)); }
  void no_reply(std::string error) { replies.emplace_back(Status::error(std::move(error))); }

  Result<std::string> request(const std::string& address, std::string_view body,
                              std::string_view peer_kind) override {
    sent.push_back({address, json::parse(body), std::string(peer_kind)});
    caps_at.push_back(cap);
    if (replies.empty()) return Result<std::string>::error("no scripted reply");
    auto r = replies.front();
    replies.pop_front();
    return r;
  }
};

struct ShellRun {
  std::string out, err;
  std::string unread;  // the input the shell left unread
};

ShellRun run_shell(ScriptedTransport& t, const std::string& input, std::string name = {}) {
  std::istringstream in(input);
  std::ostringstream out, err;
  Shell shell(t, ShellConfig{"127.0.0.1:5555", "u-1", std::move(name), false}, in, out, err);
  ShellRun r;
  shell.run();
  in.clear();
  r.unread.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(ShellTest, JoinPrintsSuccessAndSendsTheReferenceRequest) {
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS"})");
  auto r = run_shell(t, "join_group 127.0.0.1:6000\n");
  EXPECT_EQ(r.out, "SUCCESS\n");
  ASSERT_EQ(t.sent.size(), 1u);
  EXPECT_EQ(t.sent[0].address, "127.0.0.1:6000");
  EXPECT_EQ(t.sent[0].peer_kind, "group_server");
  EXPECT_EQ(t.sent[0].body, json({{"action", "joinGroup"}, {"user_uuid", "u-1"}}));
}

TEST(ShellTest, JoinSendsTheDisplayNameWhenSet) {
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS"})");
  run_shell(t, "join_group 127.0.0.1:6000\n", "alice");
  ASSERT_EQ(t.sent.size(), 1u);
  EXPECT_EQ(t.sent[0].body.value("name", ""), "alice");
}

TEST(ShellTest, FailedPrintsTheServersErrorOnTheNextLine) {
  ScriptedTransport t;
  t.reply(R"({"response":"FAILED","error":"not a member of this group; join first"})");
  auto r = run_shell(t, "leave_group 127.0.0.1:6000\n");
  EXPECT_EQ(r.out, "FAILED\nerror: not a member of this group; join first\n");
}

TEST(ShellTest, ReferenceFailedWithoutErrorPrintsOnlyFailed) {
  ScriptedTransport t;
  t.reply(R"({"response": "FAILED"})");
  auto r = run_shell(t, "leave_group 127.0.0.1:6000\n");
  EXPECT_EQ(r.out, "FAILED\n");
}

TEST(ShellTest, GroupListPrintsOneEntryPerLineFromTheRegistry) {
  ScriptedTransport t;
  t.reply(R"(["A - 127.0.0.1:6000", "B - 127.0.0.1:6001"])");
  auto r = run_shell(t, "get_group_list\n");
  EXPECT_EQ(r.out, "A - 127.0.0.1:6000\nB - 127.0.0.1:6001\n");
  ASSERT_EQ(t.sent.size(), 1u);
  EXPECT_EQ(t.sent[0].address, "127.0.0.1:5555");
  EXPECT_EQ(t.sent[0].peer_kind, "message_server");
  // The registry is no member: it is named by a fresh random id, never the user's identity.
  const json& sent = t.sent[0].body;
  EXPECT_EQ(sent["action"], "get_group_list");
  EXPECT_NE(sent["user_uuid"], "u-1");
  EXPECT_TRUE(is_canonical_uuid(sent["user_uuid"].get<std::string>())) << sent;
}

TEST(ShellTest, ASharedNameIsShownWithEachSendersFingerprint) {
  ScriptedTransport t;
  // The first page holds both users of "alice": both lines are marked.
  t.reply(R"({"response":"SUCCESS","messages":[
      {"user_uuid":"11111111aaaa","name":"alice","message":"one","timestamp":"T1","seq":1},
      {"user_uuid":"22222222bbbb","name":"bob","message":"two","timestamp":"T2","seq":2},
      {"user_uuid":"33333333cccc","name":"alice","message":"three","timestamp":"T3","seq":3}],
      "more":false,"last_seq":3})");
  t.reply(R"({"response":"SUCCESS","messages":[
      {"user_uuid":"22222222bbbb","name":"bob","message":"again","timestamp":"T4","seq":4}],
      "more":false,"last_seq":4})");
  auto r = run_shell(t, "get_messages 127.0.0.1:6000\nget_messages 127.0.0.1:6000 10:00:00\n");
  EXPECT_EQ(r.out,
            "alice [11111111] : one (T1)\n"
            "bob : two (T2)\n"
            "alice [33333333] : three (T3)\n"
            "bob : again (T4)\n");
}

TEST(ShellTest, MessagesPrintAsTheReferenceWithNameInsteadOfUuid) {
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS","messages":[
      {"user_uuid":"u-2","message":"hi","timestamp":"2026-11-21T18:09:41.123456"},
      {"user_uuid":"u-3","name":"bob","message":"yo","timestamp":"2026-11-21T18:09:42.000001"},
      {"user_uuid":"u-4","name":"","message":"x","timestamp":"T"}]})");
  auto r = run_shell(t, "get_messages 127.0.0.1:6000\n");
  EXPECT_EQ(r.out,
            "u-2 : hi (2026-11-21T18:09:41.123456)\n"
            "bob : yo (2026-11-21T18:09:42.000001)\n"
            "u-4 : x (T)\n");
  EXPECT_TRUE(t.sent[0].body["timestamp"].is_null());
}

TEST(ShellTest, FailedGetPrintsTheReferenceNotMemberLine) {
  ScriptedTransport t;
  t.reply(R"({"response":"FAILED"})");
  t.reply(R"({"response":"FAILED","error":"not a member of this group; join first"})");
  auto r = run_shell(t, "get_messages 127.0.0.1:6000\nget_messages 127.0.0.1:6000\n");
  EXPECT_EQ(r.out,
            "User is not a member of this group. Please join the group first.\n"
            "User is not a member of this group. Please join the group first.\n"
            "error: not a member of this group; join first\n");
}

TEST(ShellTest, GetPagesThroughMoreFromTheLastMessagesSeq) {
  ScriptedTransport t;
  // last_seq is the group's head, not the page's end: paging must not skip to it.
  t.reply(
      R"({"response":"SUCCESS","messages":[{"user_uuid":"a","message":"1","timestamp":"T1","seq":1}],"more":true,"last_seq":2})");
  t.reply(
      R"({"response":"SUCCESS","messages":[{"user_uuid":"a","message":"2","timestamp":"T2","seq":2}],"more":false,"last_seq":2})");
  auto r = run_shell(t, "get_messages 127.0.0.1:6000\n");
  EXPECT_EQ(r.out, "a : 1 (T1)\na : 2 (T2)\n");
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_FALSE(t.sent[0].body.contains("since_seq"));
  EXPECT_EQ(t.sent[1].body["since_seq"], 1);
}

TEST(ShellTest, PagingStopsWhenTheServerDoesNotAdvance) {
  ScriptedTransport t;
  for (int i = 0; i < 3; ++i)
    t.reply(
        R"({"response":"SUCCESS","messages":[{"user_uuid":"a","message":"m","timestamp":"T","seq":5}],"more":true,"last_seq":9})");
  t.reply(R"({"response":"SUCCESS","messages":[],"more":true,"last_seq":9})");
  run_shell(t, "get_messages 127.0.0.1:6000\nget_messages 127.0.0.1:6000\n");
  // First get: the second page did not move past seq 5. Second get: an empty page ends it.
  EXPECT_EQ(t.sent.size(), 4u);
}

TEST(ShellTest, GetWithTimeSendsANormalisedTimestamp) {
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS","messages":[]})");
  t.reply(R"({"response":"SUCCESS","messages":[]})");
  auto r = run_shell(t,
                     "get_messages 127.0.0.1:6000 2026-11-21 18:09:41\n"
                     "get_messages 127.0.0.1:6000 2026-11-21T18:09:41.5\n");
  EXPECT_EQ(r.err, "(no messages)\n(no messages)\n");  // no error: nothing at or after them
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[0].body["timestamp"], "2026-11-21T18:09:41");
  // The fraction goes in since_time only: the reference group parses whole seconds.
  EXPECT_EQ(t.sent[1].body["timestamp"], "2026-11-21T18:09:41");
  const std::string instant = t.sent[1].body["since_time"];
  EXPECT_EQ(instant.substr(0, 26), "2026-11-21T18:09:41.500000");
  EXPECT_EQ(*parse_instant(instant), *parse_since("2026-11-21T18:09:41.5", 0));
}

TEST(ShellTest, BadTimeIsRejectedLocally) {
  ScriptedTransport t;
  auto r = run_shell(t, "get_messages 127.0.0.1:6000 yesterday\n");
  EXPECT_TRUE(t.sent.empty());
  EXPECT_NE(r.err.find("error:"), std::string::npos);
  EXPECT_EQ(r.out, "");
}

TEST(ShellTest, SendMessageReadsLinesUntilEnd) {
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS","seq":1,"timestamp":"T"})");
  t.reply(R"({"response":"SUCCESS"})");
  auto r = run_shell(t,
                     "send_message 127.0.0.1:6000\nline one\nline two\nEND\n"
                     "send_message 127.0.0.1:6000\nhello\nEND\n");
  EXPECT_EQ(r.out, "SUCCESS\nSUCCESS\n");
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[0].body["action"], "sendMessage");
  EXPECT_EQ(t.sent[0].body["message"], "line one\nline two");
  EXPECT_EQ(t.sent[1].body["message"], "hello");
  // A fresh client_msg_id per message makes a retried send idempotent.
  ASSERT_TRUE(t.sent[0].body["client_msg_id"].is_string());
  EXPECT_NE(t.sent[0].body["client_msg_id"], t.sent[1].body["client_msg_id"]);
}

TEST(ShellTest, SendMessageWithoutEndSendsNothingAndStops) {
  ScriptedTransport t;
  auto r = run_shell(t, "send_message 127.0.0.1:6000\nunfinished\n");
  EXPECT_TRUE(t.sent.empty());
  EXPECT_NE(r.err.find("END"), std::string::npos);
  EXPECT_EQ(r.unread, "");
}

TEST(ShellTest, UnreachableServerPrintsTheErrorAndGoesOn) {
  ScriptedTransport t;
  t.no_reply(
      "no reply from 127.0.0.1:6000 after 3 tries (1500 ms each); is group_server running there?");
  t.reply(R"({"response":"SUCCESS"})");
  auto r = run_shell(t, "join_group 127.0.0.1:6000\njoin_group 127.0.0.1:6001\n");
  EXPECT_EQ(r.out, "SUCCESS\n");
  EXPECT_NE(r.err.find("no reply from 127.0.0.1:6000"), std::string::npos);
}

TEST(ShellTest, BadReplyIsReportedAsSuch) {
  ScriptedTransport t;
  t.reply("not json");
  auto r = run_shell(t, "join_group 127.0.0.1:6000\n");
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("unexpected reply from 127.0.0.1:6000"), std::string::npos);
}

TEST(ShellTest, InvalidCommandsMissingArgumentsAndBadAddresses) {
  ScriptedTransport t;
  auto r = run_shell(t, "hello\njoin_group\nsend_message\n\njoin_group 127.0.0.1:99999\n");
  EXPECT_EQ(r.out, "Invalid command\nInvalid command\nInvalid command\n");
  EXPECT_NE(r.err.find("usage: join_group IP:PORT|NAME\n"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("usage: send_message IP:PORT|NAME"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad address '127.0.0.1:99999'"), std::string::npos) << r.err;
  EXPECT_TRUE(t.sent.empty());
}

TEST(ShellTest, ExtraWordsAreIgnoredAsTheReferenceDoes) {
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS"})");
  t.reply(R"({"response":"SUCCESS","seq":1,"timestamp":"2026-11-21T10:00:00.000000"})");
  // The lines after "send_message ADDR extra" are the message, not commands.
  auto r = run_shell(t,
                     "join_group 127.0.0.1:6000 please\n"
                     "send_message 127.0.0.1:6000 now\nleave_group 127.0.0.1:6000\nexit\nEND\n");
  EXPECT_EQ(r.out, "SUCCESS\nSUCCESS\n");
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[0].body["action"], "joinGroup");
  EXPECT_EQ(t.sent[1].body["action"], "sendMessage");
  EXPECT_EQ(t.sent[1].body["message"], "leave_group 127.0.0.1:6000\nexit");
}

TEST(ShellTest, ExitStopsReadingAndEndOfInputEndsCleanly) {
  ScriptedTransport t;
  auto r = run_shell(t, "exit\nget_group_list\n");
  EXPECT_EQ(r.unread, "get_group_list\n");  // nothing after exit is read
  EXPECT_TRUE(t.sent.empty());
  auto r2 = run_shell(t, "");
  EXPECT_EQ(r2.out, "");
  EXPECT_EQ(r2.err, "");
}

TEST(ShellTest, HelpListsTheCommands) {
  ScriptedTransport t;
  auto r = run_shell(t, "help\n");
  for (const char* cmd :
       {"join_group", "leave_group", "get_group_list", "get_messages", "send_message", "exit"})
    EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
}

TEST(ShellTest, CrLfInputIsAccepted) {
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS"})");
  auto r = run_shell(t, "send_message 127.0.0.1:6000\r\nhi\r\nEND\r\n");
  EXPECT_EQ(r.out, "SUCCESS\n");
  EXPECT_EQ(t.sent.at(0).body["message"], "hi");
}

TEST(ChatClientTest, OutcomesAreDistinct) {
  ScriptedTransport t;
  GroupClient g(t, "127.0.0.1:6000", "u-1");
  t.reply(R"({"response":"SUCCESS","seq":7,"timestamp":"T"})");
  auto ok = g.send("x");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->seq, 7);
  t.reply(R"({"response":"FAILED","error":"why"})");
  auto refused = g.join();
  EXPECT_EQ(refused.status(), CallStatus::refused);
  EXPECT_EQ(refused.error(), "why");
  t.no_reply("gone");
  EXPECT_EQ(g.leave().status(), CallStatus::unreachable);
  t.reply(R"({"response":"MAYBE"})");
  EXPECT_EQ(g.leave().status(), CallStatus::bad_reply);
  t.reply(R"([1,2])");
  EXPECT_EQ(g.leave().status(), CallStatus::bad_reply);
  t.reply(R"({"response":"SUCCESS"})");
  EXPECT_EQ(g.get({}).status(), CallStatus::bad_reply);  // no messages list
}

TEST(ChatClientTest, RegistryRefusalAndBareStringsAreTold) {
  ScriptedTransport t;
  RegistryClient reg(t, "127.0.0.1:5555", "u-1");
  t.reply(R"({"response":"FAILED","error":"unknown action"})");
  EXPECT_EQ(reg.get_group_list().status(), CallStatus::refused);
  t.reply("SUCCESS");
  EXPECT_EQ(reg.get_group_list().status(), CallStatus::bad_reply);
  t.reply("[]");
  auto empty = reg.get_group_list();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ChatClientTest, GetRequestAlwaysNamesItsPageAndCarriesOurFiltersOnlyWhenSet) {
  MessageQuery q;
  // Without a limit our group would answer its newest page: the first page is asked for.
  EXPECT_EQ(
      json::parse(make_get_request("u", q)),
      json(
          {{"action", "getMessage"}, {"user_uuid", "u"}, {"timestamp", nullptr}, {"limit", 1000}}));
  q.since_seq = 4;
  q.limit = 10;
  q.timestamp = "2026-01-01T00:00:00";
  q.since_us = 5;  // never sent
  auto j = json::parse(make_get_request("u", q));
  EXPECT_EQ(j["since_seq"], 4);
  EXPECT_EQ(j["limit"], 10);
  EXPECT_EQ(j["timestamp"], "2026-01-01T00:00:00");
  EXPECT_FALSE(j.contains("since_time"));
  EXPECT_EQ(j.size(), 5u);  // action, user_uuid, timestamp, since_seq, limit
  q.last = 3;
  q.since_time = "2026-01-01T00:00:00.500000+09:00";
  j = json::parse(make_get_request("u", q));
  EXPECT_EQ(j["last"], 3);
  EXPECT_FALSE(j.contains("limit"));
  EXPECT_EQ(j["since_time"], "2026-01-01T00:00:00.500000+09:00");
}

TEST(ChatClientTest, AReferencePageIsTrimmedAndPagedOnTheClient) {
  // A reference group's reply has no last_seq and ignores last/limit/since_seq.
  ScriptedTransport t;
  GroupClient g(t, "127.0.0.1:6000", "u");
  const std::string all =
      R"({"response":"SUCCESS","messages":[)"
      R"({"user_uuid":"a","message":"1","timestamp":"2026-01-01T10:00:00"},)"
      R"({"user_uuid":"a","message":"2","timestamp":"2026-01-01T10:00:00.400000"},)"
      R"({"user_uuid":"a","message":"3","timestamp":"2026-01-01T10:00:00.600000"},)"
      R"({"user_uuid":"a","message":"4","timestamp":"2026-01-01T10:00:01.5"}]})";
  auto texts = [](const FetchedPage& p) {
    std::string s;
    for (const auto& m : p.messages) s += m.message;
    return s;
  };
  MessageQuery last;
  last.last = 2;
  t.reply(all);
  auto r = g.get(last);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(r->from_reference);
  EXPECT_EQ(texts(r.value()), "34");
  MessageQuery limit;
  limit.limit = 3;
  t.reply(all);
  r = g.get(limit);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(texts(r.value()), "123");
  EXPECT_TRUE(r->more);
  MessageQuery after;
  after.since_seq = 3;
  t.reply(all);
  r = g.get(after);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(texts(r.value()), "4");
  // The exact instant: the reference selected by the whole second.
  auto since = since_for_wire("2026-01-01T10:00:00.5", now_us());
  ASSERT_TRUE(since) << since.error();
  MessageQuery exact;
  since->apply(exact);
  t.reply(all);
  r = g.get(exact);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(texts(r.value()), "34");
}

TEST(ShellFeedTest, SendMessageCollectsLinesUntilEndThenSends) {
  // The terminal loop feeds lines one at a time; the shell keeps its place.
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS","seq":1,"timestamp":"T"})");
  std::istringstream in;
  std::ostringstream out, err;
  Shell shell(t, ShellConfig{"127.0.0.1:5555", "u-1", "", true}, in, out, err);
  EXPECT_TRUE(shell.feed("send_message 127.0.0.1:6000"));
  EXPECT_TRUE(shell.collecting_message());
  EXPECT_TRUE(shell.feed("line one"));
  EXPECT_TRUE(shell.feed("line two\r"));
  EXPECT_TRUE(t.sent.empty());  // nothing sent before END
  EXPECT_TRUE(shell.feed("END"));
  EXPECT_FALSE(shell.collecting_message());
  ASSERT_EQ(t.sent.size(), 1u);
  EXPECT_EQ(t.sent[0].body["message"], "line one\nline two");
  EXPECT_EQ(out.str(), "(type the message; end it with a line END)\nSUCCESS\n");
  EXPECT_FALSE(shell.feed("exit"));
}

TEST(ShellFeedTest, EndOfInputInsideAMessageSendsNothing) {
  ScriptedTransport t;
  std::istringstream in;
  std::ostringstream out, err;
  Shell shell(t, ShellConfig{"127.0.0.1:5555", "u-1", "", false}, in, out, err);
  shell.end_of_input();  // nothing being written: nothing lost
  EXPECT_FALSE(shell.draft_lost());
  shell.feed("send_message 127.0.0.1:6000");
  shell.feed("half a message");
  shell.end_of_input();
  EXPECT_TRUE(t.sent.empty());
  EXPECT_NE(err.str().find("message not sent"), std::string::npos);
  EXPECT_FALSE(shell.collecting_message());
  EXPECT_TRUE(shell.draft_lost());
}

TEST(ShellFeedTest, ConfirmedJoinsAndLeavesAreReportedToTheObserver) {
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS"})");
  t.reply(R"({"response":"FAILED","error":"not a member of this group; join first"})");
  t.reply(R"({"response":"SUCCESS"})");
  std::istringstream in;
  std::ostringstream out, err;
  Shell shell(t, ShellConfig{"127.0.0.1:5555", "u-1", "", false}, in, out, err);
  std::vector<std::pair<std::string, bool>> seen;
  shell.on_membership([&](const std::string& a, bool joined) { seen.emplace_back(a, joined); });
  shell.feed("join_group 127.0.0.1:6000");
  shell.feed("leave_group 127.0.0.1:6001");  // refused: not reported
  shell.feed("leave_group 127.0.0.1:6000");
  shell.feed("join_group bad-address");  // never sent
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, bool>>{{"127.0.0.1:6000", true},
                                                             {"127.0.0.1:6000", false}}));
}

TEST(SinceForWireTest, AcceptsTheParseSinceFormsAndRejectsOthers) {
  const int64_t now = now_us();
  auto hms = since_for_wire("08:30:00", now);
  ASSERT_TRUE(hms) << hms.error();
  EXPECT_EQ(hms->naive.size(), 19u);  // YYYY-MM-DDTHH:MM:SS, today
  EXPECT_EQ(hms->naive.substr(10), "T08:30:00");
  // A fraction stays in the exact instant only: the reference parses whole seconds.
  auto frac = since_for_wire("2026-11-21T22:44:00.5", now);
  ASSERT_TRUE(frac) << frac.error();
  EXPECT_EQ(frac->naive, "2026-11-21T22:44:00");
  EXPECT_EQ(frac->instant.substr(0, 26), "2026-11-21T22:44:00.500000");
  EXPECT_EQ(*parse_instant(frac->instant), frac->epoch_us);
  MessageQuery q;
  frac->apply(q);
  EXPECT_EQ(q.timestamp, frac->naive);
  EXPECT_EQ(q.since_time, frac->instant);
  EXPECT_EQ(q.since_us, frac->epoch_us);
  EXPECT_FALSE(since_for_wire("8:30", now));
  EXPECT_FALSE(since_for_wire("2026-13-01T00:00:00", now));
}

TEST(GroupClientTest, JoinKeepsThePublicIdOurGroupAnswers) {
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS","public_id":"3fa9c2d1e0b7"})");
  t.reply(R"({"response":"SUCCESS"})");  // a reference group
  GroupClient g(t, "127.0.0.1:6000", "u-1");
  ASSERT_TRUE(g.join().ok());
  EXPECT_EQ(g.public_id(), "3fa9c2d1e0b7");
  ASSERT_TRUE(g.join().ok());
  EXPECT_FALSE(g.public_id());
}

TEST(GroupClientTest, WhoamiReadsThePublicIdAndMembership) {
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS","public_id":"3fa9c2d1e0b7","member":false})");
  t.reply(R"({"response":"SUCCESS","member":true})");
  t.reply(R"({"response":"SUCCESS","public_id":"ab","member":"yes"})");
  GroupClient g(t, "127.0.0.1:6000", "u-1");
  auto me = g.whoami();
  ASSERT_TRUE(me.ok()) << me.error();
  EXPECT_EQ(me->public_id, "3fa9c2d1e0b7");
  EXPECT_FALSE(me->member);
  EXPECT_EQ(t.sent[0].body, json({{"action", "whoami"}, {"user_uuid", "u-1"}}));
  auto no_id = g.whoami();
  EXPECT_EQ(no_id.status(), CallStatus::bad_reply);
  EXPECT_NE(no_id.error().find("no \"public_id\""), std::string::npos) << no_id.error();
  auto bad_member = g.whoami();
  EXPECT_EQ(bad_member.status(), CallStatus::bad_reply);
  EXPECT_NE(bad_member.error().find("\"member\""), std::string::npos) << bad_member.error();
}

}  // namespace
}  // namespace gc

namespace gc {
namespace {

TEST(ShellTest, AnEmptyListOrReadIsSaidOnStderrAndStdoutStaysEmpty) {
  ScriptedTransport t;
  t.reply(R"([])");
  t.reply(R"({"response":"SUCCESS","messages":[],"more":false,"last_seq":0})");
  auto r = run_shell(t, "get_group_list\nget_messages 127.0.0.1:6000\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "(no live groups)\n(no messages)\n");
}

}  // namespace
}  // namespace gc

namespace gc {
namespace {

constexpr const char* kList = R"(["lobby - 127.0.0.1:6000", "dev - ops - 127.0.0.1:6001"])";
constexpr const char* kOk = R"({"response":"SUCCESS"})";
constexpr const char* kSent = R"({"response":"SUCCESS","seq":7,"timestamp":"2026-11-21T10:00:00"})";

TEST(ShellCurrentGroupTest, ReferenceCommandsTakeAGroupsName) {
  ScriptedTransport t;
  t.reply(kList);
  t.reply(kOk);
  auto r = run_shell(t, "join_group lobby\n");
  EXPECT_EQ(r.out, "SUCCESS\n");
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[0].address, "127.0.0.1:5555");  // the registry, asked for its list
  EXPECT_EQ(t.sent[0].body.value("action", ""), "get_group_list");
  EXPECT_EQ(t.sent[1].address, "127.0.0.1:6000");
  EXPECT_EQ(t.sent[1].body.value("action", ""), "joinGroup");
}

TEST(ShellCurrentGroupTest, ANameWithTheSeparatorInsideIsSplitAtTheLastOne) {
  ScriptedTransport t;
  t.reply(kList);
  t.reply(kOk);
  auto r = run_shell(t, "/join dev - ops\n");
  EXPECT_EQ(r.out, "SUCCESS\n");
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[1].address, "127.0.0.1:6001");
}

TEST(ShellCurrentGroupTest, AnUnknownNameIsAnErrorWithCloseNamesAndNothingIsSent) {
  ScriptedTransport t;
  t.reply(kList);
  auto r = run_shell(t, "join_group loby\n");
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "error: no live group named 'loby' at the registry 127.0.0.1:5555; did you mean "
            "'lobby'?\n");
  EXPECT_EQ(t.sent.size(), 1u);  // the list only
}

TEST(ShellCurrentGroupTest, ARegistryThatDoesNotAnswerIsSaidAndTheShellGoesOn) {
  ScriptedTransport t;
  t.no_reply("no reply from 127.0.0.1:5555");
  t.reply(kOk);
  auto r = run_shell(t, "get_messages lobby\njoin_group 127.0.0.1:6000\n");
  EXPECT_EQ(r.out, "SUCCESS\n");
  EXPECT_NE(r.err.find("error: cannot look up the group 'lobby' at the registry 127.0.0.1:5555: "
                       "no reply from 127.0.0.1:5555"),
            std::string::npos)
      << r.err;
}

TEST(ShellCurrentGroupTest, SlashJoinMakesACurrentGroupThatPlainLinesGoTo) {
  ScriptedTransport t;
  t.reply(kList);
  t.reply(kOk);
  t.reply(kSent);
  t.reply(kSent);
  t.reply(kSent);
  std::istringstream in("/join lobby\nhello there\n//me waves\n/say help me\n");
  std::ostringstream out, err;
  Shell shell(t, ShellConfig{"127.0.0.1:5555", "u-1", {}, false}, in, out, err);
  EXPECT_EQ(shell.prompt(), "> ");
  shell.run();
  EXPECT_EQ(shell.prompt(), "lobby> ");
  EXPECT_EQ(shell.current_group(), "127.0.0.1:6000");
  // One SUCCESS, the join's: a line sent to the current group is not answered with one.
  EXPECT_EQ(out.str(), "SUCCESS\n");
  EXPECT_EQ(err.str(), "note: lines that are not commands now go to lobby (127.0.0.1:6000)\n");
  ASSERT_EQ(t.sent.size(), 5u);
  for (size_t i = 2; i < 5; ++i) {
    EXPECT_EQ(t.sent[i].address, "127.0.0.1:6000");
    EXPECT_EQ(t.sent[i].body.value("action", ""), "sendMessage");
  }
  EXPECT_EQ(t.sent[2].body.value("message", ""), "hello there");
  EXPECT_EQ(t.sent[3].body.value("message", ""), "/me waves");
  EXPECT_EQ(t.sent[4].body.value("message", ""), "help me");
  // Its live copy is not shown again.
  EXPECT_TRUE(shell.sent_here("127.0.0.1:6000", 7));
}

TEST(ShellCurrentGroupTest, ReferenceCommandsStayCommandsWithACurrentGroup) {
  ScriptedTransport t;
  t.reply(kOk);
  t.reply(R"(["lobby - 127.0.0.1:6000"])");
  auto r = run_shell(t, "/join 127.0.0.1:6000\nget_group_list\nexit\nnot read\n");
  EXPECT_EQ(r.out, "SUCCESS\nlobby - 127.0.0.1:6000\n");
  EXPECT_EQ(r.unread, "not read\n");
  ASSERT_EQ(t.sent.size(), 2u);  // joined by address: the registry was not asked first
}

TEST(ShellCurrentGroupTest, WithoutACurrentGroupOtherLinesAreInvalidAsInTheReference) {
  ScriptedTransport t;
  auto r = run_shell(t, "hello\n//hello\n/say hi\n/messages\n/leave\n/bogus\n");
  EXPECT_EQ(r.out, "Invalid command\n");
  EXPECT_TRUE(t.sent.empty());
  EXPECT_NE(r.err.find("error: no current group; /join IP:PORT|NAME first"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("error: unknown command '/bogus'; help lists the commands"),
            std::string::npos)
      << r.err;
}

TEST(ShellCurrentGroupTest, LeavingTheCurrentGroupClearsIt) {
  ScriptedTransport t;
  t.reply(kOk);
  t.reply(kOk);
  std::istringstream in("/join 127.0.0.1:6000\n/leave\nhello\n");
  std::ostringstream out, err;
  Shell shell(t, ShellConfig{"127.0.0.1:5555", "u-1", {}, false}, in, out, err);
  shell.run();
  EXPECT_EQ(out.str(), "SUCCESS\nSUCCESS\nInvalid command\n");
  EXPECT_EQ(shell.prompt(), "> ");
  ASSERT_EQ(t.sent.size(), 2u);
  EXPECT_EQ(t.sent[1].body.value("action", ""), "leaveGroup");
}

TEST(ShellCurrentGroupTest, AFailedJoinLeavesTheCurrentGroupAsItWas) {
  ScriptedTransport t;
  t.reply(kOk);
  t.reply(R"({"response":"FAILED","error":"full"})");
  std::istringstream in("/join 127.0.0.1:6000\n/join 127.0.0.1:6001\n");
  std::ostringstream out, err;
  Shell shell(t, ShellConfig{"127.0.0.1:5555", "u-1", {}, false}, in, out, err);
  shell.run();
  EXPECT_EQ(out.str(), "SUCCESS\nFAILED\nerror: full\n");
  EXPECT_EQ(shell.prompt(), "127.0.0.1:6000> ");
}

TEST(ShellCurrentGroupTest, ANameThatWouldActOnTheTerminalIsShownInertInThePrompt) {
  ScriptedTransport t;
  t.reply(R"(["a\u001b[2Jb - 127.0.0.1:6000"])");
  t.reply(kOk);
  std::istringstream in("/join a\x1b[2Jb\n");
  std::ostringstream out, err;
  Shell shell(t, ShellConfig{"127.0.0.1:5555", "u-1", {}, false}, in, out, err);
  shell.run();
  EXPECT_EQ(shell.prompt(), "a\\x1b[2Jb> ");
}

TEST(ShellCompletionTest, CommandsThenGroupNamesAskedOnceWhileFresh) {
  ScriptedTransport t;
  t.reply(R"(["lobby - 127.0.0.1:6000", "lab - 127.0.0.1:6001", "x y - 127.0.0.1:6002"])");
  std::istringstream in;
  std::ostringstream out, err;
  Shell shell(t, ShellConfig{"127.0.0.1:5555", "u-1", {}, false}, in, out, err);
  using V = std::vector<std::string>;
  EXPECT_EQ(shell.complete("", "/j"), V{"/join"});
  EXPECT_EQ(shell.complete("", "get_"), (V{"get_group_list", "get_messages"}));
  EXPECT_EQ(shell.complete("  ", "exi"), V{"exit"});
  EXPECT_TRUE(t.sent.empty());  // commands need no registry
  EXPECT_EQ(shell.complete("/join ", "lo"), V{"lobby"});
  EXPECT_EQ(shell.complete("join_group ", "l"),
            (V{"lobby", "lab"}));                         // a name with a blank is not offered
  EXPECT_EQ(shell.complete("get_group_list ", ""), V{});  // takes no group
  EXPECT_EQ(shell.complete("/join lobby ", ""), V{});     // the group is already there
  EXPECT_EQ(t.sent.size(), 1u);  // the list is asked once while it is fresh
  // A Tab waits for the registry a short while only, and leaves no cap behind.
  ASSERT_EQ(t.caps_at.size(), 1u);
  EXPECT_EQ(t.caps_at[0], Shell::kGroupNamesWaitMs);
  EXPECT_EQ(t.cap, std::nullopt);
}

TEST(ShellCompletionTest, ARegistryThatDoesNotAnswerCompletesNothing) {
  ScriptedTransport t;
  t.no_reply("no reply");
  std::istringstream in;
  std::ostringstream out, err;
  Shell shell(t, ShellConfig{"127.0.0.1:5555", "u-1", {}, false}, in, out, err);
  EXPECT_TRUE(shell.complete("/join ", "lo").empty());
  EXPECT_TRUE(shell.complete("/join ", "l").empty());
  EXPECT_EQ(t.sent.size(), 1u);          // not asked again at every Tab
  EXPECT_EQ(out.str() + err.str(), "");  // nothing printed over the line being typed
}

}  // namespace
}  // namespace gc

namespace gc {
namespace {

TEST(ShellCurrentGroupTest, LastAsksForTheNewestNOfTheCurrentGroup) {
  ScriptedTransport t;
  t.reply(R"({"response":"SUCCESS"})");
  t.reply(R"({"response":"SUCCESS","messages":[
      {"user_uuid":"a","message":"nine","timestamp":"2026-11-21T10:00:09","seq":9},
      {"user_uuid":"b","message":"ten","timestamp":"2026-11-21T10:00:10","seq":10}],
      "more":false,"last_seq":10})");
  t.reply(R"({"response":"SUCCESS","messages":[],"more":false,"last_seq":10})");
  auto r = run_shell(t, "/join 127.0.0.1:6000\n/last 2\n/last\n/last 0\n/last x\n");
  EXPECT_EQ(r.out, "SUCCESS\na : nine (2026-11-21T10:00:09)\nb : ten (2026-11-21T10:00:10)\n");
  ASSERT_EQ(t.sent.size(), 3u);  // the bad counts ask nothing
  EXPECT_EQ(t.sent[1].body.value("last", 0), 2);
  EXPECT_EQ(t.sent[2].body.value("last", 0), 10);
  EXPECT_NE(r.err.find("(no messages)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("error: /last N: N must be a number from 1 to 10000, not '0'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("not 'x'"), std::string::npos) << r.err;
}

TEST(ShellCurrentGroupTest, LastWithoutACurrentGroupAsksNothing) {
  ScriptedTransport t;
  auto r = run_shell(t, "/last 5\n");
  EXPECT_TRUE(t.sent.empty());
  EXPECT_NE(r.err.find("error: no current group"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace gc
