// The client's side of live delivery (FollowState), fed frames from a hostile
// group server: replies and pushes, with clock ticks and reconnections. The
// fuzz input is read line by line:
//   @since N          (first line only) follow from seq N; without it, from now on
//   a line            one frame, given to FollowState::on_frame
//   @tick N           moves the clock on by N ms and calls on_tick
//   @start            a fresh connection: start()
// Checked: every request it asks to send is one our group server decodes, for
// the right user, a follow or a getMessage; messages are shown at most once and
// in ascending seq order, and last_seq() is the last one shown.
#include "client/follow_state.hpp"

#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_check.hpp"
#include "protocol/group_protocol.hpp"

namespace {

using namespace gc;

constexpr const char* kUser = "fuzz-user";

struct Model {
  std::optional<int64_t> last_shown;
};

void check(const FollowOutput& out, const FollowState& state, Model& model) {
  GroupRequest req;
  for (const std::string& body : out.requests) {
    Status s = decode_group_request(body, req);
    FUZZ_CHECK(s.is_ok(), "a request our own server refuses: %s (%s)", body.c_str(),
               s.message().c_str());
    FUZZ_CHECK(req.user_uuid == kUser, "a request for someone else: %s", body.c_str());
    FUZZ_CHECK(req.action == "follow" || req.action == "getMessage", "unexpected request %s",
               body.c_str());
  }
  for (const ChatMessage& m : out.to_show) {
    FUZZ_CHECK(m.seq.has_value(), "a message shown without a seq");
    FUZZ_CHECK(!model.last_shown || *m.seq > *model.last_shown,
               "seq %lld shown after %lld: twice or out of order", static_cast<long long>(*m.seq),
               static_cast<long long>(*model.last_shown));
    model.last_shown = m.seq;
  }
  if (!out.to_show.empty())
    FUZZ_CHECK(state.last_seq() == *model.last_shown, "last_seq() is not the last shown");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto lines = fuzz::split_lines(fuzz::as_view(data, size));
  std::optional<int64_t> since;
  int64_t n = 0;
  if (!lines.empty() && fuzz::control(lines.front(), "since", &n)) since = n < 0 ? -n : n;

  FollowState state(kUser, since);
  Model model;
  FollowOutput out;
  int64_t now_ms = 0;
  state.start(now_ms, out);
  FUZZ_CHECK(out.requests.size() == 1, "start() sends one follow");
  check(out, state, model);

  for (std::string_view line : lines) {
    out.clear();
    if (fuzz::control(line, "since")) continue;
    if (fuzz::control(line, "tick", &n)) {
      now_ms += n < 0 ? -n : n;
      state.on_tick(now_ms, out);
    } else if (fuzz::control(line, "start")) {
      state.start(now_ms, out);
    } else {
      state.on_frame(line, now_ms, out);
    }
    check(out, state, model);
    FUZZ_CHECK(state.next_deadline_ms() >= 0, "a deadline before the clock began");
  }
  return 0;
}
