#include "protocol/group_protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/json_text.hpp"

namespace gc {
namespace {

using nlohmann::json;

Status decode(std::string_view body, GroupRequest& out) {
  return decode_group_request(body, out);
}

std::string error_of(std::string_view body) {
  GroupRequest r;
  auto s = decode(body, r);
  EXPECT_FALSE(s.is_ok()) << body;
  return s.message();
}

TEST(GroupProtocol, DecodesEveryField) {
  GroupRequest r;
  ASSERT_TRUE(decode(R"({"action":"getMessage","user_uuid":"u","message":"m","name":"Ann",
      "client_msg_id":"c1","timestamp":"12:00:00","since_seq":5,"limit":10})",
                     r));
  EXPECT_EQ(r.action, "getMessage");
  EXPECT_EQ(r.user_uuid, "u");
  EXPECT_EQ(r.message.value(), "m");
  EXPECT_EQ(r.name, "Ann");
  EXPECT_EQ(r.client_msg_id, "c1");
  EXPECT_EQ(r.timestamp.value(), "12:00:00");
  EXPECT_EQ(r.since_seq.value(), 5u);
  EXPECT_EQ(r.limit, 10u);
}

TEST(GroupProtocol, AbsentAndNullOptionalFieldsTakeDefaults) {
  GroupRequest r;
  ASSERT_TRUE(decode(R"({"action":"getMessage","user_uuid":"u","timestamp":null,"name":null})", r));
  EXPECT_FALSE(r.timestamp.has_value());
  EXPECT_FALSE(r.message.has_value());
  EXPECT_FALSE(r.since_seq.has_value());
  EXPECT_FALSE(r.limit.has_value());  // Group::get decides what a request without one gets
  EXPECT_FALSE(r.last.has_value());
  EXPECT_FALSE(r.since_time.has_value());
  EXPECT_TRUE(r.name.empty());
}

TEST(GroupProtocol, ReusedRequestIsClearedBetweenDecodes) {
  GroupRequest r;
  ASSERT_TRUE(decode(R"({"action":"sendMessage","user_uuid":"u","message":"m","since_seq":3})", r));
  ASSERT_TRUE(decode(R"({"action":"getMessage","user_uuid":"v"})", r));
  EXPECT_FALSE(r.message.has_value());
  EXPECT_FALSE(r.since_seq.has_value());
}

TEST(GroupProtocol, MalformedJson) {
  EXPECT_EQ(error_of("{bad").rfind("malformed JSON: ", 0), 0u);
  EXPECT_EQ(error_of("").rfind("malformed JSON: ", 0), 0u);
  EXPECT_EQ(error_of("\xff\xfe").rfind("malformed JSON: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"action":"joinGroup","user_uuid":"\xc3"})").rfind("malformed JSON", 0),
            0u);
}

TEST(GroupProtocol, NotAnObject) {
  EXPECT_EQ(error_of("[1,2]"), "request must be a JSON object");
  EXPECT_EQ(error_of("\"joinGroup\""), "request must be a JSON object");
  EXPECT_EQ(error_of("42"), "request must be a JSON object");
}

TEST(GroupProtocol, MissingAndMistypedFields) {
  EXPECT_EQ(error_of(R"({"user_uuid":"u"})"), "missing field 'action'");
  EXPECT_EQ(error_of(R"({"action":1,"user_uuid":"u"})"), "field 'action' must be a string");
  EXPECT_EQ(error_of(R"({"action":"joinGroup"})"), "missing field 'user_uuid'");
  EXPECT_EQ(error_of(R"({"action":"joinGroup","user_uuid":null})"), "missing field 'user_uuid'");
  EXPECT_EQ(error_of(R"({"action":"joinGroup","user_uuid":7})"),
            "field 'user_uuid' must be a string");
  EXPECT_EQ(error_of(R"({"action":"joinGroup","user_uuid":""})")
                .rfind("field 'user_uuid' must be 1 to 128 bytes", 0),
            0u);
  EXPECT_EQ(error_of(R"({"action":"sendMessage","user_uuid":"u","message":5})"),
            "field 'message' must be a string");
  EXPECT_EQ(error_of(R"({"action":"sendMessage","user_uuid":"u","message":["x"]})"),
            "field 'message' must be a string");
  EXPECT_EQ(error_of(R"({"action":"getMessage","user_uuid":"u","timestamp":12})"),
            "field 'timestamp' must be a string");
  EXPECT_EQ(error_of(R"({"action":"joinGroup","user_uuid":"u","name":{}})"),
            "field 'name' must be a string");
  EXPECT_EQ(error_of(R"({"action":"sendMessage","user_uuid":"u","client_msg_id":1})"),
            "field 'client_msg_id' must be a string");
}

TEST(GroupProtocol, OverLongIdentifiers) {
  std::string big(129, 'a');
  EXPECT_NE(error_of(R"({"action":"joinGroup","user_uuid":")" + big + "\"}").find("128"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"action":"sendMessage","user_uuid":"u","client_msg_id":")" + big + "\"}")
                .find("over the limit of 128 bytes"),
            std::string::npos);
}

