// decode_group_request takes a hand-written scanner for flat requests and
// falls back to the full JSON parse for everything else. These tests pin that
// both give the same result and the same error text on every input, valid or
// not: the scanner may only ever be a faster way to the same answer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "core/json_text.hpp"
#include "protocol/group_protocol.hpp"

namespace gc {
namespace {

struct Decoded {
  bool ok = false;
  std::string error;
  GroupRequest request;
};

Decoded fast(std::string_view body) {
  Decoded d;
  Status s = decode_group_request(body, d.request);
  d.ok = s.is_ok();
  if (!d.ok) d.error = s.message();
  return d;
}

Decoded dom(std::string_view body) {
  Decoded d;
  Status s = decode_group_request_dom(body, d.request);
  d.ok = s.is_ok();
  if (!d.ok) d.error = s.message();
  return d;
}

void expect_same(std::string_view body) {
  Decoded a = fast(body), b = dom(body);
  ASSERT_EQ(a.ok, b.ok) << body;
  if (!a.ok) {
    EXPECT_EQ(a.error, b.error) << body;
    return;
  }
  EXPECT_EQ(a.request.action, b.request.action) << body;
  EXPECT_EQ(a.request.user_uuid, b.request.user_uuid) << body;
  EXPECT_EQ(a.request.message, b.request.message) << body;
  EXPECT_EQ(a.request.name, b.request.name) << body;
  EXPECT_EQ(a.request.client_msg_id, b.request.client_msg_id) << body;
  EXPECT_EQ(a.request.timestamp, b.request.timestamp) << body;
  EXPECT_EQ(a.request.since_seq, b.request.since_seq) << body;
  EXPECT_EQ(a.request.limit, b.request.limit) << body;
  EXPECT_EQ(a.request.last, b.request.last) << body;
  EXPECT_EQ(a.request.since_time, b.request.since_time) << body;
}

const std::vector<std::string>& samples() {
  static const std::vector<std::string> list = {
      R"({"action":"sendMessage","user_uuid":"u","message":"hello"})",
      R"( { "action" : "sendMessage" , "user_uuid" : "u" , "message" : "hello" } )",
      "{\n\t\"action\":\"joinGroup\",\r\n\"user_uuid\":\"u\"}\n",
      R"({"action":"whoami","user_uuid":"u"})",
      R"({"action":"whoami","user_uuid":"u","public_id":"3fa9c2d1"})",
      R"({"action":"whoami","user_uuid":null})",
      R"({"action":"whoami"})",
      R"({"user_uuid":"u","action":"whoami","action":"whoami"})",
      R"({"action":"getMessage","user_uuid":"u","timestamp":"12:00:00","since_seq":5,"limit":10})",
      R"({"action":"getMessage","user_uuid":"u","timestamp":null,"since_seq":null,"limit":null})",
      R"({"action":"getMessage","user_uuid":"u","since_seq":0,"limit":10000})",
      R"({"action":"getMessage","user_uuid":"u","since_seq":9223372036854775807})",
      R"({"action":"getMessage","user_uuid":"u","since_seq":9223372036854775808})",
      R"({"action":"getMessage","user_uuid":"u","since_seq":123456789012345678})",
      R"({"action":"getMessage","user_uuid":"u","since_seq":-0})",
      R"({"action":"getMessage","user_uuid":"u","since_seq":-1})",
      R"({"action":"getMessage","user_uuid":"u","since_seq":1.0})",
      R"({"action":"getMessage","user_uuid":"u","since_seq":1e3})",
      R"({"action":"getMessage","user_uuid":"u","since_seq":01})",
      R"({"action":"getMessage","user_uuid":"u","limit":0})",
      R"({"action":"getMessage","user_uuid":"u","limit":10001})",
      R"({"action":"getMessage","user_uuid":"u","limit":true})",
      R"({"action":"getMessage","user_uuid":"u","last":1})",
      R"({"action":"getMessage","user_uuid":"u","last":0})",
      R"({"action":"getMessage","user_uuid":"u","last":10001})",
      R"({"action":"getMessage","user_uuid":"u","last":"5"})",
      R"({"action":"getMessage","user_uuid":"u","last":null,"since_time":null})",
      R"({"action":"getMessage","user_uuid":"u","last":2,"last":3})",
      R"({"action":"getMessage","user_uuid":"u","since_time":"2026-01-02T03:04:05.5+09:00"})",
      R"({"action":"getMessage","user_uuid":"u","since_time":5})",
      R"({"action":"sendMessage","user_uuid":"u","message":"a\"b\\c\/d\b\f\n\r\t"})",
      R"({"action":"sendMessage","user_uuid":"u","message":"\u00e9\u20ac\ud83d\ude00\u0000"})",
      R"({"action":"sendMessage","user_uuid":"u","message":"\ud83d"})",
      R"({"action":"sendMessage","user_uuid":"u","message":"\ude00"})",
      R"({"action":"sendMessage","user_uuid":"u","message":"\ud83d\u0041"})",
      R"({"action":"sendMessage","user_uuid":"u","message":"\u12g4"})",
      R"({"action":"sendMessage","user_uuid":"u","message":"\x"})",
      "{\"action\":\"sendMessage\",\"user_uuid\":\"u\",\"message\":\"caf\xc3\xa9 "
      "\xf0\x9f\x98\x80\"}",
      "{\"action\":\"sendMessage\",\"user_uuid\":\"u\",\"message\":\"bad \xc3\"}",
      "{\"action\":\"sendMessage\",\"user_uuid\":\"u\",\"message\":\"bad \xed\xa0\x80\"}",
      "{\"action\":\"sendMessage\",\"user_uuid\":\"u\",\"message\":\"raw \x01 ctl\"}",
      "{\"action\":\"sendMessage\",\"user_uuid\":\"u\",\"message\":\"nl\nraw\"}",
      "\xef\xbb\xbf{\"action\":\"joinGroup\",\"user_uuid\":\"u\"}",
      R"({"act\u0069on":"joinGroup","user_uuid":"u"})",
      R"({"action":"joinGroup","user_uuid":"u","action":"leaveGroup"})",
      R"({"action":"joinGroup","user_uuid":"u","extra":{"nested":[1,2]}})",
      R"({"action":"joinGroup","user_uuid":"u","extra":[1]})",
      R"({"action":"joinGroup","user_uuid":"u","extra":true,"x":false,"y":null,"z":-12,"w":"s"})",
      R"({"action":"joinGroup","user_uuid":"u","extra":1.5})",
      R"({"action":"joinGroup","user_uuid":"u","extra":tru})",
      R"({"action":"joinGroup","user_uuid":"u"} x)",
      R"({"action":"joinGroup","user_uuid":"u"}})",
      R"({"action":"joinGroup","user_uuid":"u",})",
      R"({"action":"joinGroup" "user_uuid":"u"})",
      R"({"action":"joinGroup","user_uuid":"u")",
      R"({"action":"joinGroup","user_uuid")",
      R"({"action":null,"user_uuid":"u"})",
      R"({"action":1,"user_uuid":"u"})",
      R"({"action":"joinGroup","user_uuid":null})",
      R"({"action":"joinGroup","user_uuid":""})",
      R"({"action":"joinGroup","user_uuid":7})",
      R"({"action":"joinGroup"})",
      R"({"user_uuid":"u"})",
      R"({"action":"joinGroup","user_uuid":"u","name":{}})",
      R"({"action":"joinGroup","user_uuid":"u","name":"Ann"})",
      R"({"action":"sendMessage","user_uuid":"u","message":5})",
      R"({"action":"sendMessage","user_uuid":"u","message":null})",
      R"({"action":"sendMessage","user_uuid":"u","client_msg_id":1})",
      R"({"action":"sendMessage","user_uuid":"u","client_msg_id":"c-1","message":"m"})",
      R"({"action":"getMessage","user_uuid":"u","timestamp":12})",
      R"({})",
      R"([1,2])",
      R"("joinGroup")",
      "42",
      "",
      " ",
      "{",
      "{bad",
      "\xff\xfe",
      "null",
      // Numbers a double cannot hold, in known and unknown fields; deep nesting.
      R"({"action":"joinGroup","user_uuid":"x","pad":1e400})",
      R"({"action":"joinGroup","user_uuid":"x","pad":-1e400})",
      R"({"action":"getMessage","user_uuid":"x","since_seq":1e400})",
      R"({"action":"getMessage","user_uuid":"x","limit":-1e400})",
      "{\"action\":\"joinGroup\",\"user_uuid\":\"x\",\"pad\":" + std::string(400, '9') + "}",
      "{\"action\":\"getMessage\",\"user_uuid\":\"x\",\"since_seq\":" + std::string(400, '9') + "}",
      "{\"action\":\"getMessage\",\"user_uuid\":\"x\",\"since_seq\":-" + std::string(400, '9') +
          "}",
      "{\"action\":\"joinGroup\",\"user_uuid\":\"x\",\"pad\":" + std::string(40, '[') +
          std::string(40, ']') + "}",
      std::string(100000, '['),
  };
  return list;
}

