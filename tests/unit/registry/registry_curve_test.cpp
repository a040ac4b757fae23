// The registry state machine in curve mode: names bound to keys, the allow
// list, the proof a curve group gives before it is listed, and the open
// registry's refusal of curve groups.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "protocol/registry_protocol.hpp"
#include "registry/registry.hpp"

using gc::Registry;
using gc::RegistryConfig;
using gc::WatchChange;
using gc::WatchCommand;
using gc::WatchEvent;
using nlohmann::json;

namespace {

constexpr const char* kPeer = "127.0.0.1";
const std::string kKeyA(40, 'a');
const std::string kKeyB(40, 'b');

RegistryConfig curve_config() {
  RegistryConfig c;
  c.curve = true;
  c.expiry_ms = 3500;
  c.watch_connect_ms = 5000;
  return c;
}

std::string reg(const std::string& name, const std::string& addr, bool heartbeat, bool curve) {
  return gc::make_registry_request(gc::RegistryAction::register_group, name, addr, heartbeat,
                                   curve);
}
std::string hb(const std::string& name, const std::string& addr) {
  return gc::make_registry_request(gc::RegistryAction::heartbeat, name, addr);
}
std::string unreg(const std::string& name, const std::string& addr) {
  return gc::make_registry_request(gc::RegistryAction::unregister, name, addr);
}

std::string response_of(const gc::RegistryOutput& out) {
  if (out.reply == "SUCCESS") return "SUCCESS";
  return json::parse(out.reply).value("response", "");
}
std::string error_of(const gc::RegistryOutput& out) {
  json j = json::parse(out.reply);
  EXPECT_EQ(j.at("response"), "FAILED") << out.reply;
  return j.value("error", "");
}

std::vector<gc::GroupEntry> entries(Registry& r, int64_t now) {
  auto decoded =
      gc::decode_group_entries(r.handle(gc::make_list_groups_request(), now, kPeer).reply);
  EXPECT_EQ(decoded.kind, gc::GroupEntriesReply::Kind::list);
  return decoded.groups;
}
std::vector<std::string> listed(Registry& r, int64_t now) {
  return json::parse(r.handle(gc::make_group_list_request("u"), now, kPeer).reply)
      .get<std::vector<std::string>>();
}

}  // namespace

TEST(RegistryCurve, TheFirstKeyToRegisterANameIsBoundToIt) {
  Registry r(curve_config());
  auto out = r.handle(reg("g", "127.0.0.1:5560", true, false), 0, kPeer, kKeyA);
  EXPECT_EQ(response_of(out), "SUCCESS");
  EXPECT_TRUE(out.bindings_changed);
  EXPECT_EQ(r.bindings(), (gc::NameBindings{{"g", kKeyA}}));
  // An open group in a curve registry is listed at once, with no key.
  EXPECT_EQ(entries(r, 1), (std::vector<gc::GroupEntry>{{"g", "127.0.0.1:5560", false, ""}}));
  // Registering again with the same key binds nothing new.
  out = r.handle(reg("g", "127.0.0.1:5560", true, false), 2, kPeer, kKeyA);
  EXPECT_EQ(response_of(out), "SUCCESS");
  EXPECT_FALSE(out.bindings_changed);
}

TEST(RegistryCurve, AnotherKeyCannotRegisterHeartbeatOrUnregisterABoundName) {
  Registry r(curve_config());
  ASSERT_EQ(response_of(r.handle(reg("g", "127.0.0.1:5560", true, false), 0, kPeer, kKeyA)),
            "SUCCESS");
  auto out = r.handle(reg("g", "127.0.0.1:5560", true, false), 1, kPeer, kKeyB);
  EXPECT_NE(error_of(out).find("bound to another key"), std::string::npos) << out.reply;
  out = r.handle(hb("g", "127.0.0.1:5560"), 1, kPeer, kKeyB);
  EXPECT_NE(error_of(out).find("not sent with the key that registered"), std::string::npos);
  out = r.handle(unreg("g", "127.0.0.1:5560"), 1, kPeer, kKeyB);
  EXPECT_NE(error_of(out).find("not sent with the key that registered"), std::string::npos);
  EXPECT_EQ(listed(r, 2), (std::vector<std::string>{"g - 127.0.0.1:5560"}));
  // The holder heartbeats and unregisters.
  EXPECT_EQ(response_of(r.handle(hb("g", "127.0.0.1:5560"), 3, kPeer, kKeyA)), "SUCCESS");
  EXPECT_EQ(response_of(r.handle(unreg("g", "127.0.0.1:5560"), 4, kPeer, kKeyA)), "SUCCESS");
  EXPECT_TRUE(listed(r, 5).empty());
  // The name stays bound once its group is gone: at another address too.
  out = r.handle(reg("g", "127.0.0.1:5561", true, false), 6, kPeer, kKeyB);
  EXPECT_NE(error_of(out).find("bound to another key"), std::string::npos);
  EXPECT_EQ(response_of(r.handle(reg("g", "127.0.0.1:5561", true, false), 7, kPeer, kKeyA)),
            "SUCCESS");
}

