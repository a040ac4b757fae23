// The registry state machine without sockets: requests, refusals, liveness by time and by watch
// events.
#include "registry/registry.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "protocol/limits.hpp"
#include "protocol/registry_protocol.hpp"

using gc::Registry;
using gc::RegistryConfig;
using gc::WatchChange;
using gc::WatchCommand;
using gc::WatchEvent;
using nlohmann::json;

namespace {

// Requests come from this host unless a test says otherwise.
constexpr const char* kPeer = "127.0.0.1";

RegistryConfig test_config() {
  RegistryConfig c;
  c.heartbeat_ms = 1000;
  c.expiry_ms = 3500;
  c.watch_connect_ms = 5000;
  c.watch_reconnect_ms = 1000;
  return c;
}

std::string reg(const std::string& name, const std::string& addr, bool heartbeat = false) {
  json j = {{"action", "register"}, {"group_name", name}, {"ip_port", addr}};
  if (heartbeat) j["heartbeat"] = true;
  return j.dump();
}
std::string hb(const std::string& name, const std::string& addr) {
  return json{{"action", "heartbeat"}, {"group_name", name}, {"ip_port", addr}}.dump();
}
std::string unreg(const std::string& name, const std::string& addr) {
  return json{{"action", "unregister"}, {"group_name", name}, {"ip_port", addr}}.dump();
}
std::string list_req(const std::string& uuid = "u-1") {
  return json{{"action", "get_group_list"}, {"user_uuid", uuid}}.dump();
}

// The error text of a FAILED reply; fails the test if the reply is anything else.
std::string error_of(const gc::RegistryOutput& out) {
  json j = json::parse(out.reply);
  EXPECT_EQ(j.at("response"), "FAILED") << out.reply;
  EXPECT_TRUE(j.at("error").is_string()) << out.reply;
  EXPECT_TRUE(out.stdout_lines.empty());
  return j.value("error", "");
}

std::vector<std::string> listed(Registry& r, int64_t now) {
  return json::parse(r.handle(list_req(), now, kPeer).reply).get<std::vector<std::string>>();
}

}  // namespace

TEST(Registry, ReferenceRegisterRepliesBareSuccessPrintsTwoLinesAndStartsWatch) {
  Registry r(test_config());
  auto out = r.handle(reg("chat", "127.0.0.1:5560"), 0, kPeer);
  EXPECT_EQ(out.reply, "SUCCESS");
  EXPECT_EQ(out.stdout_lines,
            (std::vector<std::string>{"JOIN REQUEST FROM 127.0.0.1:5560", "SUCCESS"}));
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::start, "127.0.0.1:5560", ""}}));
  EXPECT_EQ(r.size(), 1u);
}

TEST(Registry, HeartbeatRegisterRepliesJsonWithIntervalsAndStartsNoWatch) {
  Registry r(test_config());
  auto out = r.handle(reg("chat", "127.0.0.1:5560", true), 0, kPeer);
  json j = json::parse(out.reply);
  EXPECT_EQ(j["response"], "SUCCESS");
  EXPECT_EQ(j["heartbeat_ms"], 1000);
  EXPECT_EQ(j["expiry_ms"], 3500);
  EXPECT_EQ(out.stdout_lines.size(), 2u);
  EXPECT_TRUE(out.watch.empty());
}

TEST(Registry, HeartbeatFalseIsTheReferenceKind) {
  Registry r(test_config());
  json j = {{"action", "register"},
            {"group_name", "a"},
            {"ip_port", "127.0.0.1:1"},
            {"heartbeat", false}};
  EXPECT_EQ(r.handle(j.dump(), 0, kPeer).reply, "SUCCESS");
}

TEST(Registry, GroupListIsInRegistrationOrderAndPrintsTheUuid) {
  Registry r(test_config());
  r.handle(reg("b", "127.0.0.1:2"), 0, kPeer);
  r.handle(reg("a", "127.0.0.1:1", true), 0, kPeer);
  auto out = r.handle(list_req("user-42"), 0, kPeer);
  EXPECT_EQ(out.stdout_lines, (std::vector<std::string>{"GROUP LIST REQUEST FROM user-42"}));
  EXPECT_EQ(json::parse(out.reply), json::parse(R"(["b - 127.0.0.1:2", "a - 127.0.0.1:1"])"));
}

TEST(Registry, EmptyGroupListIsAnEmptyArray) {
  Registry r(test_config());
  EXPECT_EQ(r.handle(list_req(), 0, kPeer).reply, "[]");
}

