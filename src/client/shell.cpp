#include "client/shell.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <sstream>
#include <vector>

#include "client/commands.hpp"
#include "client/display.hpp"
#include "client/security.hpp"
#include "client/user_files.hpp"
#include "core/clock.hpp"
#include "core/endpoint.hpp"
#include "core/visible_text.hpp"
#include "protocol/limits.hpp"

namespace gc {

namespace {

constexpr const char* kNotMember =
    "User is not a member of this group. Please join the group first.";

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream ss(line);
  std::vector<std::string> words;
  for (std::string w; ss >> w;) words.push_back(w);
  return words;
}

// The text after the first `n` words of line, trimmed.
std::string rest_after_words(const std::string& line, int n) {
  size_t i = 0;
  auto skip_space = [&] {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  };
  for (int k = 0; k < n; ++k) {
    skip_space();
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
  }
  skip_space();
  size_t end = line.size();
  while (end > i && std::isspace(static_cast<unsigned char>(line[end - 1]))) --end;
  return line.substr(i, end - i);
}

void strip_cr(std::string& line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
}

}  // namespace

Shell::Shell(Transport& transport, ShellConfig config, std::istream& in, std::ostream& out,
             std::ostream& err)
    : transport_(transport), config_(std::move(config)), in_(in), out_(out), err_(err) {}

void Shell::run() {
  std::string line;
  bool ended = true;
  while (true) {
    if (config_.prompt && !collecting_message()) out_ << prompt() << std::flush;
    if (!std::getline(in_, line)) break;
    if (!feed(line)) {
      ended = false;
      break;
    }
  }
  if (ended) end_of_input();
  if (config_.prompt && in_.eof()) out_ << "\n";
  out_.flush();
}

bool Shell::feed(std::string line) {
  strip_cr(line);
  if (!pending_send_) return execute(line);
  // Read the whole message first, as the reference does, so the input stays
  // in step with the commands even when the address turns out to be bad.
  if (line == "END") {
    PendingSend p = std::move(*pending_send_);
    pending_send_.reset();
    if (auto t = target(p.address); t.ok()) send_message(t.address, p.body);
    out_.flush();
    return true;
  }
  if (!pending_send_->first) pending_send_->body += "\n";
  pending_send_->body += line;
  pending_send_->first = false;
  return true;
}

void Shell::end_of_input() {
  if (!pending_send_) return;
  pending_send_.reset();
  draft_lost_ = true;
  out_.flush();
  err_ << "error: input ended before the END line; message not sent\n" << std::flush;
}

bool Shell::execute(const std::string& line) {
  const size_t first = line.find_first_not_of(" \t");
  if (first == std::string::npos) return true;  // a blank line is not worth an error
  if (line[first] == '/') {
    const bool running = execute_slash(line.substr(first));
    out_.flush();
    return running;
  }
  auto words = split_words(line);
  const std::string& cmd = words[0];
  const size_t n = words.size();
  // As the reference, words after a command's arguments are ignored (so
  // "send_message IP:PORT now" still takes the lines after it as the
  // message, never as commands). A missing argument is an invalid command
  // whose usage is told on stderr.
  auto needs_address = [&](std::string_view usage) {
    if (n >= 2) return true;
    out_ << "Invalid command\n";
    err_ << "usage: " << usage << "\n" << std::flush;
    return false;
  };
  if (cmd == "exit") return false;
  if (cmd == "help") {
    help();
  } else if (cmd == "get_group_list") {
    get_group_list();
  } else if (cmd == "join_group") {
    if (needs_address("join_group IP:PORT|NAME")) {
      if (auto t = target(words[1]); t.ok()) change_membership(t.address, true);
    }
  } else if (cmd == "leave_group") {
    if (needs_address("leave_group IP:PORT|NAME")) {
      if (auto t = target(words[1]); t.ok()) change_membership(t.address, false);
    }
  } else if (cmd == "get_messages") {
    if (needs_address("get_messages IP:PORT|NAME [TIME]")) {
      if (auto t = target(words[1]); t.ok()) get_messages(t.address, rest_after_words(line, 2));
    }
  } else if (cmd == "send_message") {
    if (needs_address("send_message IP:PORT|NAME, then the message's lines, then a line END")) {
      pending_send_ = PendingSend{words[1], {}, true};
      if (config_.prompt) out_ << "(type the message; end it with a line END)\n";
    }
  } else if (!current_.address.empty()) {
    // IRC's one-line send: with a current group, a line that is no command
    // is a message to it, sent as typed.
    send_message(current_.address, line, true);
  } else {
    out_ << "Invalid command\n";
  }
  out_.flush();
  return true;
}

