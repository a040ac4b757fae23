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
  return json::parse(r.handle(list_req(), now).reply).get<std::vector<std::string>>();
}

}  // namespace

TEST(Registry, ReferenceRegisterRepliesBareSuccessPrintsTwoLinesAndStartsWatch) {
  Registry r(test_config());
  auto out = r.handle(reg("chat", "127.0.0.1:5560"), 0);
  EXPECT_EQ(out.reply, "SUCCESS");
  EXPECT_EQ(out.stdout_lines,
            (std::vector<std::string>{"JOIN REQUEST FROM 127.0.0.1:5560", "SUCCESS"}));
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::start, "127.0.0.1:5560"}}));
  EXPECT_EQ(r.size(), 1u);
}

TEST(Registry, HeartbeatRegisterRepliesJsonWithIntervalsAndStartsNoWatch) {
  Registry r(test_config());
  auto out = r.handle(reg("chat", "127.0.0.1:5560", true), 0);
  json j = json::parse(out.reply);
  EXPECT_EQ(j["response"], "SUCCESS");
  EXPECT_EQ(j["heartbeat_ms"], 1000);
  EXPECT_EQ(j["expiry_ms"], 3500);
  EXPECT_EQ(out.stdout_lines.size(), 2u);
  EXPECT_TRUE(out.watch.empty());
}

TEST(Registry, HeartbeatFalseIsTheReferenceKind) {
  Registry r(test_config());
  json j = {{"action", "register"}, {"group_name", "a"}, {"ip_port", "h:1"}, {"heartbeat", false}};
  EXPECT_EQ(r.handle(j.dump(), 0).reply, "SUCCESS");
}

TEST(Registry, GroupListIsInRegistrationOrderAndPrintsTheUuid) {
  Registry r(test_config());
  r.handle(reg("b", "127.0.0.1:2"), 0);
  r.handle(reg("a", "127.0.0.1:1", true), 0);
  auto out = r.handle(list_req("user-42"), 0);
  EXPECT_EQ(out.stdout_lines, (std::vector<std::string>{"GROUP LIST REQUEST FROM user-42"}));
  EXPECT_EQ(json::parse(out.reply), json::parse(R"(["b - 127.0.0.1:2", "a - 127.0.0.1:1"])"));
}

TEST(Registry, EmptyGroupListIsAnEmptyArray) {
  Registry r(test_config());
  EXPECT_EQ(r.handle(list_req(), 0).reply, "[]");
}

TEST(Registry, RegisteringAnAddressAgainReplacesItsNameInPlace) {
  Registry r(test_config());
  r.handle(reg("old", "127.0.0.1:1"), 0);
  r.handle(reg("other", "127.0.0.1:2"), 0);
  auto out = r.handle(reg("new", "127.0.0.1:1"), 10);
  EXPECT_EQ(out.reply, "SUCCESS");
  // The old holder's watch is restarted for the new process.
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1"},
                                                  {WatchChange::start, "127.0.0.1:1"}}));
  EXPECT_EQ(listed(r, 10), (std::vector<std::string>{"new - 127.0.0.1:1", "other - 127.0.0.1:2"}));
}

TEST(Registry, NameHeldAtAnotherAddressIsRefused) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1"), 0);
  auto out = r.handle(reg("chat", "127.0.0.1:2", true), 0);
  EXPECT_NE(error_of(out).find("group name 'chat' is already served at 127.0.0.1:1"),
            std::string::npos);
  EXPECT_TRUE(out.watch.empty());
  EXPECT_EQ(r.size(), 1u);
}

TEST(Registry, NameFreedByExpiryCanBeTakenElsewhere) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1", true), 0);
  r.tick(3500);
  EXPECT_EQ(r.handle(reg("chat", "127.0.0.1:2", true), 3500).stdout_lines.size(), 2u);
  EXPECT_EQ(listed(r, 3500), (std::vector<std::string>{"chat - 127.0.0.1:2"}));
}

TEST(Registry, HeartbeatKeepsAGroupAliveAndExpiryDropsItAfterSilence) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1", true), 0);
  EXPECT_EQ(r.next_deadline(), 3500);
  auto out = r.handle(hb("chat", "127.0.0.1:1"), 3000);
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
  auto out = r.handle(hb("chat", "127.0.0.1:1"), 0);
  json j = json::parse(out.reply);
  EXPECT_EQ(j["response"], "FAILED");
  EXPECT_EQ(j["reregister"], true);
  EXPECT_TRUE(j["error"].get<std::string>().starts_with("not registered"));
}

TEST(Registry, HeartbeatWithAnotherNameForTheAddressAsksToRegisterAgain) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1", true), 0);
  EXPECT_EQ(json::parse(r.handle(hb("other", "127.0.0.1:1"), 0).reply)["reregister"], true);
}

TEST(Registry, HeartbeatFromAWatchedGroupSwitchesItToHeartbeats) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1"), 0);
  auto out = r.handle(hb("chat", "127.0.0.1:1"), 100);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1"}}));
  EXPECT_EQ(r.next_deadline(), 3600);
}

TEST(Registry, UnregisterRemovesAtOncePrintsLeaveAndIsIdempotent) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1"), 0);
  auto out = r.handle(unreg("chat", "127.0.0.1:1"), 5);
  EXPECT_EQ(json::parse(out.reply)["response"], "SUCCESS");
  EXPECT_EQ(out.stdout_lines, (std::vector<std::string>{"LEAVE REQUEST FROM 127.0.0.1:1"}));
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1"}}));
  EXPECT_EQ(r.size(), 0u);
  auto again = r.handle(unreg("chat", "127.0.0.1:1"), 6);
  EXPECT_EQ(json::parse(again.reply)["response"], "SUCCESS");
  EXPECT_TRUE(again.watch.empty());
}