TEST(Registry, AnotherNameAtALiveAddressIsRefused) {
  Registry r(test_config());
  r.handle(reg("old", "127.0.0.1:1"), 0, kPeer);
  r.handle(reg("hb", "127.0.0.1:3", true), 0, kPeer);
  for (const char* addr : {"127.0.0.1:1", "127.0.0.1:3"}) {
    auto out = r.handle(reg("new", addr, true), 10, kPeer);
    EXPECT_NE(error_of(out).find(std::string("address ") + addr + " is already registered by live"),
              std::string::npos);
    EXPECT_TRUE(out.watch.empty());
  }
  // Connected, the watched one is all the more alive.
  r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 20);
  error_of(r.handle(reg("new", "127.0.0.1:1"), 30, kPeer));
  EXPECT_EQ(listed(r, 30), (std::vector<std::string>{"old - 127.0.0.1:1", "hb - 127.0.0.1:3"}));
}

TEST(Registry, AWatchedAddressWhoseConnectionWasLostIsTakenOverInPlace) {
  Registry r(test_config());
  r.handle(reg("old", "127.0.0.1:1"), 0, kPeer);
  r.handle(reg("other", "127.0.0.1:2"), 0, kPeer);
  r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 5);
  r.on_watch_event("127.0.0.1:1", WatchEvent::disconnected, 8);  // the old process is gone
  auto out = r.handle(reg("new", "127.0.0.1:1"), 10, "127.0.0.1");
  EXPECT_EQ(out.reply, "SUCCESS");
  // The old holder's watch is restarted for the new process.
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1", ""},
                                                  {WatchChange::start, "127.0.0.1:1", ""}}));
  EXPECT_EQ(listed(r, 10), (std::vector<std::string>{"new - 127.0.0.1:1", "other - 127.0.0.1:2"}));
  EXPECT_EQ(r.next_deadline(), 5000);  // a fresh connect window
}

TEST(Registry, NameHeldAtAnotherAddressIsRefused) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1"), 0, kPeer);
  auto out = r.handle(reg("chat", "127.0.0.1:2", true), 0, kPeer);
  EXPECT_NE(error_of(out).find("group name 'chat' is already served at 127.0.0.1:1"),
            std::string::npos);
  EXPECT_TRUE(out.watch.empty());
  EXPECT_EQ(r.size(), 1u);
}

TEST(Registry, NameFreedByExpiryCanBeTakenElsewhere) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1", true), 0, kPeer);
  r.tick(3500);
  EXPECT_EQ(r.handle(reg("chat", "127.0.0.1:2", true), 3500, kPeer).stdout_lines.size(), 2u);
  EXPECT_EQ(listed(r, 3500), (std::vector<std::string>{"chat - 127.0.0.1:2"}));
}

TEST(Registry, HeartbeatKeepsAGroupAliveAndExpiryDropsItAfterSilence) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1", true), 0, kPeer);
  EXPECT_EQ(r.next_deadline(), 3500);
  auto out = r.handle(hb("chat", "127.0.0.1:1"), 3000, kPeer);
  EXPECT_EQ(json::parse(out.reply), json::parse(R"({"response":"SUCCESS"})"));
  EXPECT_TRUE(out.stdout_lines.empty());
  EXPECT_EQ(r.next_deadline(), 6500);
  r.tick(6499);
  EXPECT_EQ(r.size(), 1u);
  auto expired = r.tick(6500);
  EXPECT_EQ(r.size(), 0u);
  EXPECT_TRUE(expired.watch.empty());
  EXPECT_FALSE(expired.notes.empty());
  EXPECT_EQ(r.next_deadline(), std::nullopt);
}

TEST(Registry, HeartbeatFromUnknownGroupAsksToRegisterAgain) {
  Registry r(test_config());
  auto out = r.handle(hb("chat", "127.0.0.1:1"), 0, kPeer);
  json j = json::parse(out.reply);
  EXPECT_EQ(j["response"], "FAILED");
  EXPECT_EQ(j["reregister"], true);
  EXPECT_TRUE(j["error"].get<std::string>().starts_with("not registered"));
}

TEST(Registry, HeartbeatWithAnotherNameForTheAddressAsksToRegisterAgain) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1", true), 0, kPeer);
  EXPECT_EQ(json::parse(r.handle(hb("other", "127.0.0.1:1"), 0, kPeer).reply)["reregister"], true);
}

TEST(Registry, AHeartbeatNeverChangesAWatchedGroupsLiveness) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1"), 0, kPeer);
  auto out = r.handle(hb("chat", "127.0.0.1:1"), 100, kPeer);
  EXPECT_EQ(json::parse(out.reply), json::parse(R"({"response":"SUCCESS"})"));
  EXPECT_TRUE(out.watch.empty());
  EXPECT_EQ(r.next_deadline(), 5000);  // still the connect window
  r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 200);
  r.handle(hb("chat", "127.0.0.1:1"), 300, kPeer);
  EXPECT_EQ(r.next_deadline(), std::nullopt);  // no expiry: its connection keeps it
  r.tick(1'000'000);
  EXPECT_EQ(r.size(), 1u);
}

