// Every decoder of peer input is total: any bytes give a value or a named
// error, never an exception, an abort or unbounded recursion. Numbers beyond
// a double, nesting a million deep, wrong types in every field, bad UTF-8 and
// a large body, on the servers' side and on the client's.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "protocol/group_protocol.hpp"
#include "protocol/json_parse.hpp"
#include "protocol/registry_protocol.hpp"

namespace gc {
namespace {

using nlohmann::json;

const std::string kHuge400 = std::string(400, '9');
const std::string kDeep = std::string(1'000'000, '[') + std::string(1'000'000, ']');

std::vector<std::string> unrepresentable_numbers() {
  return {"1e400", "-1e400", kHuge400, "-" + kHuge400};
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.rfind(prefix, 0) == 0;
}

// Both paths of the group decoder, which must agree.
struct GroupVerdict {
  bool ok;
  std::string error;
};
GroupVerdict group_fast(std::string_view body) {
  GroupRequest r;
  Status s = decode_group_request(body, r);
  return {s.is_ok(), s.message()};
}
GroupVerdict group_dom(std::string_view body) {
  GroupRequest r;
  Status s = decode_group_request_dom(body, r);
  return {s.is_ok(), s.message()};
}

void expect_group_error(const std::string& body, std::string_view prefix) {
  const GroupVerdict fast = group_fast(body), dom = group_dom(body);
  EXPECT_FALSE(fast.ok) << body.substr(0, 120);
  EXPECT_EQ(fast.error, dom.error) << body.substr(0, 120);
  EXPECT_TRUE(starts_with(fast.error, prefix)) << fast.error;
}

TEST(HostileDecoding, ParseUntrustedJsonNeverThrows) {
  for (const auto& n : unrepresentable_numbers()) {
    auto r = parse_untrusted_json(n);
    ASSERT_FALSE(r) << n.substr(0, 20);
    EXPECT_TRUE(starts_with(r.error(), "number overflow parsing")) << r.error();
    EXPECT_LE(r.error().size(), kMaxQuotedErrorBytes + 3);
  }
  EXPECT_EQ(parse_untrusted_json(kDeep).error(), "nesting deeper than 32 levels");
  EXPECT_TRUE(parse_untrusted_json(std::string(32, '[') + std::string(32, ']')));
  EXPECT_FALSE(parse_untrusted_json(std::string(33, '{')));
  EXPECT_FALSE(parse_untrusted_json("\"\xff\""));
  EXPECT_FALSE(parse_untrusted_json(std::string("{\"a\":\"\0\"}", 9)));
  EXPECT_TRUE(parse_untrusted_json("1e300"));  // in range: a double
}

TEST(HostileDecoding, GroupRequestNumbersBeyondADoubleAreMalformedJsonInAnyField) {
  for (const auto& n : unrepresentable_numbers()) {
    for (const char* field : {"pad", "since_seq", "limit", "message", "user_uuid", "action"}) {
      std::string body =
          R"({"action":"getMessage","user_uuid":"u",")" + std::string(field) + "\":" + n + "}";
      expect_group_error(body, "malformed JSON: number overflow parsing");
    }
    expect_group_error(R"({"action":"joinGroup","user_uuid":"x","pad":)" + n + "}",
                       "malformed JSON: number overflow");
  }
  // In range for a double but not an integer field: the field's own error.
  expect_group_error(
      R"({"action":"getMessage","user_uuid":"u","since_seq":)" + std::string(300, '9') + "}",
      "field 'since_seq' must be an integer");
  // An unknown field may hold any valid JSON number.
  EXPECT_TRUE(
      group_fast(R"({"action":"joinGroup","user_uuid":"u","pad":)" + std::string(300, '9') + "}")
          .ok);
}

TEST(HostileDecoding, GroupRequestNestingIsBoundedBeforeParsing) {
  expect_group_error(kDeep, "malformed JSON: nesting deeper than 32 levels");
  expect_group_error(R"({"action":"joinGroup","user_uuid":"u","pad":)" + kDeep + "}",
                     "malformed JSON: nesting deeper than 32 levels");
  std::string ok_depth = std::string(31, '[') + std::string(31, ']');
  EXPECT_TRUE(group_fast(R"({"action":"joinGroup","user_uuid":"u","pad":)" + ok_depth + "}").ok);
}

TEST(HostileDecoding, GroupRequestWrongTypesInEveryField) {
  const char* values[] = {"1", "-1", "1.5", "true", "[]", "{}", "[\"s\"]", "{\"a\":1}"};
  for (const char* v : values) {
    for (const char* field :
         {"action", "user_uuid", "message", "name", "client_msg_id", "timestamp"}) {
      std::string body = R"({"action":"sendMessage","user_uuid":"u","message":"m",)";
      body += "\"" + std::string(field) + "\":" + v + "}";
      // A repeated key: nlohmann keeps the last, so this is the field's type error.
      expect_group_error(body, "field '" + std::string(field) + "' must be a string");
    }
  }
  for (const char* v : {"\"5\"", "-1", "1.5", "true", "[]", "{}"}) {
    expect_group_error(
        std::string(R"({"action":"getMessage","user_uuid":"u","since_seq":)") + v + "}",
        "field 'since_seq' must be an integer");
    expect_group_error(std::string(R"({"action":"getMessage","user_uuid":"u","limit":)") + v + "}",
                       "field 'limit' must be an integer");
  }
}

TEST(HostileDecoding, GroupRequestInvalidUtf8AndRawControls) {
  expect_group_error("{\"action\":\"sendMessage\",\"user_uuid\":\"u\",\"message\":\"\xff\"}",
                     "malformed JSON: parse error");
  expect_group_error("{\"action\":\"joinGroup\",\"user_uuid\":\"\xc3\x28\"}",
                     "malformed JSON: parse error");
  expect_group_error("{\"action\":\"joinGroup\",\"user_uuid\":\"a\x1b\"}",
                     "malformed JSON: parse error");
  // Escaped controls are valid JSON: decoded as they are (shown visibly later).
  EXPECT_TRUE(
      group_fast(R"({"action":"joinGroup","user_uuid":"a\u001b[2J\nMESSAGE SEND FROM x"})").ok);
}

TEST(HostileDecoding, GroupRequestAVeryLargeBodyDecodes) {
  std::string text(8 * 1024 * 1024, 'x');
  std::string body = R"({"action":"sendMessage","user_uuid":"u","message":")" + text + "\"}";
  GroupRequest r;
  ASSERT_TRUE(decode_group_request(body, r));
  EXPECT_EQ(r.message->size(), text.size());
  std::string padded = R"({"action":"joinGroup","user_uuid":"u","pad":[)";
  for (int i = 0; i < 200000; ++i) padded += "1,";
  padded += "1]}";
  EXPECT_TRUE(group_fast(padded).ok);
}

TEST(HostileDecoding, RegistryRequestIsTotal) {
  for (const auto& n : unrepresentable_numbers()) {
    for (const char* field : {"pad", "group_name", "heartbeat"}) {
      auto r = decode_registry_request(
          R"({"action":"register","group_name":"g","ip_port":"127.0.0.1:1",")" +
          std::string(field) + "\":" + n + "}");
      ASSERT_FALSE(r);
      EXPECT_TRUE(starts_with(r.error(), "malformed JSON: number overflow")) << r.error();
    }
  }
  EXPECT_EQ(decode_registry_request(kDeep).error(),
            "malformed JSON: nesting deeper than 32 levels");
  const char* values[] = {"1", "1.5", "true", "null", "[]", "{}"};
  for (const char* v : values) {
    for (const char* field : {"group_name", "ip_port"}) {
      std::string body = R"({"action":"register","group_name":"g","ip_port":"127.0.0.1:1",)";
      body += "\"" + std::string(field) + "\":" + v + "}";
      auto r = decode_registry_request(body);
      ASSERT_FALSE(r) << body;
      if (std::string(v) != "null") {
        EXPECT_EQ(r.error(), "field '" + std::string(field) + "' must be a string");
      }
    }
    auto a = decode_registry_request(std::string(R"({"action":)") + v + "}");
    ASSERT_FALSE(a);
    auto u = decode_registry_request(std::string(R"({"action":"get_group_list","user_uuid":)") + v +
                                     "}");
    ASSERT_FALSE(u);
  }
  EXPECT_EQ(decode_registry_request(
                R"({"action":"register","group_name":"g","ip_port":"127.0.0.1:1","heartbeat":1})")
                .error(),
            "field 'heartbeat' must be true or false");
  EXPECT_TRUE(starts_with(decode_registry_request("{\"action\":\"\xff\"}").error(),
                          "malformed JSON: parse error"));
  std::string big = R"({"action":"get_group_list","user_uuid":"u","pad":")" +
                    std::string(4 * 1024 * 1024, 'p') + "\"}";
  EXPECT_TRUE(decode_registry_request(big));
}