TEST(GroupRequestScanner, AgreesWithTheFullParseOnHandPickedInputs) {
  for (const auto& body : samples()) expect_same(body);
}

TEST(GroupRequestScanner, AgreesOnIdentifiersAtAndOverTheirLimits) {
  for (size_t n : {1u, 127u, 128u, 129u, 255u, 256u, 257u}) {
    const std::string v(n, 'a');
    expect_same(R"({"action":"joinGroup","user_uuid":")" + v + "\"}");
    expect_same(R"({"action":"joinGroup","user_uuid":"u","name":")" + v + "\"}");
    expect_same(R"({"action":"sendMessage","user_uuid":"u","client_msg_id":")" + v + "\"}");
  }
  for (size_t n : {63u, 64u, 65u}) {
    expect_same(R"({"action":"getMessage","user_uuid":"u","timestamp":")" + std::string(n, '1') +
                "\"}");
    expect_same(R"({"action":"getMessage","user_uuid":"u","since_time":")" + std::string(n, '1') +
                "\"}");
  }
}

// Every prefix and many random single-byte changes of valid requests: the
// scanner must never accept what the full parse refuses, nor differ in result.
TEST(GroupRequestScanner, AgreesOnTruncatedAndMutatedRequests) {
  const std::vector<std::string> valid = {
      R"({"action":"sendMessage","user_uuid":"u-1","message":"h\u00e9llo \"w\"","name":"Ann","client_msg_id":"c1"})",
      R"({"action":"getMessage","user_uuid":"u","timestamp":"2026-01-02T03:04:05","since_seq":17,"limit":100})",
      R"({"action":"getMessage","user_uuid":"u","since_time":"2026-01-02T03:04:05Z","last":100})",
  };
  const std::string alphabet = "{}[]:,\"\\ -0123456789.eEtrufalsn\x01\x7f\xc3\xa9\xff";
  std::mt19937 rng(12345);
  for (const auto& body : valid) {
    for (size_t n = 0; n <= body.size(); ++n) expect_same(body.substr(0, n));
    for (int i = 0; i < 3000; ++i) {
      std::string m = body;
      const size_t at = rng() % m.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          m[at] = c;
          break;
        case 1:
          m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          m.erase(at, 1);
      }
      expect_same(m);
      if (HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace gc

namespace gc {
namespace {

// The encoder tests eight bytes at a time; every byte value at every offset
// around those blocks must still be escaped (or replaced) as one at a time.
TEST(JsonStringEncoding, EveryByteAtEveryOffsetRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    for (size_t offset = 0; offset < 18; ++offset) {
      const std::string s = std::string(offset, 'a') + static_cast<char>(c) + std::string(9, 'b');
      std::string out;
      append_json_string(out, s);
      const std::string expected =
          c < 0x80 ? s : std::string(offset, 'a') + "\xef\xbf\xbd" + std::string(9, 'b');  // U+FFFD
      ASSERT_EQ(nlohmann::json::parse(out).get<std::string>(), expected)
          << "byte " << c << " at " << offset;
    }
  }
}

}  // namespace
}  // namespace gc