TEST(Registry, UnregisterRemovesAtOncePrintsLeaveAndIsIdempotent) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1"), 0, kPeer);
  auto out = r.handle(unreg("chat", "127.0.0.1:1"), 5, kPeer);
  EXPECT_EQ(json::parse(out.reply)["response"], "SUCCESS");
  EXPECT_EQ(out.stdout_lines, (std::vector<std::string>{"LEAVE REQUEST FROM 127.0.0.1:1"}));
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1", ""}}));
  EXPECT_EQ(r.size(), 0u);
  auto again = r.handle(unreg("chat", "127.0.0.1:1"), 6, kPeer);
  EXPECT_EQ(json::parse(again.reply)["response"], "SUCCESS");
  EXPECT_TRUE(again.watch.empty());
}

TEST(Registry, UnregisterByAStaleNameLeavesTheNewHolder) {
  Registry r(test_config());
  r.handle(reg("new", "127.0.0.1:1", true), 0, kPeer);
  r.handle(unreg("old", "127.0.0.1:1"), 1, kPeer);
  EXPECT_EQ(r.size(), 1u);
}

TEST(Registry, WatchedGroupThatNeverConnectsIsDroppedAfterTheConnectWindow) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1"), 0, kPeer);
  EXPECT_EQ(r.next_deadline(), 5000);
  EXPECT_EQ(r.tick(4999).watch.size(), 0u);
  auto out = r.tick(5000);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1", ""}}));
  EXPECT_EQ(listed(r, 5000), std::vector<std::string>{});
}

TEST(Registry, ConnectedWatchedGroupStaysWithoutDeadline) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1"), 0, kPeer);
  r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 200);
  EXPECT_EQ(r.next_deadline(), std::nullopt);
  r.tick(1'000'000);
  EXPECT_EQ(r.size(), 1u);
}