TEST(Registry, UnregisterByAStaleNameLeavesTheNewHolder) {
  Registry r(test_config());
  r.handle(reg("new", "127.0.0.1:1", true), 0);
  r.handle(unreg("old", "127.0.0.1:1"), 1);
  EXPECT_EQ(r.size(), 1u);
}

TEST(Registry, WatchedGroupThatNeverConnectsIsDroppedAfterTheConnectWindow) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1"), 0);
  EXPECT_EQ(r.next_deadline(), 5000);
  EXPECT_EQ(r.tick(4999).watch.size(), 0u);
  auto out = r.tick(5000);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1"}}));
  EXPECT_EQ(listed(r, 5000), std::vector<std::string>{});
}

TEST(Registry, ConnectedWatchedGroupStaysWithoutDeadline) {
  Registry r(test_config());
  r.handle(reg("chat", "127.0.0.1:1"), 0);
  r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 200);
  EXPECT_EQ(r.next_deadline(), std::nullopt);
  r.tick(1'000'000);
  EXPECT_EQ(r.size(), 1u);
}

TEST(Registry, LostWatchedGroupIsDroppedUnlessItReconnectsInTime) {
  Registry r(test_config());
  r.handle(reg("a", "127.0.0.1:1"), 0);
  r.handle(reg("b", "127.0.0.1:2"), 0);
  r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 100);
  r.on_watch_event("127.0.0.1:2", WatchEvent::connected, 100);
  r.on_watch_event("127.0.0.1:1", WatchEvent::disconnected, 10'000);
  r.on_watch_event("127.0.0.1:2", WatchEvent::disconnected, 10'000);
  r.on_watch_event("127.0.0.1:2", WatchEvent::connected, 10'200);  // came back
  EXPECT_EQ(r.next_deadline(), 11'000);
  auto out = r.tick(11'000);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1"}}));
  EXPECT_EQ(listed(r, 11'000), (std::vector<std::string>{"b - 127.0.0.1:2"}));
}

TEST(Registry, DisconnectBeforeFirstConnectKeepsTheConnectWindow) {
  Registry r(test_config());
  r.handle(reg("a", "127.0.0.1:1"), 0);
  r.on_watch_event("127.0.0.1:1", WatchEvent::disconnected, 50);
  EXPECT_EQ(r.next_deadline(), 5000);
}

TEST(Registry, WatchEventsForUnknownOrHeartbeatingGroupsAreIgnored) {
  Registry r(test_config());
  r.handle(reg("hb", "127.0.0.1:1", true), 0);
  EXPECT_TRUE(r.on_watch_event("127.0.0.1:9", WatchEvent::connected, 1).watch.empty());
  r.on_watch_event("127.0.0.1:1", WatchEvent::connected, 1);
  EXPECT_EQ(r.next_deadline(), 3500);  // still expires by heartbeat
}

TEST(Registry, SwitchingAnAddressFromWatchedToHeartbeatStopsTheWatch) {
  Registry r(test_config());
  r.handle(reg("a", "127.0.0.1:1"), 0);
  auto out = r.handle(reg("a", "127.0.0.1:1", true), 10);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:1"}}));
}

// --- bad input: every refusal is a FAILED reply with a clear error and no stdout ---

struct BadCase {
  const char* body;
  const char* error_part;
};

class RegistryBadInput : public ::testing::TestWithParam<BadCase> {};

TEST_P(RegistryBadInput, IsRefusedWithAClearErrorAndChangesNothing) {
  Registry r(test_config());
  r.handle(reg("keep", "127.0.0.1:7"), 0);
  auto out = r.handle(GetParam().body, 1);
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
  EXPECT_NE(error_of(r.handle(reg(long_name, "127.0.0.1:1"), 0)).find("over the limit"),
            std::string::npos);
  std::string exact(gc::kMaxGroupNameBytes, 'n');
  EXPECT_EQ(r.handle(reg(exact, "127.0.0.1:1"), 0).reply, "SUCCESS");
  std::string long_uuid(gc::kMaxUserUuidBytes + 1, 'u');
  EXPECT_NE(error_of(r.handle(list_req(long_uuid), 0)).find("over the limit"), std::string::npos);
}

TEST(Registry, HostNamesAndUnicodeNamesAreAccepted) {
  Registry r(test_config());
  EXPECT_EQ(r.handle(reg("Café group ☕", "localhost:5560"), 0).reply, "SUCCESS");
  EXPECT_EQ(listed(r, 0), (std::vector<std::string>{"Café group ☕ - localhost:5560"}));
}

TEST(Registry, LongUnknownActionIsShortenedInTheError) {
  Registry r(test_config());
  std::string body = json{{"action", std::string(1000, 'z')}}.dump();
  EXPECT_LT(error_of(r.handle(body, 0)).size(), 200u);
}

TEST(Registry, FailedReplyIsJsonWithResponseAndError) {
  json j = json::parse(gc::registry_failed("empty frame: send one frame of JSON"));
  EXPECT_EQ(j["response"], "FAILED");
  EXPECT_EQ(j["error"], "empty frame: send one frame of JSON");
}

TEST(Registry, ExtraFieldsAreIgnored) {
  Registry r(test_config());
  json j = {{"action", "get_group_list"}, {"user_uuid", "u"}, {"extra", {1, 2}}};
  EXPECT_EQ(r.handle(j.dump(), 0).reply, "[]");
}