bool Shell::execute_slash(const std::string& line) {
  const auto words = split_words(line);
  const std::string& cmd = words[0];
  auto needs_current = [&](std::string_view usage) {
    if (!current_.address.empty()) return true;
    err_ << "error: no current group; /join IP:PORT|NAME first (" << usage << ")\n" << std::flush;
    return false;
  };
  if (line.rfind("//", 0) == 0) {
    // "//text" sends "/text".
    if (needs_current("//TEXT then sends /TEXT to it"))
      send_message(current_.address, line.substr(1), true);
  } else if (cmd == "/join") {
    const std::string what = rest_after_words(line, 1);
    if (what.empty())
      err_ << "usage: /join IP:PORT|NAME\n" << std::flush;
    else
      change_current(what, true);
  } else if (cmd == "/leave") {
    const std::string what = rest_after_words(line, 1);
    if (!what.empty())
      change_current(what, false);
    else if (needs_current("or /leave IP:PORT|NAME"))
      change_current(current_.address, false);
  } else if (cmd == "/groups" || cmd == "/list") {
    get_group_list();
  } else if (cmd == "/messages") {
    if (needs_current("or get_messages IP:PORT|NAME [TIME]"))
      get_messages(current_.address, rest_after_words(line, 1));
  } else if (cmd == "/last") {
    if (needs_current("or get_messages IP:PORT|NAME [TIME]"))
      last_messages(current_.address, words);
  } else if (cmd == "/say") {
    const std::string text = rest_after_words(line, 1);
    if (text.empty())
      err_ << "usage: /say TEXT\n" << std::flush;
    else if (needs_current("/say TEXT then sends TEXT to it"))
      send_message(current_.address, text, true);
  } else if (cmd == "/help") {
    help();
  } else if (cmd == "/quit" || cmd == "/exit") {
    return false;
  } else {
    err_ << "error: unknown command '" << visible_text(cmd) << "'; help lists the commands\n"
         << std::flush;
  }
  return true;
}

GroupTarget Shell::target(const std::string& text) {
  GroupTarget t = find_group(transport_, config_.registry, text);
  if (!t.ok()) {
    out_.flush();
    err_ << "error: " << t.error << "\n" << std::flush;
    return t;
  }
  // One group under every spelling of its address: the shell's state
  // (follows, messages sent here, the current group) is keyed by it.
  t.address = canonical_group_address(t.address);
  return t;
}

void Shell::change_current(const std::string& text, bool join) {
  GroupTarget t = target(text);
  if (!t.ok()) return;
  if (!change_membership(t.address, join)) return;
  if (join) {
    current_ = {t.address, visible_text(t.name.empty() ? t.address : t.name)};
    out_.flush();
    err_ << "note: lines that are not commands now go to " << current_.label
         << (t.name.empty() ? "" : " (" + t.address + ")") << "\n"
         << std::flush;
  }
}

std::string Shell::prompt() const {
  return current_.address.empty() ? "> " : current_.label + "> ";
}

const std::vector<ListedGroup>& Shell::cached_groups() {
  const int64_t now = mono_ms();
  if (groups_cached_at_ && now - *groups_cached_at_ < kGroupNamesFreshMs) return groups_cache_;
  groups_cached_at_ = now;
  // A Tab must not hold the prompt for a whole budget when the registry is slow or gone.
  transport_.cap_waits(kGroupNamesWaitMs);
  auto r = list_named_groups(transport_, config_.registry);
  transport_.cap_waits(std::nullopt);
  if (r.ok())
    groups_cache_ = std::move(r.value());
  else
    groups_cache_.clear();  // asked again once the cache is stale, not at every Tab
  return groups_cache_;
}

