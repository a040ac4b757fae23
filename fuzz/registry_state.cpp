// The registry's state machine (Registry), fed a sequence of requests, clock
// ticks and endpoint watch events. The fuzz input is read line by line:
//   a line            one request body, given to Registry::handle
//   @tick N           moves the monotonic clock on by N ms (N >= 0) and ticks
//   @up ADDR          the watched endpoint ADDR connected
//   @down ADDR        the watched endpoint ADDR disconnected
//   @curve            (first line only) the registry runs in curve mode
//   @key TEXT         later requests come with this key (TEXT padded to 40 characters)
//   @release NAME     the operator frees NAME's binding (the files re-read)
//   @allow TEXT NAME  the groups file now lists only this key (padded) with NAME
// Checked after every step: every request got a reply its sender can read;
// the endpoint watches it asks for are consistent (never started twice, never
// stopped unless started, only for entries: live groups, or dropped watched
// groups still rewatched, at most max_rewatched of those and max_groups in
// all); a group list answers what group_list() holds; after a tick nothing is
// left whose deadline has passed;
// in curve mode every listed group's name is bound to its key, and a curve
// group is listed with the key its name is bound to;
// stdout lines hold no control character (a newline or an escape sequence
// from a peer would forge what the terminal shows).
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>

#include "fuzz_check.hpp"
#include "protocol/registry_protocol.hpp"
#include "registry/registry.hpp"

namespace {

using namespace gc;

struct Model {
  std::set<std::string> watched;  // endpoints the server loop would be watching now
};

void apply(const RegistryOutput& out, Model& model) {
  for (const std::string& line : out.stdout_lines)
    for (char c : line)
      FUZZ_CHECK(!fuzz::is_control(c), "a control character (0x%02x) in a stdout line: %s",
                 static_cast<unsigned char>(c), line.c_str());
  for (const WatchCommand& w : out.watch) {
    if (w.change == WatchChange::start) {
      FUZZ_CHECK(model.watched.insert(w.address).second, "watch started twice: %s",
                 w.address.c_str());
    } else {
      FUZZ_CHECK(model.watched.erase(w.address) == 1, "watch stopped but not started: %s",
                 w.address.c_str());
    }
  }
}

void check_state(const Registry& registry, const RegistryConfig& config, const Model& model,
                 bool curve) {
  auto list = registry.group_list();
  auto addresses = registry.addresses();
  FUZZ_CHECK(addresses.size() == registry.size() + registry.rewatched(),
             "addresses and size disagree");
  FUZZ_CHECK(addresses.size() <= config.max_groups, "%zu entries, over max_groups",
             addresses.size());
  FUZZ_CHECK(registry.rewatched() <= config.max_rewatched, "%zu rewatched, over the cap",
             registry.rewatched());
  // Only a curve group that has not proven its key is live and not listed.
  FUZZ_CHECK(curve ? list.size() <= registry.size() : list.size() == registry.size(),
             "group_list and size disagree");
  FUZZ_CHECK(model.watched.size() <= addresses.size(), "%zu watches for %zu entries",
             model.watched.size(), addresses.size());
  for (const std::string& address : model.watched)
    FUZZ_CHECK(std::find(addresses.begin(), addresses.end(), address) != addresses.end(),
               "a watch left on %s, which is no entry", address.c_str());
  if (!curve) return;
  const NameBindings& bound = registry.bindings();
  for (const GroupEntry& g : registry.group_entries()) {
    auto it = bound.find(g.name);
    FUZZ_CHECK(it != bound.end(), "listed group '%s' has no bound key", g.name.c_str());
    FUZZ_CHECK(!g.curve || it->second == g.public_key,
               "curve group '%s' listed with a key "
               "that is not its name's",
               g.name.c_str());
  }
}

std::string padded_key(std::string_view text) {
  std::string key(text.substr(0, 40));
  key.resize(40, 'k');
  return key;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto lines = fuzz::split_lines(fuzz::as_view(data, size));
  const bool curve = !lines.empty() && fuzz::control(lines.front(), "curve");
  RegistryConfig config;
  config.curve = curve;
  // Small caps, so that inputs reach them.
  config.max_groups = 8;
  config.max_rewatched = 3;
  Registry registry(config);
  Model model;
  int64_t now_ms = 1'000'000;
  // The sender's address; a "from ADDRESS" line changes it.
  std::string peer = "127.0.0.1";
  std::string key = padded_key("first");

  for (std::string_view line : lines) {
    int64_t n = 0;
    if (fuzz::control(line, "curve")) {
      // Read above.
    } else if (fuzz::control(line, "key")) {
      key = padded_key(line.substr(std::min<size_t>(line.size(), 5)));
    } else if (fuzz::control(line, "release")) {
      NameBindings bindings = registry.bindings();
      bindings.erase(std::string(line.substr(std::min<size_t>(line.size(), 9))));
      apply(registry.set_bindings(std::move(bindings)), model);
    } else if (fuzz::control(line, "allow")) {
      std::string_view rest = line.substr(std::min<size_t>(line.size(), 7));
      const size_t space = std::min(rest.find(' '), rest.size());
      const std::string name(rest.substr(std::min(space + 1, rest.size())));
      apply(registry.set_allowed(AllowedNames{{padded_key(rest.substr(0, space)), name}}), model);
    } else if (fuzz::control(line, "tick", &n)) {
      now_ms += n < 0 ? -n : n;
      apply(registry.tick(now_ms), model);
      auto next = registry.next_deadline();
      FUZZ_CHECK(!next || *next > now_ms, "a deadline passed and the group is still there");
    } else if (fuzz::control(line, "up") || fuzz::control(line, "down")) {
      bool up = fuzz::control(line, "up");
      std::string_view address = line.substr(std::min<size_t>(line.size(), up ? 4 : 6));
      apply(registry.on_watch_event(address, up ? WatchEvent::connected : WatchEvent::disconnected,
                                    now_ms),
            model);
    } else if (line.starts_with("from ")) {
      peer = std::string(line.substr(5));
    } else {
      RegistryOutput out = registry.handle(line, now_ms, peer, curve ? key : std::string());
      FUZZ_CHECK(!out.reply.empty(), "a request without a reply");
      apply(out, model);
      // Whatever it was, the reply must be readable by the kind of peer that sent it.
      RegisterReply as_register = decode_register_reply(out.reply);
      FUZZ_CHECK(as_register.accepted || !as_register.error.empty(), "unreadable reply %s",
                 out.reply.c_str());
      auto request = decode_registry_request(line);
      if (request && request->action == RegistryAction::get_group_list) {
        GroupListReply list = decode_group_list(out.reply);
        FUZZ_CHECK(list.kind == GroupListReply::Kind::list, "group list unreadable: %s",
                   out.reply.c_str());
        FUZZ_CHECK(list.groups == registry.group_list(), "group list differs: %s",
                   out.reply.c_str());
      }
    }
    check_state(registry, config, model, curve);
    now_ms += 1;
  }
  return 0;
}
