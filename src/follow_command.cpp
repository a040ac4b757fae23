#include "groupchat/follow_command.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "groupchat/chat_client.hpp"
#include "groupchat/follower.hpp"
#include "groupchat/shell.hpp"

namespace gc {

int64_t steady_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

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

int run_follow_command(zmq::context_t& ctx, const FollowCommandOptions& options, int stop_fd,
                       std::ostream& out, std::ostream& err) {
  Follower follower(ctx, options.address, options.user_uuid, options.since_seq, options.timing);
  FollowNotices notices(options.address);
  FollowOutput step;
  follower.start(steady_now_ms(), step);
  while (true) {
    for (const auto& m : step.to_show) {
      out << (options.json ? format_message_json(m) : format_message(m)) << '\n' << std::flush;
      if (!out) return 0;  // the reader went away, as with `follow | head`
    }
    if (!step.refused.empty()) {
      err << "error: " << describe_refusal(options.address, step.refused) << "\n" << std::flush;
      return 1;
    }
    if (auto notice = notices.update(follower.reconnects(), step.answered))
      err << (notices.silent() ? "warning: " : "") << *notice << "\n" << std::flush;
    step.clear();

    int64_t wait_ms = std::max<int64_t>(0, follower.next_deadline_ms() - steady_now_ms());
    zmq::pollitem_t items[] = {{follower.socket().handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, stop_fd, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, stop_fd >= 0 ? 2 : 1, std::chrono::milliseconds(wait_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
      continue;  // a signal: the stop pipe says whether to end
    }
    if (stop_fd >= 0 && (items[1].revents & ZMQ_POLLIN)) return 0;
    int64_t now = steady_now_ms();
    if (items[0].revents & ZMQ_POLLIN) follower.on_readable(now, step);
    // Also after input: a steady stream of pushes must not starve the renewal.
    if (step.refused.empty() && now >= follower.next_deadline_ms()) follower.on_tick(now, step);
  }
}

}  // namespace gc