TEST(RegistryCurve, BindingsReadFromDiskAreEnforcedAndReleasedNamesAreFree) {
  Registry r(curve_config());
  r.set_bindings({{"g", kKeyA}});
  auto out = r.handle(reg("g", "127.0.0.1:5560", true, false), 0, kPeer, kKeyB);
  EXPECT_NE(error_of(out).find("bound to another key"), std::string::npos);
  r.set_bindings({});  // released
  out = r.handle(reg("g", "127.0.0.1:5560", true, false), 1, kPeer, kKeyB);
  EXPECT_EQ(response_of(out), "SUCCESS");
  EXPECT_EQ(r.bindings(), (gc::NameBindings{{"g", kKeyB}}));
}

TEST(RegistryCurve, ReloadedBindingsDropALiveGroupOfAnotherKeyAndKeepALiveNameBound) {
  Registry r(curve_config());
  ASSERT_EQ(response_of(r.handle(reg("g", "127.0.0.1:5560", true, false), 0, kPeer, kKeyA)),
            "SUCCESS");
  ASSERT_EQ(response_of(r.handle(reg("h", "127.0.0.1:5561", true, false), 0, kPeer, kKeyA)),
            "SUCCESS");
  // The file now binds g to B, and h not at all.
  auto out = r.set_bindings({{"g", kKeyB}});
  EXPECT_TRUE(out.bindings_changed);
  EXPECT_EQ(r.bindings(), (gc::NameBindings{{"g", kKeyB}, {"h", kKeyA}}));
  EXPECT_EQ(listed(r, 1), (std::vector<std::string>{"h - 127.0.0.1:5561"}));
}

TEST(RegistryCurve, TheAllowListAdmitsOnlyItsKeysWithTheirNames) {
  Registry r(curve_config());
  r.set_allowed(gc::AllowedNames{{kKeyA, "g"}});
  EXPECT_EQ(response_of(r.handle(reg("g", "127.0.0.1:5560", true, false), 0, kPeer, kKeyA)),
            "SUCCESS");
  auto out = r.handle(reg("other", "127.0.0.1:5561", true, false), 0, kPeer, kKeyA);
  EXPECT_NE(error_of(out).find("groups file does not list"), std::string::npos) << out.reply;
  out = r.handle(reg("free", "127.0.0.1:5562", true, false), 0, kPeer, kKeyB);
  EXPECT_NE(error_of(out).find("groups file does not list"), std::string::npos);
  EXPECT_EQ(r.bindings().size(), 1u);
  // A reload that no longer lists A with g drops the live group.
  r.set_allowed(gc::AllowedNames{{kKeyB, "g"}});
  EXPECT_TRUE(listed(r, 1).empty());
  // Lifting the list: any key may register an unbound name.
  r.set_allowed(std::nullopt);
  EXPECT_EQ(response_of(r.handle(reg("free", "127.0.0.1:5562", true, false), 2, kPeer, kKeyB)),
            "SUCCESS");
}

TEST(RegistryCurve, ACurveGroupIsListedOnlyOnceItsHandshakeSucceeds) {
  Registry r(curve_config());
  auto out = r.handle(reg("g", "127.0.0.1:5560", true, true), 0, kPeer, kKeyA);
  EXPECT_EQ(response_of(out), "SUCCESS");
  // The proof: a CURVE connection whose server key is the registering key.
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::start, "127.0.0.1:5560", kKeyA}}));
  EXPECT_TRUE(listed(r, 1).empty());
  EXPECT_TRUE(entries(r, 1).empty());
  EXPECT_EQ(r.next_deadline(), 3500);  // its heartbeat expiry comes before the proof's 5000
  // A disconnect before any handshake proves nothing.
  EXPECT_TRUE(r.on_watch_event("127.0.0.1:5560", WatchEvent::disconnected, 2).watch.empty());
  EXPECT_TRUE(listed(r, 2).empty());
  out = r.on_watch_event("127.0.0.1:5560", WatchEvent::connected, 3);
  // A heartbeating group's proof connection closes after it succeeded.
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:5560", ""}}));
  EXPECT_EQ(listed(r, 4), (std::vector<std::string>{"g - 127.0.0.1:5560"}));
  EXPECT_EQ(entries(r, 4), (std::vector<gc::GroupEntry>{{"g", "127.0.0.1:5560", true, kKeyA}}));
  // It lives by its heartbeats from now on.
  EXPECT_EQ(response_of(r.handle(hb("g", "127.0.0.1:5560"), 3000, kPeer, kKeyA)), "SUCCESS");
  r.tick(6000);
  EXPECT_EQ(r.size(), 1u);
}

