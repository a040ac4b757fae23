#include <gtest/gtest.h>

#include "protocol/registry_protocol.hpp"

namespace gc {
namespace {

const std::string kKey = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";

TEST(ListGroups, EntriesRoundTripAndTheRequestDecodes) {
  std::vector<GroupEntry> groups = {{"lobby", "127.0.0.1:5560", true, kKey},
                                    {"open one", "10.0.0.2:6000", false, {}}};
  const std::string body = encode_group_entries(groups);
  auto reply = decode_group_entries(body);
  ASSERT_EQ(reply.kind, GroupEntriesReply::Kind::list) << reply.error;
  EXPECT_EQ(reply.groups, groups);
  EXPECT_NE(body.find(R"("public_key":null)"), std::string::npos) << body;
  auto req = decode_registry_request(make_list_groups_request());
  ASSERT_TRUE(req) << req.error();
  EXPECT_EQ(req->action, RegistryAction::list_groups);
}

TEST(ListGroups, ACurveRegistrationSaysSoAndBadSecurityIsRefused) {
  auto req = decode_registry_request(
      make_registry_request(RegistryAction::register_group, "g", "127.0.0.1:5560", true, true));
  ASSERT_TRUE(req) << req.error();
  EXPECT_TRUE(req->curve);
  auto open = decode_registry_request(
      make_registry_request(RegistryAction::register_group, "g", "127.0.0.1:5560", true));
  ASSERT_TRUE(open);
  EXPECT_FALSE(open->curve);
  auto bad = decode_registry_request(
      R"({"action":"register","group_name":"g","ip_port":"127.0.0.1:5560","security":"tls"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), R"(field 'security' must be "open" or "curve")");
}

TEST(ListGroups, MalformedEntriesMakeTheWholeReplyUnreadable) {
  for (
      const char* body : {
          R"({"response":"SUCCESS","groups":[{"name":"a","address":"1.2.3.4:5","security":"curve"}]})",
          R"({"response":"SUCCESS","groups":[{"name":"a","address":"1.2.3.4:5","security":"tls"}]})",
          R"({"response":"SUCCESS","groups":[{"name":1,"address":"1.2.3.4:5","security":"open"}]})",
          R"({"response":"SUCCESS","groups":[7]})",
          R"({"response":"SUCCESS"})",
          R"(["a - 1.2.3.4:5"])",
          R"(not json)",
      }) {
    auto reply = decode_group_entries(body);
    EXPECT_EQ(reply.kind, GroupEntriesReply::Kind::unreadable) << body;
    EXPECT_TRUE(reply.groups.empty()) << body;
    EXPECT_FALSE(reply.error.empty()) << body;
  }
  auto refused = decode_group_entries(R"({"response":"FAILED","error":"no\u001b[31m"})");
  EXPECT_EQ(refused.kind, GroupEntriesReply::Kind::refused);
  EXPECT_EQ(refused.error.find('\x1b'), std::string::npos);
}

}  // namespace
}  // namespace gc