TEST(Registry, LostWatchedGroupIsDroppedUnlessItReconnectsInTime) {
  Registry r(test_config());
  r.handle(reg("a", "127.0.0.1:1"), 0, kPeer);
  r.handle(reg("b", "127.0.0.1:2"), 0, kPeer);
  r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 100);
  r.on_watch_event("127.0.0.1:2", WatchEvent::connected, 100);
  r.on_watch_event("127.0.0.1:1", WatchEvent::disconnected, 10'000);
  r.on_watch_event("127.0.0.1:2", WatchEvent::disconnected, 10'000);
  r.on_watch_event("127.0.0.1:2", WatchEvent::connected, 10'200);  // came back
  EXPECT_EQ(r.next_deadline(), 11'000);
  auto out = r.tick(11'000);
  EXPECT_TRUE(out.watch.empty());  // dropped from the list, still watched for its return
  EXPECT_EQ(listed(r, 11'000), (std::vector<std::string>{"b - 127.0.0.1:2"}));
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.rewatched(), 1u);
}

// --- a dropped watched group (paused, or its host away) is watched for its return ---

namespace {
// Registers NAME at ADDR (watched), connects it at t=100 and loses it at LOST_AT.
void connect_and_lose(Registry& r, const std::string& name, const std::string& addr,
                      int64_t lost_at, const char* peer = kPeer) {
  r.handle(reg(name, addr), 0, peer);
  r.on_watch_event(addr, WatchEvent::connected, 100);
  r.on_watch_event(addr, WatchEvent::disconnected, lost_at);
}
}  // namespace

TEST(Registry, ADroppedWatchedGroupIsListedAgainInItsPlaceWhenItAnswers) {
  Registry r(test_config());
  connect_and_lose(r, "paused", "127.0.0.1:1", 10'000);
  r.handle(reg("other", "127.0.0.1:2"), 0, kPeer);
  r.on_watch_event("127.0.0.1:2", WatchEvent::connected, 100);
  r.tick(11'000);
  EXPECT_EQ(listed(r, 11'000), (std::vector<std::string>{"other - 127.0.0.1:2"}));
  EXPECT_EQ(r.next_deadline(), 11'000 + gc::kDefaultRewatchMs);
  // A disconnect while it is away changes nothing; its endpoint answering lists it again.
  EXPECT_TRUE(r.on_watch_event("127.0.0.1:1", WatchEvent::disconnected, 30'000).watch.empty());
  auto out = r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 60'000);
  EXPECT_TRUE(out.watch.empty());
  ASSERT_EQ(out.notes.size(), 1u);
  EXPECT_EQ(out.notes[0], "'paused' at 127.0.0.1:1 answers again: listed again");
  EXPECT_EQ(listed(r, 60'000),
            (std::vector<std::string>{"paused - 127.0.0.1:1", "other - 127.0.0.1:2"}));
  EXPECT_EQ(r.next_deadline(), std::nullopt);
  EXPECT_EQ(r.rewatched(), 0u);
  // Lost again later: the same cycle.
  r.on_watch_event("127.0.0.1:1", WatchEvent::disconnected, 70'000);
  r.tick(71'000);
  EXPECT_EQ(r.rewatched(), 1u);
}

TEST(Registry, ARewatchedGroupIsForgottenAfterRewatchMs) {
  RegistryConfig c = test_config();
  c.rewatch_ms = 60'000;
  Registry r(c);
  connect_and_lose(r, "gone", "127.0.0.1:1", 10'000);
  r.tick(11'000);
  EXPECT_EQ(r.next_deadline(), 71'000);
  EXPECT_TRUE(r.tick(70'999).watch.empty());
  auto out = r.tick(71'000);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1", ""}}));
  EXPECT_EQ(r.rewatched(), 0u);
  EXPECT_EQ(r.next_deadline(), std::nullopt);
  // Its endpoint answering now is a late event for a watch already stopped.
  EXPECT_TRUE(r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 72'000).notes.empty());
  EXPECT_EQ(listed(r, 72'000), std::vector<std::string>{});
}

TEST(Registry, RewatchMsZeroForgetsADroppedGroupAtOnce) {
  RegistryConfig c = test_config();
  c.rewatch_ms = 0;
  Registry r(c);
  connect_and_lose(r, "gone", "127.0.0.1:1", 10'000);
  auto out = r.tick(11'000);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1", ""}}));
  EXPECT_EQ(r.rewatched(), 0u);
}

TEST(Registry, AGroupThatNeverConnectedIsNotRewatched) {
  Registry r(test_config());
  r.handle(reg("ghost", "127.0.0.1:1"), 0, kPeer);
  auto out = r.tick(5000);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1", ""}}));
  EXPECT_EQ(r.rewatched(), 0u);
}

TEST(Registry, ARewatchedGroupHoldsNeitherItsNameNorItsAddress) {
  Registry r(test_config());
  connect_and_lose(r, "a", "127.0.0.1:1", 10'000);
  connect_and_lose(r, "b", "127.0.0.1:2", 10'000);
  r.tick(11'000);
  // Its name, registered elsewhere: accepted, and the dropped entry is forgotten.
  auto out = r.handle(reg("a", "127.0.0.1:3"), 12'000, kPeer);
  EXPECT_EQ(out.reply, "SUCCESS");
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1", ""},
                                                  {WatchChange::start, "127.0.0.1:3", ""}}));
  // Its address, under another name and from another address of the host: taken over in place.
  out = r.handle(reg("c", "127.0.0.1:2"), 12'000, "127.0.0.2");
  EXPECT_EQ(out.reply, "SUCCESS");
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:2", ""},
                                                  {WatchChange::start, "127.0.0.1:2", ""}}));
  EXPECT_EQ(listed(r, 12'000), (std::vector<std::string>{"c - 127.0.0.1:2", "a - 127.0.0.1:3"}));
  EXPECT_EQ(r.rewatched(), 0u);
}

TEST(Registry, ARewatchedGroupRegisteringAgainIsListedAtOnce) {
  Registry r(test_config());
  connect_and_lose(r, "a", "127.0.0.1:1", 10'000);
  r.tick(11'000);
  // A heartbeat does not revive it: it is asked to register again, and is listed when it does.
  EXPECT_EQ(json::parse(r.handle(hb("a", "127.0.0.1:1"), 12'000, kPeer).reply)["reregister"], true);
  EXPECT_EQ(listed(r, 12'000), std::vector<std::string>{});
  EXPECT_EQ(r.handle(reg("a", "127.0.0.1:1"), 12'000, kPeer).reply, "SUCCESS");
  EXPECT_EQ(listed(r, 12'000), std::vector<std::string>{"a - 127.0.0.1:1"});
  EXPECT_EQ(r.next_deadline(), 12'000 + 5000);  // a fresh registration: it must connect
  // Unregistering a rewatched group forgets it.
  connect_and_lose(r, "b", "127.0.0.1:2", 20'000);
  r.tick(21'000);
  EXPECT_EQ(r.rewatched(), 1u);
  auto out = r.handle(unreg("b", "127.0.0.1:2"), 22'000, kPeer);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:2", ""}}));
  EXPECT_EQ(r.rewatched(), 0u);
}

TEST(RegistryHostile, RewatchedGroupsAreBoundedAndYieldTheirSlots) {
  RegistryConfig c = test_config();
  c.max_rewatched = 2;
  c.max_groups = 3;
  c.max_groups_per_source = 2;
  Registry r(c);
  connect_and_lose(r, "a", "127.0.0.1:1", 10'000);
  r.tick(11'000);
  connect_and_lose(r, "b", "127.0.0.1:2", 12'000);
  r.tick(13'000);
  // Neither counts for the cap per source: two more register from the same address.
  EXPECT_EQ(r.handle(reg("c", "127.0.0.1:3"), 14'000, kPeer).reply, "SUCCESS");
  r.on_watch_event("127.0.0.1:3", WatchEvent::connected, 14'100);
  // The registry is full (3 entries): a new group takes the oldest rewatched slot.
  auto out = r.handle(reg("d", "127.0.0.1:4"), 15'000, kPeer);
  EXPECT_EQ(out.reply, "SUCCESS");
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1", ""},
                                                  {WatchChange::start, "127.0.0.1:4", ""}}));
  EXPECT_EQ(r.rewatched(), 1u);
  // Past the cap per source, live groups still count.
  EXPECT_NE(error_of(r.handle(reg("e", "127.0.0.1:5"), 15'000, kPeer))
                .find("the limit per address (--max-groups-per-source)"),
            std::string::npos);
  // More dropped than max_rewatched: the one watched longest is forgotten.
  r.on_watch_event("127.0.0.1:4", WatchEvent::connected, 15'100);
  r.on_watch_event("127.0.0.1:3", WatchEvent::disconnected, 16'000);
  r.on_watch_event("127.0.0.1:4", WatchEvent::disconnected, 16'000);
  out = r.tick(17'000);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:2", ""}}));
  EXPECT_EQ(r.rewatched(), 2u);
  EXPECT_EQ(r.size(), 0u);
}

TEST(Registry, DisconnectBeforeFirstConnectKeepsTheConnectWindow) {
  Registry r(test_config());
  r.handle(reg("a", "127.0.0.1:1"), 0, kPeer);
  r.on_watch_event("127.0.0.1:1", WatchEvent::disconnected, 50);
  EXPECT_EQ(r.next_deadline(), 5000);
}

TEST(Registry, WatchEventsForUnknownOrHeartbeatingGroupsAreIgnored) {
  Registry r(test_config());
  r.handle(reg("hb", "127.0.0.1:1", true), 0, kPeer);
  EXPECT_TRUE(r.on_watch_event("127.0.0.1:9", WatchEvent::connected, 1).watch.empty());
  r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 1);
  EXPECT_EQ(r.next_deadline(), 3500);  // still expires by heartbeat
}

TEST(Registry, ARegisterWithHeartbeatKeepsAWatchedGroupWatched) {
  Registry r(test_config());
  r.handle(reg("a", "127.0.0.1:1"), 0, kPeer);
  r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 5);
  auto out = r.handle(reg("a", "127.0.0.1:1", true), 10, kPeer);
  EXPECT_EQ(json::parse(out.reply)["response"], "SUCCESS");
  EXPECT_TRUE(out.watch.empty());  // the connected watch goes on
  EXPECT_EQ(r.next_deadline(), std::nullopt);
  // Not connected yet: the same, with a fresh connection for the new process.
  r.handle(reg("b", "127.0.0.1:2"), 0, kPeer);
  out = r.handle(reg("b", "127.0.0.1:2", true), 10, kPeer);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:2", ""},
                                                  {WatchChange::start, "127.0.0.1:2", ""}}));
  EXPECT_EQ(r.next_deadline(), 5010);
}

TEST(Registry, AHeartbeatingGroupRegisteredAgainWithoutHeartbeatIsWatched) {
  Registry r(test_config());
  r.handle(reg("a", "127.0.0.1:1", true), 0, kPeer);
  auto out = r.handle(reg("a", "127.0.0.1:1"), 10, kPeer);
  EXPECT_EQ(out.reply, "SUCCESS");
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::start, "127.0.0.1:1", ""}}));
  EXPECT_EQ(r.next_deadline(), 5010);
}

// --- bad input: every refusal is a FAILED reply with a clear error and no stdout ---

struct BadCase {
  const char* body;
  const char* error_part;
};

class RegistryBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(RegistryBadInput, IsRefusedWithAClearErrorAndChangesNothing) {
  Registry r(test_config());
  r.handle(reg("keep", "127.0.0.1:7"), 0, kPeer);
  auto out = r.handle(GetParam().body, 1, kPeer);
  std::string error = error_of(out);
  EXPECT_NE(error.find(GetParam().error_part), std::string::npos) << error;
  EXPECT_TRUE(out.watch.empty());
  EXPECT_EQ(r.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    All, RegistryBadInput,
    ::testing::Values(
        BadCase{"{not json", "malformed JSON"}, BadCase{"", "malformed JSON"},
        BadCase{"[1,2]", "request must be a JSON object"},
        BadCase{"\"register\"", "request must be a JSON object"},
        BadCase{"{}", "missing field 'action'"},
        BadCase{R"({"action":5})", "field 'action' must be a string"},
        BadCase{R"({"action":"dance"})", "unknown action 'dance'"},
        BadCase{R"({"action":"register","ip_port":"127.0.0.1:1"})", "missing field 'group_name'"},
        BadCase{R"({"action":"register","group_name":"x"})", "missing field 'ip_port'"},
        BadCase{R"({"action":"register","group_name":1,"ip_port":"127.0.0.1:1"})",
                "field 'group_name' must be a string"},
        BadCase{R"({"action":"register","group_name":"x","ip_port":5560})",
                "field 'ip_port' must be a string"},
        BadCase{R"({"action":"register","group_name":"","ip_port":"127.0.0.1:1"})",
                "'group_name' must not be empty"},
        BadCase{R"({"action":"register","group_name":"a\nb","ip_port":"127.0.0.1:1"})",
                "control characters"},
        BadCase{R"({"action":"register","group_name":"x","ip_port":"127.0.0.1"})", "ip_port"},
        BadCase{R"({"action":"register","group_name":"x","ip_port":"127.0.0.1:0"})", "port"},
        BadCase{R"({"action":"register","group_name":"x","ip_port":"127.0.0.1:70000"})", "port"},
        BadCase{R"({"action":"register","group_name":"x","ip_port":"*:5560"})", "not '*'"},
        BadCase{R"({"action":"register","group_name":"x","ip_port":"tcp://127.0.0.1:1"})",
                "without 'tcp://'"},
        BadCase{R"({"action":"register","group_name":"x","ip_port":"a b:1"})", "ip_port"},
        BadCase{
            R"({"action":"register","group_name":"x","ip_port":"127.0.0.1:1","heartbeat":"yes"})",
            "'heartbeat' must be true or false"},
        BadCase{R"({"action":"heartbeat","group_name":"x"})", "missing field 'ip_port'"},
        BadCase{R"({"action":"unregister","ip_port":"127.0.0.1:1"})", "missing field 'group_name'"},
        BadCase{R"({"action":"get_group_list"})", "missing field 'user_uuid'"},
        BadCase{R"({"action":"get_group_list","user_uuid":null})",
                "field 'user_uuid' must be a string"},
        BadCase{R"({"action":"get_group_list","user_uuid":""})", "'user_uuid' must not be empty"}));

TEST(Registry, OverlongNameAndUuidAreRefused) {
  Registry r(test_config());
  std::string long_name(gc::kMaxGroupNameBytes + 1, 'n');
  EXPECT_NE(error_of(r.handle(reg(long_name, "127.0.0.1:1"), 0, kPeer)).find("over the limit"),
            std::string::npos);
  std::string exact(gc::kMaxGroupNameBytes, 'n');
  EXPECT_EQ(r.handle(reg(exact, "127.0.0.1:1"), 0, kPeer).reply, "SUCCESS");
  std::string long_uuid(gc::kMaxUserUuidBytes + 1, 'u');
  EXPECT_NE(error_of(r.handle(list_req(long_uuid), 0, kPeer)).find("over the limit"),
            std::string::npos);
}

TEST(Registry, LocalhostAndUnicodeNamesAreAccepted) {
  Registry r(test_config());
  EXPECT_EQ(r.handle(reg("Café group ☕", "LocalHost:5560"), 0, kPeer).reply, "SUCCESS");
  EXPECT_EQ(listed(r, 0), (std::vector<std::string>{"Café group ☕ - 127.0.0.1:5560"}));
}

TEST(Registry, HostNamesAreRefusedUnresolved) {
  Registry r(test_config());
  for (const char* addr : {"example.com:5560", "my-host:5560", "1.2.3.4.5:5560", "0x1g:5560"}) {
    auto out = r.handle(reg("g", addr), 0, kPeer);
    EXPECT_NE(error_of(out).find("is not an IPv4 address; register the group's numeric address"),
              std::string::npos)
        << addr;
    EXPECT_NE(error_of(out).find("the registry does not resolve host names"), std::string::npos);
    EXPECT_TRUE(out.watch.empty());
  }
  EXPECT_EQ(r.size(), 0u);
}

TEST(Registry, LongUnknownActionIsShortenedInTheError) {
  Registry r(test_config());
  std::string body = json{{"action", std::string(1000, 'z')}}.dump();
  EXPECT_LT(error_of(r.handle(body, 0, kPeer)).size(), 200u);
}

TEST(Registry, FailedReplyIsJsonWithResponseAndError) {
  json j = json::parse(gc::registry_failed("empty frame: send one frame of JSON"));
  EXPECT_EQ(j["response"], "FAILED");
  EXPECT_EQ(j["error"], "empty frame: send one frame of JSON");
}

TEST(Registry, ExtraFieldsAreIgnored) {
  Registry r(test_config());
  json j = {{"action", "get_group_list"}, {"user_uuid", "u"}, {"extra", {1, 2}}};
  EXPECT_EQ(r.handle(j.dump(), 0, kPeer).reply, "[]");
}

// --- hostile registrations: aliases, the registry's own address, other hosts, take-over, caps ---

namespace {

// A registry on *:5555 of a host whose one interface is 192.0.2.10.
gc::RegistryHost wildcard_host() {
  gc::RegistryHost h;
  h.port = 5555;
  h.interface_ips = {0xc000020a};
  return h;
}

}  // namespace

TEST(RegistryHostile, EverySpellingOfAnAddressIsOneEntryListedCanonically) {
  Registry r(test_config());
  EXPECT_EQ(r.handle(reg("chat", "0x7f000001:05560"), 0, kPeer).reply, "SUCCESS");
  EXPECT_EQ(listed(r, 0), (std::vector<std::string>{"chat - 127.0.0.1:5560"}));
  // Another name at an alias is another name at the same live address.
  for (const char* alias : {"127.1:5560", "127.0.0.0001:5560", "LOCALHOST:5560", "2130706433:5560",
                            "0177.0.0.1:5560", "0X7F.0.0.1:5560"}) {
    EXPECT_NE(error_of(r.handle(reg("evil", alias), 1, kPeer))
                  .find("address 127.0.0.1:5560 is already registered by live group 'chat'"),
              std::string::npos)
        << alias;
  }
  // The same name at an alias is the same group registering again.
  auto again = r.handle(reg("chat", "127.1:5560"), 2, kPeer);
  EXPECT_EQ(again.reply, "SUCCESS");
  EXPECT_EQ(again.stdout_lines[0], "JOIN REQUEST FROM 127.0.0.1:5560");
  EXPECT_EQ(listed(r, 2), (std::vector<std::string>{"chat - 127.0.0.1:5560"}));
  // Heartbeats, watch events and unregisters meet the same entry.
  EXPECT_EQ(json::parse(r.handle(hb("chat", "127.000.0.1:5560"), 3, kPeer).reply)["response"],
            "SUCCESS");
  EXPECT_EQ(r.handle(unreg("chat", "localhost:5560"), 4, kPeer).watch,
            (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:5560", ""}}));
  EXPECT_EQ(r.size(), 0u);
}

TEST(RegistryHostile, AddressesNobodyCanConnectToAreRefused) {
  Registry r(test_config());
  EXPECT_NE(error_of(r.handle(reg("a", "0.0.0.0:5560"), 0, kPeer)).find("not an address others"),
            std::string::npos);
  EXPECT_NE(error_of(r.handle(reg("a", "0:5560"), 0, kPeer)).find("0.0.0.0 is not an address"),
            std::string::npos);
  for (const char* addr : {"224.0.0.1:5560", "255.255.255.255:5560", "0xffffffff:5560"})
    EXPECT_NE(error_of(r.handle(reg("a", addr), 0, kPeer)).find("is not a unicast address"),
              std::string::npos)
        << addr;
  EXPECT_EQ(r.size(), 0u);
}

TEST(RegistryHostile, TheRegistrysOwnAddressIsRefusedInEverySpelling) {
  Registry r(test_config());
  r.set_host(wildcard_host());
  for (const char* self : {"127.0.0.1:5555", "0x7f000001:5555", "127.1:5555", "127.0.0.0001:5555",
                           "LOCALHOST:5555", "127.8.9.10:5555", "192.0.2.10:5555"}) {
    auto out = r.handle(reg("self", self), 0, kPeer);
    EXPECT_NE(error_of(out).find("is the registry's own address"), std::string::npos) << self;
    EXPECT_TRUE(out.watch.empty());
  }
  EXPECT_EQ(r.handle(reg("next door", "127.0.0.1:5556"), 0, kPeer).reply, "SUCCESS");
  // Bound to one address, only that address with its port is the registry.
  gc::RegistryHost one = wildcard_host();
  one.bound_ip = 0xc000020a;
  r.set_host(one);
  error_of(r.handle(reg("self", "192.0.2.10:5555"), 0, kPeer));
  EXPECT_EQ(r.handle(reg("lo", "127.0.0.2:5555"), 0, kPeer).reply, "SUCCESS");
}

TEST(RegistryHostile, AGroupRegistersFromTheHostItAdvertises) {
  Registry r(test_config());
  r.set_host(wildcard_host());
  // Another host's address from here, and here from another host: refused.
  auto out = r.handle(reg("far", "198.51.100.7:5560"), 0, "127.0.0.1");
  EXPECT_NE(error_of(out).find("a group at 198.51.100.7 must register from that host, and this "
                               "registration comes from 127.0.0.1"),
            std::string::npos);
  EXPECT_NE(error_of(out).find("--allow-any-registrant"), std::string::npos);
  error_of(r.handle(reg("near", "127.0.0.1:5560"), 0, "198.51.100.7"));
  error_of(r.handle(reg("near", "192.0.2.10:5560"), 0, "198.51.100.7"));
  error_of(r.handle(reg("x", "198.51.100.7:5560"), 0, ""));  // origin unknown
  // Its own address from another host; any of this host's addresses from this host.
  EXPECT_EQ(r.handle(reg("a", "198.51.100.7:5560"), 0, "198.51.100.7").reply, "SUCCESS");
  EXPECT_EQ(r.handle(reg("b", "127.0.0.1:5560"), 0, "127.0.0.9").reply, "SUCCESS");
  EXPECT_EQ(r.handle(reg("c", "192.0.2.10:5560"), 0, "127.0.0.1").reply, "SUCCESS");
  EXPECT_EQ(r.handle(reg("d", "127.0.0.1:5561"), 0, "::ffff:192.0.2.10").reply, "SUCCESS");
  EXPECT_EQ(r.size(), 4u);
}

TEST(RegistryHostile, AllowAnyRegistrantAcceptsOtherHostsButNeverTheRegistryItself) {
  RegistryConfig c = test_config();
  c.allow_any_registrant = true;
  Registry r(c);
  r.set_host(wildcard_host());
  EXPECT_EQ(r.handle(reg("far", "198.51.100.7:5560"), 0, "127.0.0.1").reply, "SUCCESS");
  error_of(r.handle(reg("self", "127.1:5555"), 0, "198.51.100.7"));
}

TEST(RegistryHostile, ALiveNameCannotBeTakenOver) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1"), 0, kPeer);
  r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 10);
  // Renaming the live address, then taking the name elsewhere: both refused.
  error_of(r.handle(reg("decoy", "127.0.0.1:1"), 20, "127.0.0.9"));
  error_of(r.handle(reg("decoy", "127.0.0.1:1"), 20, kPeer));
  EXPECT_NE(error_of(r.handle(reg("chat", "127.0.0.9:1"), 30, "127.0.0.9"))
                .find("group name 'chat' is already served at 127.0.0.1:1"),
            std::string::npos);
  // The same name and address from another address of this host: the entry is not its to refresh.
  EXPECT_NE(error_of(r.handle(reg("chat", "127.0.0.1:1", true), 40, "127.0.0.9"))
                .find("was registered from another address"),
            std::string::npos);
  EXPECT_EQ(listed(r, 50), (std::vector<std::string>{"chat - 127.0.0.1:1"}));
  EXPECT_EQ(r.next_deadline(), std::nullopt);  // still watched and connected
}

TEST(RegistryHostile, HeartbeatsAndUnregistersComeFromTheRegistrantOnly) {
  Registry r(test_config());
  r.handle(reg("hb", "127.0.0.1:1", true), 0, kPeer);
  auto forged = r.handle(hb("hb", "127.0.0.1:1"), 3000, "127.0.0.9");
  json j = json::parse(forged.reply);
  EXPECT_EQ(j["response"], "FAILED");
  EXPECT_FALSE(j.contains("reregister"));
  EXPECT_NE(j["error"].get<std::string>().find("it comes from 127.0.0.9, not from the address"),
            std::string::npos);
  EXPECT_EQ(r.next_deadline(), 3500);  // not renewed
  auto gone = r.handle(unreg("hb", "127.0.0.1:1"), 3000, "127.0.0.9");
  EXPECT_NE(error_of(gone).find("unregister of 'hb' at 127.0.0.1:1 refused"), std::string::npos);
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(json::parse(r.handle(hb("hb", "127.0.0.1:1"), 3000, kPeer).reply)["response"],
            "SUCCESS");
  EXPECT_EQ(r.next_deadline(), 6500);
}

TEST(RegistryHostile, CapsInTotalAndPerSourceAddress) {
  RegistryConfig c = test_config();
  c.max_groups = 4;
  c.max_groups_per_source = 2;
  Registry r(c);
  EXPECT_EQ(r.handle(reg("a", "127.0.0.1:1"), 0, kPeer).reply, "SUCCESS");
  EXPECT_EQ(r.handle(reg("b", "127.0.0.1:2"), 0, kPeer).reply, "SUCCESS");
  EXPECT_NE(error_of(r.handle(reg("c", "127.0.0.1:3"), 0, kPeer))
                .find("2 groups are registered from 127.0.0.1, the limit per address "
                      "(--max-groups-per-source)"),
            std::string::npos);
  // Registering one of its own again is no new group.
  EXPECT_EQ(r.handle(reg("a", "127.0.0.1:1"), 1, kPeer).reply, "SUCCESS");
  EXPECT_EQ(r.handle(reg("c", "127.0.0.1:3"), 0, "127.0.0.2").reply, "SUCCESS");
  EXPECT_EQ(r.handle(reg("d", "127.0.0.1:4"), 0, "127.0.0.2").reply, "SUCCESS");
  EXPECT_NE(error_of(r.handle(reg("e", "127.0.0.1:5"), 0, "127.0.0.3"))
                .find("the registry holds 4 groups, its limit (--max-groups)"),
            std::string::npos);
  EXPECT_EQ(r.size(), 4u);
  r.handle(unreg("a", "127.0.0.1:1"), 2, kPeer);
  EXPECT_EQ(r.handle(reg("e", "127.0.0.1:5"), 3, "127.0.0.3").reply, "SUCCESS");
}