TEST(RegistryCurve, ACurveGroupThatNeverProvesItsKeyIsDroppedUnlisted) {
  Registry r(curve_config());
  ASSERT_EQ(response_of(r.handle(reg("g", "127.0.0.1:5560", true, true), 0, kPeer, kKeyA)),
            "SUCCESS");
  // Heartbeats keep it from expiring, but not from the proof's deadline.
  for (int64_t t = 1000; t < 5000; t += 1000)
    EXPECT_EQ(response_of(r.handle(hb("g", "127.0.0.1:5560"), t, kPeer, kKeyA)), "SUCCESS");
  EXPECT_EQ(r.next_deadline(), 5000);
  EXPECT_EQ(r.tick(4999).watch.size(), 0u);
  auto out = r.tick(5000);
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:5560", ""}}));
  ASSERT_EQ(out.notes.size(), 1u);
  EXPECT_NE(out.notes[0].find("no CURVE handshake"), std::string::npos);
  EXPECT_EQ(r.size(), 0u);
  // Its heartbeat is now asked to register again.
  out = r.handle(hb("g", "127.0.0.1:5560"), 5001, kPeer, kKeyA);
  EXPECT_TRUE(json::parse(out.reply).value("reregister", false)) << out.reply;
}

TEST(RegistryCurve, AWatchedCurveGroupIsProvenAndWatchedByTheSameConnection) {
  Registry r(curve_config());
  auto out = r.handle(reg("g", "127.0.0.1:5560", false, true), 0, kPeer, kKeyA);
  EXPECT_EQ(out.reply, "SUCCESS");
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::start, "127.0.0.1:5560", kKeyA}}));
  out = r.on_watch_event("127.0.0.1:5560", WatchEvent::connected, 10);
  EXPECT_TRUE(out.watch.empty());
  EXPECT_EQ(entries(r, 11), (std::vector<gc::GroupEntry>{{"g", "127.0.0.1:5560", true, kKeyA}}));
  r.on_watch_event("127.0.0.1:5560", WatchEvent::disconnected, 20);
  r.tick(20 + curve_config().watch_reconnect_ms);
  EXPECT_EQ(r.size(), 0u);
}

TEST(RegistryCurve, AnOpenRegistryRefusesACurveGroup) {
  Registry r;  // open mode
  auto out = r.handle(reg("g", "127.0.0.1:5560", true, true), 0, kPeer);
  EXPECT_NE(error_of(out).find("a curve group must register with a registry in curve mode"),
            std::string::npos);
  EXPECT_EQ(r.size(), 0u);
  EXPECT_TRUE(r.bindings().empty());
}

TEST(RegistryCurve, ARequestWithoutAKeyIsRefusedInCurveMode) {
  Registry r(curve_config());
  auto out = r.handle(reg("g", "127.0.0.1:5560", true, false), 0, kPeer, "");
  EXPECT_NE(error_of(out).find("without an authenticated key"), std::string::npos);
}

TEST(RegistryCurve, ANameWithOuterBlanksIsRefusedInCurveMode) {
  Registry r(curve_config());
  auto out = r.handle(reg(" g", "127.0.0.1:5560", true, false), 0, kPeer, kKeyA);
  EXPECT_NE(error_of(out).find("may not begin or end with a blank"), std::string::npos);
}

TEST(RegistryCurve, ALiveGroupCannotBeReRegisteredByAnotherKeyAfterARelease) {
  Registry r(curve_config());
  ASSERT_EQ(response_of(r.handle(reg("g", "127.0.0.1:5560", true, false), 0, kPeer, kKeyA)),
            "SUCCESS");
  r.set_bindings({});  // the operator released the name while the group is live: it stays A's
  auto out = r.handle(reg("g", "127.0.0.1:5560", true, false), 1, kPeer, kKeyB);
  EXPECT_EQ(response_of(out), "FAILED");
}