std::vector<std::string> Shell::complete(std::string_view before, std::string_view word) {
  static const char* const kCommands[] = {
      "join_group", "leave_group", "get_group_list", "get_messages", "send_message", "help",
      "exit",       "/join",       "/leave",         "/groups",      "/list",        "/messages",
      "/last",      "/say",        "/help",          "/quit"};
  static const char* const kTakeAGroup[] = {"join_group",   "leave_group", "get_messages",
                                            "send_message", "/join",       "/leave"};
  auto starts_with = [](std::string_view s, std::string_view prefix) {
    return s.substr(0, prefix.size()) == prefix;
  };
  std::vector<std::string> out;
  const auto words = split_words(std::string(before));
  if (words.empty()) {
    for (const char* c : kCommands)
      if (starts_with(c, word)) out.emplace_back(c);
    return out;
  }
  if (words.size() != 1 || std::none_of(std::begin(kTakeAGroup), std::end(kTakeAGroup),
                                        [&](const char* c) { return words[0] == c; }))
    return out;
  for (const auto& g : cached_groups()) {
    // A name a terminal would act on, or that is no single word, is not
    // offered: such a group is typed by its address.
    if (visible_text(g.name) != g.name || g.name.find_first_of(" \t") != std::string::npos)
      continue;
    if (starts_with(g.name, word)) out.push_back(g.name);
  }
  return out;
}

void Shell::report_failure(CallStatus status, const std::string& error, const char* failed_line) {
  if (status == CallStatus::refused) {
    out_ << failed_line << "\n";
    if (!error.empty()) out_ << "error: " << visible_text(error) << "\n";
  } else {
    out_.flush();
    err_ << "error: " << visible_text(error) << "\n" << std::flush;
  }
}

bool Shell::change_membership(const std::string& address, bool join) {
  GroupClient group(transport_, address, config_.user_uuid, config_.name);
  auto r = join ? group.join() : group.leave();
  if (!r.ok()) {
    report_failure(r.status(), r.error(), "FAILED");
    return false;
  }
  out_ << "SUCCESS\n";
  if (!join && canonical_address(address) == canonical_address(current_.address)) current_ = {};
  if (observer_) observer_(address, join);
  return true;
}

void Shell::get_group_list() {
  // The registry is not a member: it gets a fresh random id for its log,
  // never the identity that acts in open groups.
  RegistryClient registry(transport_, config_.registry, generate_uuid_v4());
  if (transport_.registry_is_curve()) {
    // A curve registry lists each group with its security; curve groups are marked.
    auto r = registry.list_groups();
    if (!r.ok()) return report_failure(r.status(), r.error(), "FAILED");
    for (const auto& g : r.value())
      out_ << visible_text(g.name + " - " + g.address) << (g.curve ? " (curve)" : "") << "\n";
    if (r.value().empty()) say_none(kNoGroups);
    return;
  }
  auto r = registry.get_group_list();
  if (!r.ok()) return report_failure(r.status(), r.error(), "FAILED");
  for (const auto& g : r.value()) out_ << visible_text(g) << "\n";
  if (r.value().empty()) say_none(kNoGroups);
}

void Shell::say_none(const char* what) {
  out_.flush();
  err_ << what << "\n" << std::flush;
}

