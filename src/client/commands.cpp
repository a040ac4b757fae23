#include "client/commands.hpp"

#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

#include "client/display.hpp"
#include "client/follow_notices.hpp"
#include "client/follower.hpp"
#include "client/terminal_shell.hpp"
#include "core/clock.hpp"
#include "core/stop_signal.hpp"
#include "core/visible_text.hpp"
#include "net/poll.hpp"

namespace gc {

int report_call_failure(CallStatus status, const std::string& address, const std::string& error,
                        std::ostream& err) {
  if (status == CallStatus::refused) {
    err << "error: " << describe_refusal(address, error) << "\n";
    return kExitRefused;
  }
  err << "error: " << visible_text(error) << "\n";
  if (status == CallStatus::insecure) return kExitInsecure;
  return kExitUnreachable;  // no reply, or a reply that is not from a groupchat server
}

int run_groups(RegistryClient& registry, bool curve, std::ostream& out, std::ostream& err) {
  if (curve) {
    auto r = registry.list_groups();
    if (!r.ok()) return report_call_failure(r.status(), registry.address(), r.error(), err);
    for (const auto& g : r.value())
      out << visible_text(g.name + " - " + g.address) << (g.curve ? " (curve)" : "") << "\n";
    if (r.value().empty()) err << kNoGroups << "\n";
    return kExitOk;
  }
  auto r = registry.get_group_list();
  if (!r.ok()) return report_call_failure(r.status(), registry.address(), r.error(), err);
  for (const auto& g : r.value()) out << visible_text(g) << "\n";
  if (r.value().empty()) err << kNoGroups << "\n";
  return kExitOk;
}

int run_membership(GroupClient& group, bool join, const MembershipObserver& on_membership,
                   std::ostream& out, std::ostream& err) {
  auto r = join ? group.join() : group.leave();
  if (!r.ok()) return report_call_failure(r.status(), group.address(), r.error(), err);
  out << "SUCCESS\n" << std::flush;
  if (on_membership) on_membership(group.address(), join);
  return kExitOk;
}

int run_send(GroupClient& group, const std::vector<std::string>& words, std::istream& in,
             std::ostream& out, std::ostream& err) {
  std::string text;
  if (words.size() == 1 && words[0] == "-") {
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
  } else {
    for (size_t i = 0; i < words.size(); ++i) text += (i ? " " : "") + words[i];
  }
  auto r = group.send(text);
  if (!r.ok()) {
    const int code = report_call_failure(r.status(), group.address(), r.error(), err);
    if (r.error().find(kSendMayBeStored) != std::string::npos)
      err << "note: see whether it is there with: user_client get " << visible_text(group.address())
          << "\n";
    return code;
  }
  out << "SUCCESS\n";
  return kExitOk;
}

int run_get(GroupClient& group, const MessageQuery& query, bool json, std::ostream& out,
            std::ostream& err) {
  // A page is noted whole before it is printed: both senders of a shared name show marked.
  NameFingerprints names;
  size_t printed = 0;
  auto print = [&](const FetchedPage& page) {
    printed += page.messages.size();
    for (const auto& m : page.messages) names.observe(group.address(), m);
    for (const auto& m : page.messages)
      out << (json ? format_message_json(m) : format_message(m, names.shared(group.address(), m)))
          << "\n";
    out.flush();
    return static_cast<bool>(out);
  };
  auto warn_reference = [&](const FetchedPage& page) {
    if (page.from_reference && query.since_seq && query.timestamp)
      err << "warning: " << group.address()
          << " is a reference group, which has no seqs: --since-seq was not applied together "
             "with --since\n";
  };
  if (query.limit || query.last) {
    auto r = group.get(query);
    if (!r.ok()) return report_call_failure(r.status(), group.address(), r.error(), err);
    warn_reference(r.value());
    print(r.value());
    if (r->more && r->end_seq())
      err << "note: more messages follow; continue with --since-seq " << *r->end_seq() << "\n";
    if (printed == 0) err << kNoMessages << "\n";
    return kExitOk;
  }
  // Each page is printed as it arrives; a later page's failure follows what was printed.
  auto r = group.get_pages(query, [&](FetchedPage& page) {
    warn_reference(page);
    return print(page);
  });
  if (!r.ok()) return report_call_failure(r.status(), group.address(), r.error(), err);
  if (printed == 0) err << kNoMessages << "\n";
  return kExitOk;
}

int run_whoami(const WhoAmIOptions& options, GroupClient* group, std::ostream& out,
               std::ostream& err) {
  if (!group) {
    if (options.json)
      out << nlohmann::json{{"public_key", options.public_key}}.dump() << "\n";
    else
      out << options.public_key << "\n";
    return kExitOk;
  }
  auto r = group->whoami();
  if (!r.ok()) return report_call_failure(r.status(), group->address(), r.error(), err);
  if (options.json) {
    // dump() escapes what a terminal would act on; the id is the group's text.
    nlohmann::json j{{"public_key", options.public_key},
                     {"group", group->address()},
                     {"public_id", r->public_id},
                     {"member", r->member}};
    out << j.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    out << "public key: " << options.public_key << "\n"
        << "public id at " << group->address() << ": " << visible_text(r->public_id) << "\n";
  }
  if (!r->member) err << "note: not a member of " << group->address() << "\n";
  return kExitOk;
}

std::optional<std::filesystem::path> joined_groups_file_for(const Identity& me,
                                                            const IdentityOptions& options) {
  if (!me.persisted && !options.user_id) return std::nullopt;
  return joined_groups_file(options);
}

MembershipObserver remember_memberships(std::optional<std::filesystem::path> file,
                                        std::string user_uuid, std::ostream& err) {
  return [file = std::move(file), user_uuid = std::move(user_uuid), &err](
             const std::string& address, bool joined) {
    if (!file) return;
    if (auto e = store_joined_group(*file, user_uuid, canonical_group_address(address), joined))
      err << "warning: " << *e << "; the shell will not follow this group at start\n";
  };
}

int run_shell(Transport& transport, ShellConfig config,
              const std::optional<std::filesystem::path>& groups_file,
              const MembershipObserver& on_membership, std::istream& in, std::ostream& out,
              std::ostream& err, FollowLinkSource link_for) {
  const bool on_terminal = ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1;
  config.prompt = ::isatty(STDIN_FILENO) == 1;
  const std::string user_uuid = config.user_uuid;
  Shell shell(transport, std::move(config), in, out, err);
  if (!on_terminal) {
    shell.on_membership(on_membership);
    shell.run();
    // A message cut off by the end of input was not sent: a script must see that.
    return shell.draft_lost() ? kExitUsage : kExitOk;
  }
  TerminalOptions options;
  if (auto h = history_file()) {
    std::error_code ec;
    std::filesystem::create_directories(h->parent_path(), ec);
    if (!ec) options.history_file = h->string();
  }
  if (groups_file) {
    // Remembered under any spelling (an older file): each group once.
    for (const auto& address : load_joined_groups(*groups_file, user_uuid)) {
      std::string canonical = canonical_group_address(address);
      if (std::find(options.followed.begin(), options.followed.end(), canonical) ==
          options.followed.end())
        options.followed.push_back(std::move(canonical));
    }
  }
  options.stop_fd = watch_stop_signals();
  options.on_membership = on_membership;
  options.link_for = std::move(link_for);
  zmq::context_t ctx;
  TerminalShell terminal(ctx, shell, user_uuid, std::move(options));
  terminal.run();
  return kExitOk;
}

int run_follow(zmq::context_t& ctx, const FollowCommandOptions& options, int stop_fd,
               std::ostream& out, std::ostream& err) {
  Follower follower(ctx, options.address, options.user_uuid, options.since_seq, options.timing,
                    options.link);
  FollowNotices notices(options.address);
  NameFingerprints names;
  FollowOutput step;
  follower.start(mono_ms(), step);
  while (true) {
    if (!step.notice.empty()) err << "note: " << step.notice << "\n" << std::flush;
    // What arrived together is noted together, as a page of get is.
    for (const auto& m : step.to_show) names.observe(options.address, m);
    for (const auto& m : step.to_show) {
      out << (options.json ? format_message_json(m)
                           : format_message(m, names.shared(options.address, m)))
          << '\n'
          << std::flush;
      if (!out) return kExitOk;  // the reader went away, as with `follow | head`
    }
    if (!step.refused.empty()) {
      err << "error: " << describe_refusal(options.address, step.refused) << "\n" << std::flush;
      return kExitRefused;
    }
    for (const auto& problem : step.problems)
      err << "warning: " << options.address << ": " << visible_text(problem) << "\n" << std::flush;
    if (auto notice = notices.update(follower.reconnects(), step.answered))
      err << (notices.silent() ? "warning: " : "") << visible_text(*notice) << "\n" << std::flush;
    step.clear();

    NextWake wake(mono_ms());
    wake.at(follower.next_deadline_ms());
    zmq::pollitem_t items[] = {{follower.socket().handle(), 0, ZMQ_POLLIN, 0},
                               {nullptr, stop_fd, ZMQ_POLLIN, 0}};
    if (!poll_items(items, stop_fd >= 0 ? 2 : 1, wake.timeout_ms())) continue;
    if (stop_fd >= 0 && (items[1].revents & ZMQ_POLLIN)) return kExitOk;
    int64_t now = mono_ms();
    if (items[0].revents & ZMQ_POLLIN) follower.on_readable(now, step);
    // Also after input: a steady stream of pushes must not starve the renewal.
    if (step.refused.empty() && now >= follower.next_deadline_ms()) follower.on_tick(now, step);
    if (!follower.link_failure().empty()) {
      err << "error: " << visible_text(follower.link_failure()) << "\n" << std::flush;
      return kExitInsecure;
    }
  }
}

}  // namespace gc