// What a client may be sent in place of a reply.
std::vector<std::string> hostile_replies() {
  std::vector<std::string> v = {kDeep,
                                std::string(1'000'000, '{'),
                                "\xff\xfe",
                                "",
                                "null",
                                "{\"response\":\"SUCCESS\",\"messages\":" + kDeep + "}",
                                R"({"response":1e400})",
                                R"({"response":"SUCCESS","last_seq":1e400})",
                                R"({"response":"SUCCESS","last_seq":)" + kHuge400 + "}",
                                R"({"response":"SUCCESS","seq":-1e400})"};
  return v;
}

TEST(HostileDecoding, ClientReplyDecodersAreTotal) {
  for (const auto& body : hostile_replies()) {
    auto r = decode_group_reply(body);
    if (r) {
      // Whatever parses goes on to the field decoders, which must be total too.
      (void)decode_messages(r->body);
      (void)decode_sent_message(r->body);
      (void)decode_last_seq(r->body);
      (void)decode_push(r->body);
    } else {
      EXPECT_FALSE(r.error().empty());
    }
    auto list = decode_group_list(body);
    EXPECT_NE(list.kind, GroupListReply::Kind::list) << body.substr(0, 40);
    (void)decode_register_reply(body);
    (void)decode_heartbeat_reply(body);
  }
  EXPECT_EQ(decode_group_reply(kDeep).error(), "not JSON: nesting deeper than 32 levels");
  EXPECT_TRUE(starts_with(decode_group_reply(R"({"response":"SUCCESS","x":1e400})").error(),
                          "not JSON: number overflow"));
}