void Shell::get_messages(const std::string& address, const std::string& since) {
  MessageQuery q;
  if (!since.empty()) {
    auto wire = since_for_wire(since, now_us());
    if (!wire) {
      err_ << "error: " << wire.error() << "\n" << std::flush;
      return;
    }
    wire->apply(q);
  }
  GroupClient group(transport_, address, config_.user_uuid, config_.name);
  // Each page is printed as it arrives.
  size_t printed = 0;
  auto r = group.get_pages(q, [&](FetchedPage& page) {
    printed += page.messages.size();
    for (const auto& m : page.messages) names_.observe(address, m);
    for (const auto& m : page.messages)
      out_ << format_message(m, names_.shared(address, m)) << "\n";
    out_.flush();
    return static_cast<bool>(out_);
  });
  if (!r.ok()) return report_failure(r.status(), r.error(), kNotMember);
  if (printed == 0) say_none(kNoMessages);
}

void Shell::last_messages(const std::string& address, const std::vector<std::string>& words) {
  MessageQuery q;
  q.last = kDefaultLast;
  if (words.size() >= 2) {
    const std::string& n = words[1];
    int value = 0;
    const bool digits = !n.empty() && n.size() <= 7 && std::all_of(n.begin(), n.end(), [](char c) {
      return c >= '0' && c <= '9';
    });
    if (digits) value = std::stoi(n);
    if (!digits || value < 1 || value > static_cast<int>(kMaxGetLimit)) {
      err_ << "error: /last N: N must be a number from 1 to " << kMaxGetLimit << ", not '"
           << visible_text(n) << "'\n"
           << std::flush;
      return;
    }
    q.last = value;
  }
  GroupClient group(transport_, address, config_.user_uuid, config_.name);
  auto r = group.get(q);
  if (!r.ok()) return report_failure(r.status(), r.error(), kNotMember);
  for (const auto& m : r->messages) names_.observe(address, m);
  for (const auto& m : r->messages) out_ << format_message(m, names_.shared(address, m)) << "\n";
  if (r->messages.empty()) say_none(kNoMessages);
}

void Shell::send_message(const std::string& address, const std::string& body, bool quiet) {
  GroupClient group(transport_, address, config_.user_uuid, config_.name);
  auto r = group.send(body);
  if (!r.ok()) return report_failure(r.status(), r.error(), "FAILED");
  if (!quiet) out_ << "SUCCESS\n";
  if (r->seq) {
    auto& seqs = sent_[address];
    seqs.insert(*r->seq);
    // A push that never comes (a reference group, a follow not yet up) leaves
    // its seq here: the oldest go first.
    constexpr size_t kMaxSentRemembered = 256;
    while (seqs.size() > kMaxSentRemembered) seqs.erase(seqs.begin());
  }
}

bool Shell::sent_here(const std::string& address, int64_t seq) {
  auto it = sent_.find(address);
  if (it == sent_.end()) return false;
  return it->second.erase(seq) > 0;
}

void Shell::help() {
  out_ << "Commands:\n"
          "  join_group IP:PORT|NAME           join a group (NAME: as get_group_list names it)\n"
          "  leave_group IP:PORT|NAME          leave a group\n"
          "  get_group_list                    list the live groups (from the message server "
       << config_.registry
       << ")\n"
          "  get_messages IP:PORT|NAME [TIME]  show messages, all or those at or after TIME\n"
          "                                    (HH:MM:SS today, YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD "
          "HH:MM:SS)\n"
          "  send_message IP:PORT|NAME         send a message: type its lines, then a line END\n"
          "  help                              this list\n"
          "  exit                              quit (so does the end of input)\n"
          "With a current group (ours):\n"
          "  /join IP:PORT|NAME                join it; it becomes the current group\n"
          "  TEXT                              a line that is no command: sent to it\n"
          "  //TEXT, /say TEXT                 send /TEXT, or TEXT as it is\n"
          "  /messages [TIME]                  get_messages of the current group\n"
          "  /last [N]                         its newest N messages (10 by default)\n"
          "  /leave [IP:PORT|NAME]             leave the current group (or another)\n"
          "  /groups, /list                    get_group_list\n"
          "  /help, /quit                      help, exit\n"
          "Tab completes commands and group names.\n"
          "You are "
       << visible_text(config_.name.empty() ? config_.user_uuid
                                            : config_.name + " (" + config_.user_uuid + ")")
       << ".\n";
}

}  // namespace gc
