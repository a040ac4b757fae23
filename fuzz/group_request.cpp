// Group request decoding: one fuzz input is one request body. Both paths of
// decode_group_request run on it (the flat scanner, which falls back to the
// full parse for what it does not take, and the full parse alone), and they
// must agree on the verdict, the error text and every decoded field, as
// tests/unit/protocol/group_request_scanner_test.cpp pins for known bodies.
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "protocol/group_protocol.hpp"

namespace {

std::string show(const std::optional<std::string>& s) {
  return s ? "\"" + *s + "\"" : "(none)";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gc;
  const std::string_view body = fuzz::as_view(data, size);

  GroupRequest fast, dom;
  // Reused buffers must not leak one request into the next: decode twice.
  fast.user_uuid = "stale";
  fast.message = "stale";
  Status a = decode_group_request(body, fast);
  Status b = decode_group_request_dom(body, dom);

  FUZZ_CHECK(a.is_ok() == b.is_ok(), "scanner %s, full parse %s", a.is_ok() ? "accepts" : "refuses",
             b.is_ok() ? "accepts" : "refuses");
  if (!a.is_ok()) {
    FUZZ_CHECK(a.message() == b.message(), "errors differ: scanner \"%s\", full parse \"%s\"",
               a.message().c_str(), b.message().c_str());
    FUZZ_CHECK(!a.message().empty(), "a refusal without an error text");
    return 0;
  }
  FUZZ_CHECK(fast.action == dom.action, "action");
  FUZZ_CHECK(fast.user_uuid == dom.user_uuid, "user_uuid");
  FUZZ_CHECK(fast.message == dom.message, "message %s vs %s", show(fast.message).c_str(),
             show(dom.message).c_str());
  FUZZ_CHECK(fast.name == dom.name, "name");
  FUZZ_CHECK(fast.client_msg_id == dom.client_msg_id, "client_msg_id");
  FUZZ_CHECK(fast.timestamp == dom.timestamp, "timestamp");
  FUZZ_CHECK(fast.since_seq == dom.since_seq, "since_seq");
  FUZZ_CHECK(fast.since_time == dom.since_time, "since_time");
  FUZZ_CHECK(fast.limit == dom.limit, "limit");
  FUZZ_CHECK(fast.last == dom.last, "last");
  // The limits the decoder promises (docs/PROTOCOL.md).
  FUZZ_CHECK(!fast.user_uuid.empty() && fast.user_uuid.size() <= kMaxUserUuidBytes,
             "user_uuid size");
  FUZZ_CHECK(fast.name.size() <= kMaxDisplayNameBytes, "name size");
  FUZZ_CHECK(fast.client_msg_id.size() <= kMaxClientMsgIdBytes, "client_msg_id size");
  FUZZ_CHECK(!fast.timestamp || fast.timestamp->size() <= kMaxTimestampBytes, "timestamp size");
  FUZZ_CHECK(!fast.since_time || fast.since_time->size() <= kMaxTimestampBytes, "since_time size");
  // A page size, when given, is in range; absent means the group's default page.
  FUZZ_CHECK(!fast.limit || (*fast.limit >= 1 && *fast.limit <= static_cast<size_t>(kMaxGetLimit)),
             "limit range");
  FUZZ_CHECK(!fast.last || (*fast.last >= 1 && *fast.last <= static_cast<size_t>(kMaxGetLimit)),
             "last range");
  return 0;
}