TEST(GroupProtocol, SinceSeqAndLimitRanges) {
  EXPECT_EQ(error_of(R"({"action":"getMessage","user_uuid":"u","since_seq":-1})"),
            "field 'since_seq' must be an integer from 0 to 9223372036854775807");
  EXPECT_EQ(error_of(R"({"action":"getMessage","user_uuid":"u","since_seq":1.5})"),
            "field 'since_seq' must be an integer from 0 to 9223372036854775807");
  EXPECT_EQ(error_of(R"({"action":"getMessage","user_uuid":"u","since_seq":"3"})"),
            "field 'since_seq' must be an integer from 0 to 9223372036854775807");
  EXPECT_EQ(error_of(R"({"action":"getMessage","user_uuid":"u","limit":0})"),
            "field 'limit' must be an integer from 1 to 10000");
  EXPECT_EQ(error_of(R"({"action":"getMessage","user_uuid":"u","limit":10001})"),
            "field 'limit' must be an integer from 1 to 10000");
  GroupRequest r;
  ASSERT_TRUE(decode(R"({"action":"getMessage","user_uuid":"u","since_seq":0,"limit":10000})", r));
  EXPECT_EQ(r.since_seq.value(), 0u);
  EXPECT_EQ(r.limit, 10000u);
}

TEST(GroupProtocol, JsonStringEscapingRoundTrips) {
  std::string tricky =
      "quote\" backslash\\ nl\n tab\t ctl\x01 del\x7f utf8 \xc3\xa9 \xf0\x9f\x98\x80";
  std::string out;
  append_json_string(out, tricky);
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), tricky);
}

TEST(GroupProtocol, EncodesReplies) {
  std::string out;
  encode_success(out);
  EXPECT_EQ(out, R"({"response":"SUCCESS"})");
  encode_failed(out, "bad \"x\"");
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["response"], "FAILED");
  EXPECT_EQ(j["error"], "bad \"x\"");

  encode_send_success(out, 7, 1'700'000'000'123'456);
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j["seq"], 7);
  EXPECT_EQ(j["timestamp"].get<std::string>().size(), 26u);  // YYYY-MM-DDTHH:MM:SS.ffffff

  MessagePage page;
  page.messages.push_back({1, "u", "", "hello", 1'700'000'000'000'000, ""});
  page.messages.push_back({2, "v", "Bob", "yo", 1'700'000'000'000'001, "c"});
  page.more = true;
  const std::vector<std::string> ids = {"pu", "pv"};
  encode_messages(out, page, ids, 9, "0123456789abcdef0123456789abcdef");
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j["response"], "SUCCESS");
  ASSERT_EQ(j["messages"].size(), 2u);
  // The sender's public id in the reference's field, never the stored identity.
  EXPECT_EQ(j["messages"][0]["user_uuid"], "pu");
  EXPECT_EQ(j["messages"][1]["user_uuid"], "pv");
  EXPECT_EQ(j["messages"][0]["message"], "hello");
  EXPECT_FALSE(j["messages"][0].contains("name"));
  EXPECT_EQ(j["messages"][1]["name"], "Bob");
  EXPECT_EQ(j["messages"][1]["seq"], 2);
  EXPECT_EQ(j["more"], true);
  EXPECT_EQ(j["last_seq"], 9);
  EXPECT_EQ(j["history_id"], "0123456789abcdef0123456789abcdef");

  encode_follow_success(out, 4, "00ff", "p1");
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j["last_seq"], 4);
  EXPECT_EQ(j["history_id"], "00ff");
  EXPECT_EQ(j["public_id"], "p1");

  encode_join_success(out, "p\"2");
  j = nlohmann::json::parse(out);
  EXPECT_EQ(j, (nlohmann::json{{"response", "SUCCESS"}, {"public_id", "p\"2"}}));

  encode_whoami(out, "p3", true);
  EXPECT_EQ(out, R"({"response":"SUCCESS","public_id":"p3","member":true})");
  encode_whoami(out, "p3", false);
  EXPECT_EQ(out, R"({"response":"SUCCESS","public_id":"p3","member":false})");
}

TEST(GroupProtocol, AMessageWithoutAPublicIdIsWrittenWithAnEmptySenderNotTheStoredOne) {
  MessagePage page;
  page.messages.push_back({1, "secret-uuid", "", "hello", 1'700'000'000'000'000, ""});
  std::string out;
  encode_messages(out, page, {}, 1, "00");
  EXPECT_EQ(out.find("secret-uuid"), std::string::npos) << out;
  EXPECT_EQ(nlohmann::json::parse(out)["messages"][0]["user_uuid"], "");
}

TEST(GroupProtocol, WhoamiRequestIsTheActionAndTheIdentity) {
  EXPECT_EQ(nlohmann::json::parse(make_whoami_request("u-1")),
            (nlohmann::json{{"action", "whoami"}, {"user_uuid", "u-1"}}));
}

}  // namespace
}  // namespace gc

namespace gc {
namespace {

TEST(GroupProtocol, InvalidUtf8IsReplacedSoRepliesStayValidJson) {
  std::string out;
  append_json_string(out,
                     "a\xff"
                     "b\xc3");
  EXPECT_EQ(out, "\"a\\ufffdb\\ufffd\"");
  GroupRequest r;
  auto s = decode_group_request("\xff\xfe", r);
  std::string reply;
  encode_failed(reply, s.message());
  EXPECT_TRUE(nlohmann::json::accept(reply));
}

TEST(PushEncodingTest, PushIsTheMessageObjectWithAnEventTag) {
  StoredMessage m;
  m.seq = 7;
  m.user_uuid = "u";
  m.text = "hi \"there\"";
  m.name = "Ann";
  m.time_us = 1'800'000'000'000'000;
  std::string out;
  encode_push(out, m, "pub");
  json j = json::parse(out);
  EXPECT_EQ(j["event"], "message");
  EXPECT_EQ(j["seq"], 7);
  EXPECT_EQ(j["user_uuid"], "pub");
  EXPECT_EQ(j["message"], "hi \"there\"");
  EXPECT_EQ(j["name"], "Ann");
  EXPECT_TRUE(j["timestamp"].is_string());
}

}  // namespace
}  // namespace gc