TEST(RegistryCurve, AGroupRestartingAsCurveProvesItsKeyAgain) {
  Registry r(curve_config());
  ASSERT_EQ(response_of(r.handle(reg("g", "127.0.0.1:5560", true, false), 0, kPeer, kKeyA)),
            "SUCCESS");
  auto out = r.handle(reg("g", "127.0.0.1:5560", true, true), 1, kPeer, kKeyA);
  EXPECT_EQ(response_of(out), "SUCCESS");
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::start, "127.0.0.1:5560", kKeyA}}));
  EXPECT_TRUE(listed(r, 2).empty());
  r.on_watch_event("127.0.0.1:5560", WatchEvent::connected, 3);
  EXPECT_EQ(entries(r, 4), (std::vector<gc::GroupEntry>{{"g", "127.0.0.1:5560", true, kKeyA}}));
}

TEST(RegistryCurve, NewNamesPastTheBindingCapAreRefusedBoundOnesStillRegister) {
  RegistryConfig c = curve_config();
  c.max_bound_names = 1;
  Registry r(c);
  ASSERT_EQ(response_of(r.handle(reg("g", "127.0.0.1:5560", true, false), 0, kPeer, kKeyA)),
            "SUCCESS");
  ASSERT_EQ(response_of(r.handle(unreg("g", "127.0.0.1:5560"), 1, kPeer, kKeyA)), "SUCCESS");
  auto out = r.handle(reg("h", "127.0.0.1:5561", true, false), 2, kPeer, kKeyA);
  EXPECT_NE(error_of(out).find("--max-bound-names"), std::string::npos) << out.reply;
  EXPECT_EQ(response_of(r.handle(reg("g", "127.0.0.1:5561", true, false), 3, kPeer, kKeyA)),
            "SUCCESS");
}

TEST(RegistryCurve, ARewatchedCurveGroupIsListedAgainByItsKeysHandshake) {
  Registry r(curve_config());
  r.handle(reg("g", "127.0.0.1:5560", false, true), 0, kPeer, kKeyA);
  r.on_watch_event("127.0.0.1:5560", WatchEvent::connected, 10);
  r.on_watch_event("127.0.0.1:5560", WatchEvent::disconnected, 20);
  auto out = r.tick(20 + curve_config().watch_reconnect_ms);
  EXPECT_TRUE(out.watch.empty());  // the watch, a CURVE client expecting kKeyA, goes on
  EXPECT_EQ(r.rewatched(), 1u);
  EXPECT_EQ(entries(r, 2000), std::vector<gc::GroupEntry>{});
  // Its name stays bound: another key cannot take it meanwhile.
  EXPECT_NE(error_of(r.handle(reg("g", "127.0.0.1:5561", false, true), 3000, kPeer, kKeyB))
                .find("bound to another key"),
            std::string::npos);
  r.on_watch_event("127.0.0.1:5560", WatchEvent::connected, 4000);
  EXPECT_EQ(entries(r, 4001), (std::vector<gc::GroupEntry>{{"g", "127.0.0.1:5560", true, kKeyA}}));
}

TEST(RegistryCurve, ARewatchedGroupWhoseNameIsReleasedOrBoundElsewhereIsForgotten) {
  Registry r(curve_config());
  const std::pair<std::string, std::string> groups[] = {{"g", "127.0.0.1:5560"},
                                                        {"h", "127.0.0.1:5561"}};
  for (const auto& [name, addr] : groups) {
    r.handle(reg(name, addr, false, false), 0, kPeer, kKeyA);
    r.on_watch_event(addr, WatchEvent::connected, 10);
    r.on_watch_event(addr, WatchEvent::disconnected, 20);
  }
  r.tick(20 + curve_config().watch_reconnect_ms);
  ASSERT_EQ(r.rewatched(), 2u);
  // The operator releases h and binds g to another key: neither is watched any more, and a
  // released name is not bound again for a group that is not live.
  auto out = r.set_bindings({{"g", kKeyB}});
  EXPECT_EQ(out.watch, (std::vector<WatchCommand>{{WatchChange::stop, "127.0.0.1:5560", ""},
                                                  {WatchChange::stop, "127.0.0.1:5561", ""}}));
  EXPECT_FALSE(out.bindings_changed);
  EXPECT_EQ(r.bindings(), (gc::NameBindings{{"g", kKeyB}}));
  EXPECT_EQ(r.rewatched(), 0u);
}
