// The client's side: one fuzz input is one frame from a server, given to every
// decoder a client or a group applies to what a server sends it, as the
// callers use them: group replies (and, on a SUCCESS, the sent message, the
// message page, last_seq and public_id), pushes, the registry's register and heartbeat
// replies and the group list. None may crash, throw or hang, whatever the frame.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_check.hpp"
#include "protocol/group_protocol.hpp"
#include "protocol/registry_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gc;
  const std::string_view text = fuzz::as_view(data, size);

  // A reply to a group request (GroupClient, FollowState).
  auto reply = decode_group_reply(text);
  if (reply) {
    FUZZ_CHECK(reply->body.is_object(), "a decoded reply that is not an object");
    if (reply->success) {
      decode_sent_message(reply->body);
      decode_last_seq(reply->body);
      if (auto id = decode_public_id(reply->body))
        FUZZ_CHECK(!id->empty() && id->size() <= kMaxPublicIdBytes, "public_id size");
      auto page = decode_messages(reply->body);
      if (page) {
        FUZZ_CHECK(page->messages.size() == reply->body["messages"].size(), "page size");
        page->end_seq();
      } else {
        FUZZ_CHECK(!page.error().empty(), "a refused page without an error text");
      }
    }
  } else {
    FUZZ_CHECK(!reply.error().empty(), "a refused reply without an error text");
  }

  // A frame on a follow connection: a push, or a reply (FollowState::on_frame).
  nlohmann::json frame = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (auto push = decode_push(frame)) {
    FUZZ_CHECK(frame.is_object() && frame.contains("event"), "a push without an event");
  }
  if (frame.is_object()) decode_message(frame);

  // The registry's answers (RegistryLink, RegistryClient).
  RegisterReply reg = decode_register_reply(text);
  FUZZ_CHECK(reg.accepted || !reg.error.empty(), "a refused register without a reason");
  FUZZ_CHECK(!reg.heartbeat_ms || (*reg.heartbeat_ms >= 50 && *reg.heartbeat_ms <= 60000),
             "heartbeat_ms out of range");
  HeartbeatReply beat = decode_heartbeat_reply(text);
  FUZZ_CHECK(beat.verdict != HeartbeatVerdict::refused || !beat.error.empty(),
             "a refused heartbeat without a reason");
  GroupListReply list = decode_group_list(text);
  FUZZ_CHECK(list.kind == GroupListReply::Kind::list || list.groups.empty(),
             "groups in a reply that is not a list");
  FUZZ_CHECK(list.kind != GroupListReply::Kind::unreadable || !list.error.empty(),
             "an unreadable list without a reason");
  return 0;
}
