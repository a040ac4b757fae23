// Registry request decoding: one fuzz input is one request body given to
// decode_registry_request. A refusal must say why; an accepted request must
// hold fields within their limits and come back the same when our own
// encoder writes it again (what a group or client would send for it).
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "protocol/limits.hpp"
#include "protocol/registry_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gc;
  auto decoded = decode_registry_request(fuzz::as_view(data, size));
  if (!decoded) {
    FUZZ_CHECK(!decoded.error().empty(), "a refusal without an error text");
    // The refusal the registry sends must be a reply its clients can read.
    auto reply = decode_register_reply(registry_failed(decoded.error()));
    // (Its text may differ: invalid UTF-8 from a cut field becomes U+FFFD on the wire.)
    FUZZ_CHECK(!reply.accepted && !reply.error.empty(), "our FAILED reply reads as accepted");
    return 0;
  }
  const RegistryRequest& r = *decoded;
  std::string again;
  if (r.action == RegistryAction::get_group_list) {
    FUZZ_CHECK(!r.user_uuid.empty() && r.user_uuid.size() <= kMaxUserUuidBytes, "user_uuid size");
    again = make_group_list_request(r.user_uuid);
  } else {
    FUZZ_CHECK(!r.group_name.empty() && r.group_name.size() <= kMaxGroupNameBytes,
               "group_name size");
    FUZZ_CHECK(!r.ip_port.empty() && r.ip_port.size() <= kMaxIpPortBytes, "ip_port size");
    FUZZ_CHECK(!r.heartbeat || r.action == RegistryAction::register_group,
               "heartbeat flag outside register");
    again = make_registry_request(r.action, r.group_name, r.ip_port, r.heartbeat);
  }
  auto redecoded = decode_registry_request(again);
  FUZZ_CHECK(redecoded.is_ok(), "our own encoding of an accepted request is refused: %s",
             redecoded.error().c_str());
  FUZZ_CHECK(redecoded->action == r.action && redecoded->group_name == r.group_name &&
                 redecoded->ip_port == r.ip_port && redecoded->user_uuid == r.user_uuid &&
                 redecoded->heartbeat == r.heartbeat,
             "request changed on re-encoding: %s", again.c_str());
  return 0;
}