TEST(HostileDecoding, ClientPageAndPushFieldsAreTypeChecked) {
  const std::string good = R"({"user_uuid":"u","message":"m","timestamp":"t","seq":1})";
  auto page_with = [&](const std::string& extra) {
    return json::parse(R"({"response":"SUCCESS","messages":[)" + good + "]" + extra + "}");
  };
  EXPECT_TRUE(decode_messages(page_with("")));
  EXPECT_EQ(decode_messages(page_with(R"(,"more":"yes")")).error(),
            "\"more\" is not true or false");
  EXPECT_EQ(decode_messages(page_with(R"(,"last_seq":"9")")).error(),
            "\"last_seq\" of the reply is not an integer from 0 to 9223372036854775807");
  EXPECT_EQ(decode_messages(page_with(R"(,"last_seq":-2)")).error(),
            "\"last_seq\" of the reply is not an integer from 0 to 9223372036854775807");
  EXPECT_EQ(decode_messages(json::parse(R"({"messages":{}})")).error(), "no \"messages\" list");
  const char* values[] = {"1", "1.5", "true", "[]", "{}", "[\"s\"]"};
  for (const char* v : values) {
    for (const char* field : {"user_uuid", "message", "timestamp", "name"}) {
      json m = json::parse(good);
      m[field] = json::parse(v);
      auto page = decode_messages(json{{"response", "SUCCESS"}, {"messages", json::array({m})}});
      EXPECT_EQ(page.error(), "\"" + std::string(field) + "\" of a message is not a string") << v;
      json p = m;
      p["event"] = "message";
      EXPECT_EQ(decode_push(p).error(),
                "\"" + std::string(field) + "\" of a message is not a string");
    }
    if (std::string(v) != "1") {  // an integer is a good seq
      json m = json::parse(good);
      m["seq"] = json::parse(v);
      EXPECT_FALSE(decode_message(m)) << v;
      auto sent = decode_sent_message(json{{"response", "SUCCESS"}, {"seq", json::parse(v)}});
      EXPECT_FALSE(sent) << v;
    }
    auto failed =
        decode_parsed_group_reply(json{{"response", "FAILED"}, {"error", json::parse(v)}});
    EXPECT_EQ(failed.error(), "\"error\" of the reply is not a string");
  }
  EXPECT_FALSE(decode_sent_message(json{{"response", "SUCCESS"}, {"timestamp", 5}}));
}

TEST(HostileDecoding, ClientGroupListEntriesMustBeStrings) {
  EXPECT_EQ(decode_group_list(R"(["g - 127.0.0.1:1", {"a":1}])").error,
            "a group list entry is not a string");
  EXPECT_EQ(decode_group_list(R"(["g - 127.0.0.1:1", 1e400])").kind,
            GroupListReply::Kind::unreadable);
  auto deep = decode_group_list(kDeep);
  EXPECT_EQ(deep.error, "not JSON: nesting deeper than 32 levels");
}

TEST(HostileDecoding, RegistryRepliesToAGroupAreTotalAndQuoteVisibly) {
  auto r = decode_register_reply(R"({"response":"FAILED","error":"no\u001b[2J\nway"})");
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.error, "no\\x1b[2J\\x0away");
  auto odd = decode_register_reply("\x1b]0;t\x07");
  EXPECT_EQ(odd.error, "unexpected reply: \\x1b]0;t\\x07");
  EXPECT_FALSE(decode_register_reply(R"({"response":1e400})").accepted);
  auto hb = decode_heartbeat_reply(R"({"response":"FAILED","error":"x\u202ey"})");
  EXPECT_EQ(hb.verdict, HeartbeatVerdict::refused);
  EXPECT_EQ(hb.error, "x\\u202ey");
  EXPECT_EQ(decode_heartbeat_reply(R"({"response":"FAILED","reregister":1e400})").verdict,
            HeartbeatVerdict::unreadable);
}

}  // namespace
}  // namespace gc
