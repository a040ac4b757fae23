// The registry's state machine (Registry), fed a sequence of requests, clock
// ticks and endpoint watch events. The fuzz input is read line by line:
//   a line            one request body, given to Registry::handle
//   @tick N           moves the monotonic clock on by N ms (N >= 0) and ticks
//   @up ADDR          the watched endpoint ADDR connected
//   @down ADDR        the watched endpoint ADDR disconnected
// Checked after every step: every request got a reply its sender can read;
// the endpoint watches it asks for are consistent (never started twice, never
// stopped unless started, only for live groups); a group list answers what
// group_list() holds; after a tick nothing is left whose deadline has passed;
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

void check_state(const Registry& registry, const Model& model) {
  auto list = registry.group_list();
  FUZZ_CHECK(list.size() == registry.size(), "group_list and size disagree");
  FUZZ_CHECK(model.watched.size() <= registry.size(), "%zu watches for %zu groups",
             model.watched.size(), registry.size());
  for (const std::string& address : model.watched) {
    bool live = false;
    for (const std::string& entry : list)
      if (entry.size() >= address.size() + 3 &&
          entry.compare(entry.size() - address.size() - 3, std::string::npos, " - " + address) == 0)
        live = true;
    FUZZ_CHECK(live, "a watch left on %s, which is not a live group", address.c_str());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Registry registry;
  Model model;
  int64_t now_ms = 1'000'000;
  // The sender's address; a "from ADDRESS" line changes it.
  std::string peer = "127.0.0.1";

  for (std::string_view line : fuzz::split_lines(fuzz::as_view(data, size))) {
    int64_t n = 0;
    if (fuzz::control(line, "tick", &n)) {
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
      RegistryOutput out = registry.handle(line, now_ms, peer);
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
    check_state(registry, model);
    now_ms += 1;
  }
  return 0;
}
