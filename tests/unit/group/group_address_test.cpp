#include "group/group_address.hpp"

#include <gtest/gtest.h>

#include <map>

namespace gc {
namespace {

// Names as a resolver would answer them, without a DNS server.
Resolver fake_dns(std::map<std::string, uint32_t> names) {
  return [names = std::move(names)](const std::string& host) -> Result<uint32_t> {
    auto it = names.find(host);
    if (it == names.end()) return Result<uint32_t>::error("Name or service not known");
    return it->second;
  };
}

const Resolver kNoDns = fake_dns({});

TEST(GroupAddressTest, AdvertisesWhatIsBoundByDefault) {
  auto a = plan_group_addresses("10.0.0.7:6001", "", kNoDns);
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->bind.zmq(), "tcp://10.0.0.7:6001");
  EXPECT_EQ(a->advertise.ip_port(), "10.0.0.7:6001");
  EXPECT_TRUE(a->bind_note.empty());
}

TEST(GroupAddressTest, ResolvesAHostNameBeforeBindingAndRegistersTheNumber) {
  auto a = plan_group_addresses("h3:6003", "", fake_dns({{"h3", 0x0a000003}}));
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->bind.zmq(), "tcp://10.0.0.3:6003");
  EXPECT_EQ(a->advertise.ip_port(), "10.0.0.3:6003");
  EXPECT_EQ(a->bind_note, "h3 is 10.0.0.3");
  auto local = plan_group_addresses("localhost:6003", "", kNoDns);
  ASSERT_TRUE(local) << local.error();
  EXPECT_EQ(local->bind.zmq(), "tcp://127.0.0.1:6003");
}

TEST(GroupAddressTest, AnUnknownHostNameIsAnErrorNamingIt) {
  auto a = plan_group_addresses("nowhere:6003", "", kNoDns);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find("cannot resolve host 'nowhere'"), std::string::npos) << a.error();
  auto b = plan_group_addresses("10.0.0.7:6003", "nowhere:6003", kNoDns);
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find("--advertise: cannot resolve host 'nowhere'"), std::string::npos)
      << b.error();
}

TEST(GroupAddressTest, AWildcardIsBoundOnlyWithAnAdvertisedAddress) {
  for (const char* wild : {"0.0.0.0:6001", "*:6001", "0:6001"}) {
    auto refused = plan_group_addresses(wild, "", kNoDns);
    ASSERT_FALSE(refused) << wild;
    EXPECT_NE(refused.error().find("--advertise HOST:PORT"), std::string::npos) << refused.error();
  }
  auto a = plan_group_addresses("0.0.0.0:6001", "h1:7001", fake_dns({{"h1", 0xc0000207}}));
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->bind.zmq(), "tcp://0.0.0.0:6001");
  EXPECT_EQ(a->advertise.ip_port(), "192.0.2.7:7001");
  auto star = plan_group_addresses("*:6001", "192.0.2.7:6001", kNoDns);
  ASSERT_TRUE(star) << star.error();
  EXPECT_EQ(star->bind.zmq(), "tcp://*:6001");
}

TEST(GroupAddressTest, AWildcardIsNeverAdvertised) {
  for (const char* wild : {"0.0.0.0:6001", "*:6001", "0.1.2.3:6001"}) {
    auto a = plan_group_addresses("10.0.0.7:6001", wild, kNoDns);
    ASSERT_FALSE(a) << wild;
    EXPECT_NE(a.error().find("cannot connect to a wildcard address"), std::string::npos)
        << a.error();
  }
  auto named = plan_group_addresses("10.0.0.7:6001", "any:6001", fake_dns({{"any", 0}}));
  EXPECT_FALSE(named);
}

TEST(GroupAddressTest, BadTextIsRefusedWithTheParsersReason) {
  EXPECT_FALSE(plan_group_addresses("10.0.0.7", "", kNoDns));
  auto a = plan_group_addresses("10.0.0.7:6001", "10.0.0.7:0", kNoDns);
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find("--advertise: bad address"), std::string::npos) << a.error();
}

TEST(GroupAddressTest, WarnsOfLoopbackOnlyToARegistryElsewhere) {
  constexpr uint32_t kLoop = 0x7f000001, kLoop2 = 0x7f000102, kLan = 0x0a000007;
  EXPECT_TRUE(loopback_advertised_to_remote(kLoop, kLan));
  EXPECT_TRUE(loopback_advertised_to_remote(kLoop2, kLan));
  EXPECT_FALSE(loopback_advertised_to_remote(kLoop, kLoop));
  EXPECT_FALSE(loopback_advertised_to_remote(kLoop, kLoop2));
  EXPECT_FALSE(loopback_advertised_to_remote(kLan, kLan));
  EXPECT_FALSE(loopback_advertised_to_remote(kLan, kLoop));
  EXPECT_FALSE(loopback_advertised_to_remote(kLoop, std::nullopt));
}

}  // namespace
}  // namespace gc
