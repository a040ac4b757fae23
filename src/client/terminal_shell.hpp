#pragma once
// The shell on a terminal: the same commands as Shell, read through a line
// editor, while one Follower per joined group prints the group's new messages
// above the prompt as soon as they are stored. One zmq poll loop over the
// terminal, the followers' sockets and a stop pipe; no threads.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "client/follow_notices.hpp"
#include "client/follower.hpp"
#include "client/line_editor.hpp"
#include "client/shell.hpp"

namespace gc {

struct TerminalOptions {
  std::string history_file;           // "" for no history file
  std::vector<std::string> followed;  // groups (IP:PORT) to follow from the start
  int stop_fd = -1;                   // readable on SIGINT/SIGTERM; -1 for none
  FollowTiming timing;
  // Called after a confirmed join or leave, e.g. to remember the group.
  Shell::MembershipObserver on_membership;
  // How a group is reached (its CURVE keys); null: every group open.
  std::function<Result<FollowLink>(const std::string& address)> link_for;
};

class TerminalShell {
 public:
  // Commands run on `shell`; its output stream must be the terminal (stdout).
  TerminalShell(zmq::context_t& ctx, Shell& shell, std::string user_uuid, TerminalOptions options);

  // Runs until exit, end of input (Ctrl-D) or a stop signal.
  void run();

 private:
  struct Followed {
    std::unique_ptr<Follower> follower;
    FollowNotices notices;
  };
  void follow(const std::string& address);
  void unfollow(const std::string& address);
  // Drops the message being written (Ctrl-C, Ctrl-D) and says so; the shell goes on.
  void cancel_draft();
  void show(const std::string& address, Followed& f, FollowOutput& step);

  zmq::context_t& ctx_;
  Shell& shell_;
  std::string user_uuid_;
  TerminalOptions options_;
  std::unique_ptr<LineEditor> editor_;
  std::map<std::string, Followed> followed_;  // by group address
};

}  // namespace gc
