#pragma once
// What a person is told about one follower's connection: one notice when the
// server stops answering, one when it answers again; silence otherwise.
// Sans IO: fed the follower's reconnect count and whether a reply came.
#include <optional>
#include <string>

namespace gc {

class FollowNotices {
 public:
  explicit FollowNotices(std::string address) : address_(std::move(address)) {}
  // Returns the notice to show after one step of the follower, if any.
  std::optional<std::string> update(int reconnects, bool answered);
  bool silent() const { return silent_; }

 private:
  std::string address_;
  int seen_reconnects_ = 0;
  bool silent_ = false;
};

}  // namespace gc
