#include "client/shell.hpp"

#include <fmt/format.h>

#include <sstream>
#include <vector>

#include "client/commands.hpp"
#include "client/display.hpp"
#include "client/user_files.hpp"
#include "core/clock.hpp"
#include "core/endpoint.hpp"
#include "core/visible_text.hpp"

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
    if (config_.prompt && !collecting_message()) out_ << "> " << std::flush;
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
    send_message(p.address, p.body);
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
  auto words = split_words(line);
  if (words.empty()) return true;  // a blank line is not worth an error
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
    if (needs_address("join_group IP:PORT")) change_membership(words[1], true);
  } else if (cmd == "leave_group") {
    if (needs_address("leave_group IP:PORT")) change_membership(words[1], false);
  } else if (cmd == "get_messages") {
    if (needs_address("get_messages IP:PORT [TIME]"))
      get_messages(words[1], rest_after_words(line, 2));
  } else if (cmd == "send_message") {
    if (needs_address("send_message IP:PORT, then the message's lines, then a line END")) {
      pending_send_ = PendingSend{words[1], {}, true};
      if (config_.prompt) out_ << "(type the message; end it with a line END)\n";
    }
  } else {
    out_ << "Invalid command\n";
  }
  out_.flush();
  return true;
}

bool Shell::checked_address(const std::string& text, std::string& address) {
  auto ep = parse_connect_endpoint(text);
  if (!ep) {
    err_ << "error: " << ep.error() << "\n" << std::flush;
    return false;
  }
  // One group under every spelling of its address: the shell's state
  // (follows, messages sent here, names) is keyed by it.
  address = canonical_group_address(ep->ip_port());
  return true;
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

void Shell::change_membership(const std::string& text, bool join) {
  std::string address;
  if (!checked_address(text, address)) return;
  GroupClient group(transport_, address, config_.user_uuid, config_.name);
  auto r = join ? group.join() : group.leave();
  if (!r.ok()) return report_failure(r.status(), r.error(), "FAILED");
  out_ << "SUCCESS\n";
  if (observer_) observer_(address, join);
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

void Shell::get_messages(const std::string& text, const std::string& since) {
  std::string address;
  if (!checked_address(text, address)) return;
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

void Shell::send_message(const std::string& text, const std::string& body) {
  std::string address;
  if (!checked_address(text, address)) return;
  GroupClient group(transport_, address, config_.user_uuid, config_.name);
  auto r = group.send(body);
  if (!r.ok()) return report_failure(r.status(), r.error(), "FAILED");
  out_ << "SUCCESS\n";
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
          "  join_group IP:PORT          join a group\n"
          "  leave_group IP:PORT         leave a group\n"
          "  get_group_list              list the live groups (from the message server "
       << config_.registry
       << ")\n"
          "  get_messages IP:PORT [TIME] show messages, all or those at or after TIME\n"
          "                              (HH:MM:SS today, YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD "
          "HH:MM:SS)\n"
          "  send_message IP:PORT        send a message: type its lines, then a line END\n"
          "  help                        this list\n"
          "  exit                        quit (so does the end of input)\n"
          "You are "
       << visible_text(config_.name.empty() ? config_.user_uuid
                                            : config_.name + " (" + config_.user_uuid + ")")
       << ".\n";
}

}  // namespace gc
