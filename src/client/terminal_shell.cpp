#include "client/terminal_shell.hpp"

#include <cstdio>

#include "client/display.hpp"
#include "core/clock.hpp"
#include "core/stop_signal.hpp"
#include "core/visible_text.hpp"
#include "net/poll.hpp"

namespace gc {

namespace {
constexpr const char* kMessagePrompt = "... ";  // while send_message collects lines
}  // namespace

TerminalShell::TerminalShell(zmq::context_t& ctx, Shell& shell, std::string user_uuid,
                             TerminalOptions options)
    : ctx_(ctx), shell_(shell), user_uuid_(std::move(user_uuid)), options_(std::move(options)) {}

void TerminalShell::follow(const std::string& address) {
  if (followed_.count(address) > 0) return;
  FollowLink link;
  if (options_.link_for) {
    auto l = options_.link_for(address);
    if (!l) {
      editor_->print_above("warning: cannot follow " + visible_text(address) + ": " +
                           visible_text(l.error()));
      return;
    }
    link = std::move(*l);
  }
  Followed f{std::make_unique<Follower>(ctx_, address, user_uuid_, std::nullopt, options_.timing,
                                        std::move(link)),
             FollowNotices(address)};
  FollowOutput step;
  f.follower->start(mono_ms(), step);
  followed_.emplace(address, std::move(f));
}

void TerminalShell::unfollow(const std::string& address) {
  followed_.erase(address);
}

void TerminalShell::show(const std::string& address, Followed& f, FollowOutput& step) {
  if (!step.notice.empty()) editor_->print_above("note: " + address + ": " + step.notice);
  for (const auto& m : step.to_show) shell_.names().observe(address, m);
  for (const auto& m : step.to_show) {
    // One's own message was shown as its SUCCESS: not twice.
    if (m.seq && shell_.sent_here(address, *m.seq)) continue;
    editor_->print_above(format_pushed_message(address, m, shell_.names().shared(address, m)));
  }
  for (const auto& problem : step.problems)
    editor_->print_above("warning: " + visible_text(address) + ": " + visible_text(problem));
  if (auto notice = f.notices.update(f.follower->reconnects(), step.answered))
    editor_->print_above((f.notices.silent() ? "warning: " : "note: ") + visible_text(*notice));
}

void TerminalShell::cancel_draft() {
  if (!shell_.cancel_message()) return;
  editor_->discard_line();
  editor_->print_above("message cancelled, not sent");
  editor_->set_prompt(shell_.prompt());
  editor_->set_recording(true);
  editor_->redraw();
}

void TerminalShell::run() {
  editor_ = std::make_unique<LineEditor>(shell_.prompt(), options_.history_file);
  editor_->set_completer([this](std::string_view before, std::string_view word) {
    return shell_.complete(before, word);
  });
  shell_.on_membership([this](const std::string& address, bool joined) {
    if (joined)
      follow(address);
    else
      unfollow(address);
    if (options_.on_membership) options_.on_membership(address, joined);
  });
  for (const auto& address : options_.followed) follow(address);

  bool running = true;
  std::vector<zmq::pollitem_t> items;
  std::vector<std::string> item_groups;  // the group of each follower item
  while (running) {
    items.clear();
    item_groups.clear();
    items.push_back({nullptr, editor_->fd(), ZMQ_POLLIN, 0});
    if (options_.stop_fd >= 0) items.push_back({nullptr, options_.stop_fd, ZMQ_POLLIN, 0});
    const size_t first_group = items.size();
    NextWake wake(mono_ms());
    for (auto& [address, f] : followed_) {
      items.push_back({f.follower->socket().handle(), 0, ZMQ_POLLIN, 0});
      item_groups.push_back(address);
      wake.at(f.follower->next_deadline_ms());
    }
    if (!poll_items(items.data(), items.size(), wake.timeout_ms()))
      continue;  // a signal: the stop pipe says whether to end
    if (options_.stop_fd >= 0 && (items[1].revents & ZMQ_POLLIN)) {
      // Ctrl-C while a message is being written cancels the message, not the
      // shell; any other stop (SIGTERM, Ctrl-C at the prompt) ends it.
      if (!shell_.collecting_message() || !only_interrupts_pending(options_.stop_fd)) break;
      cancel_draft();
      continue;
    }

    // Followers first: typed commands may add or drop followers.
    int64_t now = mono_ms();
    for (size_t i = 0; i < item_groups.size(); ++i) {
      auto it = followed_.find(item_groups[i]);
      if (it == followed_.end()) continue;
      Followed& f = it->second;
      FollowOutput step;
      if (items[first_group + i].revents & ZMQ_POLLIN) f.follower->on_readable(now, step);
      if (step.refused.empty() && now >= f.follower->next_deadline_ms())
        f.follower->on_tick(now, step);
      show(it->first, f, step);
      if (!f.follower->link_failure().empty()) {
        // The group cannot be reached as it is: stop following it for this
        // run; it stays remembered (the user is still a member).
        editor_->print_above("warning: stopped following " + visible_text(it->first) + ": " +
                             visible_text(f.follower->link_failure()));
        followed_.erase(it);
        continue;
      }
      if (!step.refused.empty()) {
        // Not a member any more (left from elsewhere): stop following, forget it.
        std::string address = it->first;
        editor_->print_above("note: stopped following " + visible_text(address) + ": " +
                             visible_text(step.refused));
        followed_.erase(it);
        if (options_.on_membership) options_.on_membership(address, false);
      }
    }

    if (items[0].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
      auto lines = editor_->on_readable();
      for (const auto& line : lines) {
        if (!shell_.feed(line)) {
          running = false;
          break;
        }
      }
      if (!running) break;
      if (editor_->eof()) {
        if (shell_.collecting_message()) {
          // Ctrl-D on an empty line of a message: cancel it, as Ctrl-C does.
          editor_->clear_eof();
          cancel_draft();
          continue;
        }
        std::fputc('\n', stdout);
        shell_.end_of_input();
        break;
      }
      if (!lines.empty()) {
        std::fflush(stdout);
        editor_->set_prompt(shell_.collecting_message() ? kMessagePrompt : shell_.prompt());
        editor_->set_recording(!shell_.collecting_message());
        editor_->redraw();
      }
    }
  }
  shell_.on_membership(nullptr);
  bool prompt_on_screen = running;  // a stop signal arrived while the prompt was shown
  editor_.reset();
  if (prompt_on_screen) std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace gc
