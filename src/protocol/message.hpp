#pragma once
// A chat message as a group keeps and sends it. The store persists it, the
// group's replies and pushes encode it (docs/PROTOCOL.md, "Message object").
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gc {

struct StoredMessage {
  uint64_t seq = 0;
  std::string user_uuid;
  std::string name;  // sender's display name; empty when none was given
  std::string text;
  int64_t time_us = 0;        // epoch microseconds, non-decreasing with seq
  std::string client_msg_id;  // empty when the sender gave none
};

// What a message weighs in a page, roughly as JSON: its strings and a
// fixed overhead for the rest. A page stops before passing a byte cap.
inline size_t page_bytes(const StoredMessage& m) {
  return m.user_uuid.size() + m.name.size() + m.text.size() + m.client_msg_id.size() + 96;
}

struct MessagePage {
  std::vector<StoredMessage> messages;  // ascending by seq
  bool more = false;                    // more messages match after the last one returned
};

}  // namespace gc
