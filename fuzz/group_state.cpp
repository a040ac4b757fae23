// The group server's state machine (Group over a MemoryStore), fed a sequence
// of request bodies. The fuzz input is read line by line:
//   a line            one request body, given to Group::handle_body
//   an empty line     ends the current batch (end_batch) and opens the next
//   @clock N          moves the wall clock by N µs (N may be negative)
// Each batch is begin_batch(), its requests, end_batch(), as the server loop
// does. Checked after every batch: every request got a reply our client can
// read; stored messages are numbered last+1, last+2, ... with no gap or reuse
// and time never going back; a getMessage page is contiguous, ascending and
// within the group's last_seq; stdout lines hold no control character (a newline
// or an escape sequence from a peer would forge what the terminal shows); every
// sender a member sees (a page's messages, a push) is named by its public id,
// never by the identity stored, and a public_id answered is 32 hex digits.
#include <cstdint>
#include <string>
#include <vector>

#include "core/public_id.hpp"
#include "fuzz_check.hpp"
#include "group/group.hpp"
#include "protocol/group_protocol.hpp"
#include "store/memory_store.hpp"

namespace {

using namespace gc;

bool is_public_id(const std::string& s) {
  if (s.size() != kPublicIdChars) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

struct Model {
  uint64_t last_seq = 0;
  int64_t last_time_us = 0;
};

void check_outcome(const GroupOutcome& out, MemoryStore& store, Model& model) {
  FUZZ_CHECK(!out.reply.empty(), "a request without a reply");
  auto reply = decode_group_reply(out.reply);
  FUZZ_CHECK(reply.is_ok(), "our client cannot read the reply %s: %s", out.reply.c_str(),
             reply.error().c_str());
  FUZZ_CHECK(reply->success || !reply->error.empty(), "FAILED without a reason: %s",
             out.reply.c_str());
  for (char c : out.stdout_line)
    FUZZ_CHECK(!fuzz::is_control(c), "a control character (0x%02x) in a stdout line: %s",
               static_cast<unsigned char>(c), out.stdout_line.c_str());

  for (const GroupEvent& ev : out.events) {
    if (ev.kind != GroupEvent::Kind::message_stored) continue;
    FUZZ_CHECK(reply->success, "a message stored with a FAILED reply");
    FUZZ_CHECK(ev.message.seq == model.last_seq + 1, "seq %llu after %llu",
               static_cast<unsigned long long>(ev.message.seq),
               static_cast<unsigned long long>(model.last_seq));
    FUZZ_CHECK(ev.message.time_us >= model.last_time_us, "time went back");
    FUZZ_CHECK(ev.public_id == public_id(store.group_secret(), ev.message.user_uuid),
               "a push would not name its sender by public id");
    std::string pushed;
    encode_push(pushed, ev.message, ev.public_id);
    auto push = decode_push(nlohmann::json::parse(pushed));
    FUZZ_CHECK(push.is_ok() && push->user_uuid == ev.public_id, "a push our client misreads: %s",
               pushed.c_str());
    model.last_seq = ev.message.seq;
    model.last_time_us = ev.message.time_us;
    auto sent = decode_sent_message(reply->body);
    FUZZ_CHECK(sent.is_ok(), "our client cannot read the send reply: %s", out.reply.c_str());
    FUZZ_CHECK(sent->seq && static_cast<uint64_t>(*sent->seq) == ev.message.seq,
               "the reply's seq is not the stored one: %s", out.reply.c_str());
  }
  if (!reply->success) return;
  if (reply->body.contains("public_id"))
    FUZZ_CHECK(decode_public_id(reply->body) && is_public_id(*decode_public_id(reply->body)),
               "a public_id that is not 32 hex digits: %s", out.reply.c_str());

  auto sent = decode_sent_message(reply->body);
  FUZZ_CHECK(sent.is_ok(), "our client cannot read the reply: %s", out.reply.c_str());
  if (auto seq = sent->seq)
    FUZZ_CHECK(*seq >= 1 && static_cast<uint64_t>(*seq) <= store.last_seq(),
               "a send answered with a seq the group does not hold: %s", out.reply.c_str());
  if (reply->body.contains("messages")) {
    auto page = decode_messages(reply->body);
    FUZZ_CHECK(page.is_ok(), "our client cannot read the page: %s", page.error().c_str());
    FUZZ_CHECK(page->messages.size() <= static_cast<size_t>(kMaxGetLimit), "page too long");
    std::optional<int64_t> prev;
    for (const ChatMessage& m : page->messages) {
      FUZZ_CHECK(m.seq && *m.seq >= 1 && static_cast<uint64_t>(*m.seq) <= store.last_seq(),
                 "a page holds a seq the group does not have");
      FUZZ_CHECK(!prev || *m.seq == *prev + 1, "a page with a gap or out of order");
      prev = m.seq;
      MessagePage stored;
      FUZZ_CHECK(store.read_after_seq(static_cast<uint64_t>(*m.seq) - 1, 1, stored) &&
                     stored.messages.size() == 1,
                 "a page's message is not in the store");
      FUZZ_CHECK(m.user_uuid == public_id(store.group_secret(), stored.messages[0].user_uuid),
                 "a page names a sender by something else than its public id: %s",
                 m.user_uuid.c_str());
    }
  }
  auto last = decode_last_seq(reply->body);
  FUZZ_CHECK(last.is_ok(), "our client cannot read last_seq: %s", out.reply.c_str());
  if (*last)
    FUZZ_CHECK(**last >= 0 && static_cast<uint64_t>(**last) <= store.last_seq(),
               "last_seq past the group's last message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MemoryStore store;
  GroupConfig config;
  config.max_message_bytes = 256;  // small, so that the limit is reached too
  Group group(store, config);
  Model model;
  int64_t now_us = 1'700'000'000'000'000;  // 2023-11-14

  std::vector<GroupOutcome> outcomes;
  struct Request {
    std::string_view body;
    int64_t now_us;
  };
  auto run_batch = [&](const std::vector<Request>& requests) {
    if (requests.empty()) return;
    outcomes.resize(requests.size());
    group.begin_batch();
    for (size_t i = 0; i < requests.size(); ++i)
      group.handle_body(requests[i].body, requests[i].now_us, outcomes[i]);
    Status committed = group.end_batch(outcomes);
    FUZZ_CHECK(committed.is_ok(), "a batch on the memory store failed: %s",
               committed.message().c_str());
    for (const GroupOutcome& out : outcomes) check_outcome(out, store, model);
    FUZZ_CHECK(store.last_seq() == model.last_seq,
               "the store holds %llu messages, events said %llu",
               static_cast<unsigned long long>(store.last_seq()),
               static_cast<unsigned long long>(model.last_seq));
  };

  std::vector<Request> batch;
  for (std::string_view line : fuzz::split_lines(fuzz::as_view(data, size))) {
    int64_t n = 0;
    if (line.empty()) {
      run_batch(batch);
      batch.clear();
    } else if (fuzz::control(line, "clock", &n)) {
      now_us += n;
    } else {
      batch.push_back({line, now_us});
      now_us += 1000;
    }
  }
  run_batch(batch);
  return 0;
}
