#pragma once
// How a message is shown to a person or a script: the reference's line, one
// JSON object a line, and a pushed message tagged with its group.
#include <string>

#include "protocol/group_protocol.hpp"

namespace gc {

// "WHO : TEXT (TIMESTAMP)" as the reference prints a message; WHO is the display
// name when the message has one, else the sender's UUID.
std::string format_message(const ChatMessage& m);
// The same message as one line of JSON: user_uuid, message, timestamp, and
// seq and name when present (what `get --json` and `follow --json` print).
std::string format_message_json(const ChatMessage& m);
// "[IP:PORT] WHO : TEXT (TIMESTAMP)": a pushed message as the shell shows it,
// naming the group it came to.
std::string format_pushed_message(const std::string& address, const ChatMessage& m);

}  // namespace gc
