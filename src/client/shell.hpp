#pragma once
// The interactive shell: the reference user's commands, read a line at a time,
// printing what the reference prints. It talks through a Transport, so tests
// drive it with a fake one and plain string streams.
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "client/chat_client.hpp"
#include "client/display.hpp"
#include "client/group_names.hpp"
#include "core/result.hpp"

namespace gc {

struct ShellConfig {
  std::string registry;  // IP:PORT of the message_server
  std::string user_uuid;
  std::string name;     // display name; empty = none
  bool prompt = false;  // print "> " before each command (stdin is a terminal)
};

class Shell {
 public:
  // Replies and the reference's lines go to `out`; local and transport errors
  // (bad address, unreachable server) go to `err`.
  Shell(Transport& transport, ShellConfig config, std::istream& in, std::ostream& out,
        std::ostream& err);

  // Reads commands until `exit` or the end of input.
  void run();
  // Takes one input line: a command, or a line of the message that a
  // send_message is collecting. Returns false when the shell should stop.
  // (run() is this fed from the input stream; a terminal loop feeds it from
  // a line editor.)
  bool feed(std::string line);
  // True while send_message is collecting message lines (until END).
  bool collecting_message() const { return pending_send_.has_value(); }
  // The input has ended: a message still being collected is not sent (said on err).
  void end_of_input();
  // Drops the message being collected, if any (Ctrl-C or Ctrl-D at a
  // terminal, as irssi and weechat do); true when there was one.
  bool cancel_message() {
    const bool had = pending_send_.has_value();
    pending_send_.reset();
    return had;
  }
  // True (and forgotten) when `seq` of the group at `address` is a message
  // this shell sent: its SUCCESS was shown, so its live copy is not.
  bool sent_here(const std::string& address, int64_t seq);
  // True once input ended inside a message (before its END): it was not sent.
  bool draft_lost() const { return draft_lost_; }

  // Called after a join (joined = true) or a leave that the group confirmed,
  // with the group's IP:PORT.
  using MembershipObserver = std::function<void(const std::string& address, bool joined)>;
  void on_membership(MembershipObserver observer) { observer_ = std::move(observer); }

  // The prompt: "> ", or "NAME> " (the address when joined by address) once
  // /join made a group the current one.
  std::string prompt() const;
  // The current group's address; empty when there is none.
  const std::string& current_group() const { return current_.address; }

  // Tab completion: the words that may stand where `word` is typed, after
  // `before` (the line up to the word). First a command; after a command that
  // takes a group, the names of the registry's live groups (asked at most once
  // per kGroupNamesFreshMs, waiting at most kGroupNamesWaitMs; nothing when
  // it does not answer by then).
  std::vector<std::string> complete(std::string_view before, std::string_view word);
  static constexpr int64_t kGroupNamesFreshMs = 5000;
  static constexpr int kGroupNamesWaitMs = 1500;

  // The display names seen this run (get_messages, and the live lines of a
  // terminal shell): a shared name is shown with its senders' fingerprints.
  NameFingerprints& names() { return names_; }

 private:
  bool execute(const std::string& line);
  // A line beginning with '/': ours (/join, /leave, /groups, ...).
  bool execute_slash(const std::string& line);
  // The group a typed argument names (an address, or a name the registry
  // lists); on failure the error is told on err and the address is empty.
  GroupTarget target(const std::string& text);
  // /join (join) and /leave (!join).
  void change_current(const std::string& text, bool join);
  const std::vector<ListedGroup>& cached_groups();
  // join_group (join) or leave_group (!join).
  // Returns true when the group confirmed it.
  bool change_membership(const std::string& address, bool join);
  void get_group_list();
  void get_messages(const std::string& address, const std::string& since);
  // /last [N]: the newest N messages of the group (kDefaultLast unless told).
  void last_messages(const std::string& address, const std::vector<std::string>& words);
  static constexpr int kDefaultLast = 10;
  // quiet: no SUCCESS line (a line sent to the current group).
  void send_message(const std::string& address, const std::string& body, bool quiet = false);
  void help();
  // Prints a failed call: FAILED (+ the server's reason) or the transport error.
  void report_failure(CallStatus status, const std::string& error, const char* failed_line);
  // Says on stderr that a list or a read held nothing (stdout stays the reference's).
  void say_none(const char* what);

  Transport& transport_;
  ShellConfig config_;
  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
  MembershipObserver observer_;
  struct PendingSend {
    std::string address;  // as typed; checked once the message is complete
    std::string body;
    bool first = true;
  };
  std::optional<PendingSend> pending_send_;
  bool draft_lost_ = false;
  // Seqs of messages sent from this shell and not yet seen pushed, per group
  // (at most kMaxSentRemembered each: older ones are forgotten).
  std::map<std::string, std::set<int64_t>> sent_;
  NameFingerprints names_;
  struct Current {
    std::string address;  // empty: no current group
    std::string label;    // what the prompt shows
  };
  Current current_;
  std::vector<ListedGroup> groups_cache_;
  std::optional<int64_t> groups_cached_at_;  // mono_ms of the last ask
};

}  // namespace gc
