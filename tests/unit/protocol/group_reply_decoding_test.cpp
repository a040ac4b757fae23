// The client's reading of group replies and pushes: whatever a server sends,
// a verdict or a named error, never an exception.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "protocol/group_protocol.hpp"

namespace gc {
namespace {

using nlohmann::json;

TEST(GroupReplyDecoding, VerdictsAndTheirErrors) {
  auto ok = decode_group_reply(R"({"response":"SUCCESS","seq":3})");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->success);
  auto failed = decode_group_reply(R"({"response":"FAILED","error":"not a member"})");
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->success);
  EXPECT_EQ(failed->error, "not a member");
  auto reference = decode_group_reply(R"({"response":"FAILED"})");  // the reference gives no reason
  ASSERT_TRUE(reference);
  EXPECT_EQ(reference->error, "");
  EXPECT_EQ(decode_group_reply("nope").error().rfind("not JSON: parse error", 0), 0u);
  EXPECT_EQ(decode_group_reply("[1]").error(), "not a JSON object");
  EXPECT_EQ(decode_group_reply(R"({"response":1})").error(), "no \"response\" field");
  EXPECT_EQ(decode_group_reply(R"({"response":"MAYBE"})").error(),
            "\"response\" is neither SUCCESS nor FAILED");
}

TEST(GroupReplyDecoding, AMessageObjectHasStringsWhereTextIsAndAnIntegerSeq) {
  auto m = decode_message(
      json::parse(R"({"user_uuid":"u7","message":"hi","timestamp":"T","seq":4,"name":"Ann"})"));
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->user_uuid, "u7");
  EXPECT_EQ(m->message, "hi");
  EXPECT_EQ(m->timestamp, "T");
  EXPECT_EQ(m->seq, 4);
  EXPECT_EQ(m->name, "Ann");
  auto reference =
      decode_message(json::parse(R"({"user_uuid":"u","message":"m","timestamp":"t"})"));
  ASSERT_TRUE(reference);  // no seq, no name: a reference group's message
  EXPECT_FALSE(reference->seq);
  EXPECT_EQ(reference->name, "");
  // A field of the wrong type is an error naming it, not a guess.
  EXPECT_EQ(decode_message(json::parse(R"({"user_uuid":7,"message":"m","timestamp":"t"})")).error(),
            "\"user_uuid\" of a message is not a string");
  EXPECT_EQ(
      decode_message(json::parse(R"({"user_uuid":"u","message":"m","timestamp":"t","seq":"4"})"))
          .error(),
      "\"seq\" of a message is not an integer from 0 to 9223372036854775807");
  EXPECT_EQ(decode_message(json::parse(R"({"user_uuid":"u","timestamp":"t"})")).error(),
            "a message has no \"message\"");
  EXPECT_EQ(decode_message(json::parse("[]")).error(), "a message is not an object");
}

TEST(GroupReplyDecoding, APageNeedsAListOfObjects) {
  auto page = decode_messages(json::parse(
      R"({"response":"SUCCESS","messages":[{"user_uuid":"u","message":"a","timestamp":"t","seq":1}],
          "more":true,"last_seq":9})"));
  ASSERT_TRUE(page);
  ASSERT_EQ(page->messages.size(), 1u);
  EXPECT_TRUE(page->more);
  EXPECT_EQ(page->last_seq, 9);
  EXPECT_EQ(page->end_seq(), 1);
  EXPECT_EQ(decode_messages(json::parse(R"({"response":"SUCCESS"})")).error(),
            "no \"messages\" list");
  EXPECT_EQ(decode_messages(json::parse(R"({"messages":[1]})")).error(),
            "a message is not an object");
}

TEST(GroupReplyDecoding, APushIsAMessageEventAndNothingElse) {
  auto push = decode_push(
      json::parse(R"({"event":"message","seq":2,"user_uuid":"u","message":"m","timestamp":"t"})"));
  ASSERT_TRUE(push) << push.error();
  EXPECT_EQ(push->seq, 2);
  EXPECT_FALSE(decode_push(json::parse(R"({"event":"other","seq":2})")));
  EXPECT_FALSE(decode_push(json::parse(R"({"event":1})")));
  EXPECT_FALSE(decode_push(json::parse(R"({"response":"SUCCESS"})")));
}

TEST(GroupReplyDecoding, AHistoryIdIsAShortStringOrAbsent) {
  EXPECT_EQ(decode_history_id(json::parse(R"({"history_id":"ab"})")), "ab");
  EXPECT_FALSE(decode_history_id(json::parse(R"({"last_seq":1})")));
  EXPECT_FALSE(decode_history_id(json::parse(R"({"history_id":12})")));
  EXPECT_FALSE(decode_history_id(json::parse(R"({"history_id":""})")));
  json long_id = {{"history_id", std::string(kMaxHistoryIdBytes + 1, 'a')}};
  EXPECT_FALSE(decode_history_id(long_id));
  json longest = {{"history_id", std::string(kMaxHistoryIdBytes, 'a')}};
  EXPECT_TRUE(decode_history_id(longest));
}

TEST(GroupReplyDecoding, APublicIdIsAShortStringOrAbsent) {
  EXPECT_EQ(decode_public_id(json{{"public_id", "3fa9c2d1"}}), "3fa9c2d1");
  // A reference group sends none; anything odd counts as none.
  EXPECT_FALSE(decode_public_id(json{{"response", "SUCCESS"}}));
  EXPECT_FALSE(decode_public_id(json{{"public_id", 5}}));
  EXPECT_FALSE(decode_public_id(json{{"public_id", ""}}));
  EXPECT_FALSE(decode_public_id(json{{"public_id", std::string(kMaxPublicIdBytes + 1, 'a')}}));
  EXPECT_TRUE(decode_public_id(json{{"public_id", std::string(kMaxPublicIdBytes, 'a')}}));
  EXPECT_FALSE(decode_public_id(json::array()));
}

TEST(GroupReplyDecoding, WhatOurServerWritesOurClientReads) {
  StoredMessage stored{5, "u-1", "Ann", "line \"one\"\nline two", 1'800'000'000'000'000, "c"};
  MessagePage page;
  page.messages.push_back(stored);
  std::string wire;
  const std::vector<std::string> ids = {"p-1"};
  encode_messages(wire, page, ids, 5, "abc123");
  auto reply = decode_group_reply(wire);
  ASSERT_TRUE(reply);
  EXPECT_EQ(decode_history_id(reply->body), "abc123");
  auto read = decode_messages(reply->body);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->messages.size(), 1u);
  EXPECT_EQ(read->messages[0].user_uuid, "p-1");
  EXPECT_EQ(read->messages[0].name, "Ann");
  EXPECT_EQ(read->messages[0].message, stored.text);
  EXPECT_EQ(read->messages[0].seq, 5);
  encode_push(wire, stored, "p-1");
  auto pushed = decode_push(json::parse(wire));
  ASSERT_TRUE(pushed);
  EXPECT_EQ(pushed->message, stored.text);
  EXPECT_EQ(pushed->user_uuid, "p-1");
  encode_follow_success(wire, 5, "abc123", "p-1");
  EXPECT_EQ(decode_public_id(decode_group_reply(wire)->body), "p-1");
  encode_join_success(wire, "p-1");
  EXPECT_EQ(decode_public_id(decode_group_reply(wire)->body), "p-1");
  encode_send_success(wire, 5, stored.time_us);
  auto sent = decode_sent_message(decode_group_reply(wire)->body);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->seq, 5);
  EXPECT_TRUE(sent->timestamp);
}

}  // namespace
}  // namespace gc
