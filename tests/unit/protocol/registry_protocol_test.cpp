// The registry's wire format: requests as the registry checks them, and the
// replies as groups and users read them.
#include "protocol/registry_protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace gc {
namespace {

using nlohmann::json;

TEST(RegistryProtocol, WhatAGroupSendsTheRegistryReads) {
  for (bool heartbeat : {false, true}) {
    auto req = decode_registry_request(
        make_registry_request(RegistryAction::register_group, "chat", "127.0.0.1:6000", heartbeat));
    ASSERT_TRUE(req) << req.error();
    EXPECT_EQ(req->action, RegistryAction::register_group);
    EXPECT_EQ(req->group_name, "chat");
    EXPECT_EQ(req->ip_port, "127.0.0.1:6000");
    EXPECT_EQ(req->heartbeat, heartbeat);
  }
  auto list = decode_registry_request(make_group_list_request("u-1"));
  ASSERT_TRUE(list);
  EXPECT_EQ(list->action, RegistryAction::get_group_list);
  EXPECT_EQ(list->user_uuid, "u-1");
  auto bye = decode_registry_request(
      make_registry_request(RegistryAction::unregister, "chat", "127.0.0.1:6000"));
  ASSERT_TRUE(bye);
  EXPECT_EQ(bye->action, RegistryAction::unregister);
}

TEST(RegistryProtocol, RequestsAreCheckedFieldByField) {
  EXPECT_EQ(decode_registry_request(R"({"action":"register","group_name":"g"})").error(),
            "missing field 'ip_port'");
  EXPECT_EQ(
      decode_registry_request(R"({"action":"register","group_name":"g","ip_port":5})").error(),
      "field 'ip_port' must be a string");
  EXPECT_EQ(decode_registry_request(
                R"({"action":"register","group_name":"g","ip_port":"h:1","heartbeat":"yes"})")
                .error(),
            "field 'heartbeat' must be true or false");
  EXPECT_EQ(decode_registry_request(R"({"action":"get_group_list","user_uuid":""})").error(),
            "field 'user_uuid' must not be empty");
  EXPECT_EQ(decode_registry_request("{").error().rfind("malformed JSON", 0), 0u);
}

TEST(RegistryProtocol, RegisterRepliesOfBothRegistries) {
  auto reference = decode_register_reply(kReferenceRegisterSuccess);
  EXPECT_TRUE(reference.accepted);
  EXPECT_TRUE(reference.reference);
  auto ours = decode_register_reply(registry_register_success(800, 4000));
  EXPECT_TRUE(ours.accepted);
  EXPECT_FALSE(ours.reference);
  EXPECT_EQ(ours.heartbeat_ms, 800);
  EXPECT_FALSE(decode_register_reply(registry_register_success(10, 4000)).heartbeat_ms);
  auto refused = decode_register_reply(registry_failed("name taken"));
  EXPECT_FALSE(refused.accepted);
  EXPECT_EQ(refused.error, "name taken");
  EXPECT_EQ(decode_register_reply("<html>").error, "unexpected reply: <html>");
}

TEST(RegistryProtocol, HeartbeatVerdicts) {
  EXPECT_EQ(decode_heartbeat_reply(registry_success()).verdict, HeartbeatVerdict::ok);
  EXPECT_EQ(decode_heartbeat_reply(registry_reregister("gone")).verdict,
            HeartbeatVerdict::reregister);
  auto refused = decode_heartbeat_reply(registry_failed("no"));
  EXPECT_EQ(refused.verdict, HeartbeatVerdict::refused);
  EXPECT_EQ(refused.error, "no");
  EXPECT_EQ(decode_heartbeat_reply("SUCCESS").verdict, HeartbeatVerdict::unreadable);
}

TEST(RegistryProtocol, GroupListAsAUserReadsIt) {
  auto list = decode_group_list(encode_group_list({"a - 127.0.0.1:1", "b - 127.0.0.1:2"}));
  ASSERT_EQ(list.kind, GroupListReply::Kind::list);
  EXPECT_EQ(list.groups, (std::vector<std::string>{"a - 127.0.0.1:1", "b - 127.0.0.1:2"}));
  EXPECT_EQ(decode_group_list("[1]").kind, GroupListReply::Kind::unreadable);
  EXPECT_EQ(decode_group_list("[1]").error, "a group list entry is not a string");
  auto refused = decode_group_list(registry_failed("busy"));
  EXPECT_EQ(refused.kind, GroupListReply::Kind::refused);
  EXPECT_EQ(refused.error, "busy");
  EXPECT_EQ(decode_group_list("x").error.rfind("not JSON: parse error", 0), 0u);
  EXPECT_EQ(decode_group_list("{}").error, "expected a JSON list of groups");
}

}  // namespace
}  // namespace gc
