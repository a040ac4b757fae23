#pragma once
// How a message is shown to a person or a script: the reference's line, one
// JSON object a line, and a pushed message tagged with its group.
#include <cstddef>
#include <string>
#include <unordered_map>

#include "protocol/group_protocol.hpp"

namespace gc {

// Which display names more than one sender has used, per group. A name is
// chosen by its sender and proves nothing; the sender's public id (what our
// groups put in "user_uuid", docs/PROTOCOL.md "Public ids") does. Once two
// different ids have used a name in a group among the messages a run has
// shown, every line with that name from that group carries a fingerprint of
// its sender's id, so one member cannot pass as another by taking its name.
// Names used by one sender print as before. (Public ids differ between
// groups, so names are counted per group address.)
class NameFingerprints {
 public:
  // Notes the sender of m under its name in `group` (nothing without a name).
  void observe(const std::string& group, const ChatMessage& m);
  // Whether m's name has been used by more than one sender in `group`, or
  // cannot be told (a name first seen after kMaxNames others).
  bool shared(const std::string& group, const ChatMessage& m) const;

  // Names remembered per run; past it, unseen names count as shared.
  static constexpr size_t kMaxNames = 4096;
  // Characters of the public id shown as the fingerprint.
  static constexpr size_t kFingerprintChars = 8;

 private:
  static std::string key(const std::string& group, const std::string& name);
  struct Seen {
    std::string first_sender;
    bool shared = false;
  };
  std::unordered_map<std::string, Seen> names_;
  bool full_ = false;
};

// "WHO : TEXT (TIMESTAMP)" as the reference prints a message; WHO is the display
// name when the message has one, else the sender's UUID (from our groups, its
// public id). With fingerprint (a shared name, see NameFingerprints), the name
// is followed by the first 8 characters of the sender's id:
// "alice [3fa9c2d1] : hi (TIMESTAMP)".
std::string format_message(const ChatMessage& m, bool fingerprint = false);
// The same message as one line of JSON: user_uuid, message, timestamp, and
// seq and name when present (what `get --json` and `follow --json` print).
std::string format_message_json(const ChatMessage& m);
// "[IP:PORT] WHO : TEXT (TIMESTAMP)": a pushed message as the shell shows it,
// naming the group it came to.
std::string format_pushed_message(const std::string& address, const ChatMessage& m,
                                  bool fingerprint = false);

}  // namespace gc
