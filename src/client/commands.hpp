#pragma once
// The one-shot commands of user_client, for scripts: each does one thing,
// prints its result on `out`, tells what went wrong on `err`, and returns the
// exit code. The program only parses flags and calls one of these.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "client/chat_client.hpp"
#include "client/follow_state.hpp"
#include "client/follower.hpp"
#include "client/shell.hpp"
#include "client/user_files.hpp"

namespace gc {

// Exit codes: the server did it; it refused; bad usage; no usable reply; the
// connection's security failed (a server did not prove the key expected,
// refused ours, or one end is curve and the other open).
inline constexpr int kExitOk = 0, kExitRefused = 1, kExitUsage = 2, kExitUnreachable = 3,
                     kExitInsecure = 4;

// Reports a failed call on err and maps it to its exit code.
int report_call_failure(CallStatus status, const std::string& address, const std::string& error,
                        std::ostream& err);

// `groups`: the live groups, one "NAME - IP:PORT" a line. With a curve
// registry (curve), asked with list_groups, a curve group's line ends with
// " (curve)"; else with get_group_list, as the reference.
// Said on stderr when a list or a read holds nothing (stdout stays empty, as
// the reference's, for scripts).
inline constexpr const char* kNoGroups = "(no live groups)";
inline constexpr const char* kNoMessages = "(no messages)";

int run_groups(RegistryClient& registry, bool curve, std::ostream& out, std::ostream& err);

// `join` / `leave`: SUCCESS, then `on_membership(address, joined)`.
using MembershipObserver = std::function<void(const std::string& address, bool joined)>;
int run_membership(GroupClient& group, bool join, const MembershipObserver& on_membership,
                   std::ostream& out, std::ostream& err);

// `send`: the words joined by spaces are the message, or "-" alone reads it
// from `in` (without its final newline).
int run_send(GroupClient& group, const std::vector<std::string>& words, std::istream& in,
             std::ostream& out, std::ostream& err);

// `get`: with a limit, one page (and a note on err when more follow);
// without, every page.
int run_get(GroupClient& group, const MessageQuery& query, bool json, std::ostream& out,
            std::ostream& err);

// `whoami`: this user's public key (the CURVE key it is known by to curve
// servers: what an operator adds to a members file), alone on a line; with a
// group, two labelled lines, the key and the public id there (what the other
// members see as its user_uuid), and a note on err when it is not a member.
// json: one object {"public_key":K} (+ "group", "public_id", "member").
struct WhoAmIOptions {
  std::string public_key;
  bool json = false;
};
int run_whoami(const WhoAmIOptions& options, GroupClient* group, std::ostream& out,
               std::ostream& err);

// The file where this user's joined groups are remembered, so that a shell on
// a terminal follows them again; nullopt when they are not remembered (the
// identity itself lives only in memory for this run).
std::optional<std::filesystem::path> joined_groups_file_for(const Identity& me,
                                                            const IdentityOptions& options);
// An observer that records confirmed joins and leaves in that file; a failure
// to write it is a warning on err. Does nothing without a file.
MembershipObserver remember_memberships(std::optional<std::filesystem::path> file,
                                        std::string user_uuid, std::ostream& err);

// The shell, the default command. With stdin and stdout on a terminal: the
// line editor, with the live messages of every group joined (and remembered
// in `groups_file`). Otherwise exactly the reference's shell over the streams.
// link_for says how a followed group is reached (null: open).
using FollowLinkSource = std::function<Result<FollowLink>(const std::string& address)>;
int run_shell(Transport& transport, ShellConfig config,
              const std::optional<std::filesystem::path>& groups_file,
              const MembershipObserver& on_membership, std::istream& in, std::ostream& out,
              std::ostream& err, FollowLinkSource link_for = nullptr);

// `follow`: prints a group's messages as they arrive, like tail -f.
struct FollowCommandOptions {
  std::string address;  // IP:PORT of the group server
  std::string user_uuid;
  std::optional<int64_t> since_seq;  // absent: only messages stored from now on
  bool json = false;                 // one JSON object a line instead of WHO : TEXT (TIME)
  FollowTiming timing;
  FollowLink link;  // CURVE keys (none: open)
};
// Runs until stop_fd becomes readable (returns 0), stdout is closed (0), the
// group refuses (error on err, returns 1), or the connection's handshake
// fails (error on err, returns 4). Messages go to out one a line,
// flushed per line; notices about the connection go to err.
int run_follow(zmq::context_t& ctx, const FollowCommandOptions& options, int stop_fd,
               std::ostream& out, std::ostream& err);

}  // namespace gc
