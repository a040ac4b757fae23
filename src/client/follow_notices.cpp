#include "client/follow_notices.hpp"

namespace gc {

std::optional<std::string> FollowNotices::update(int reconnects, bool answered) {
  std::optional<std::string> notice;
  if (answered && silent_) {
    silent_ = false;
    notice = "connected to " + address_;
  }
  if (reconnects > seen_reconnects_) {
    seen_reconnects_ = reconnects;
    if (!silent_) {
      silent_ = true;
      notice = "no reply from " + address_ + "; retrying (is group_server running there?)";
    }
  }
  return notice;
}

}  // namespace gc
