// One group under every spelling of its address.
#include <gtest/gtest.h>
#include <unistd.h>

#include "client/chat_client.hpp"
#include "core/endpoint.hpp"

namespace gc {
namespace {

TEST(CanonicalGroupAddressTest, EverySpellingOfOneAddressIsOneKey) {
  const std::string want = "127.0.0.1:5560";
  EXPECT_EQ(canonical_group_address("127.0.0.1:5560"), want);
  EXPECT_EQ(canonical_group_address("localhost:5560"), want);
  EXPECT_EQ(canonical_group_address("LOCALHOST:5560"), want);
  EXPECT_EQ(canonical_group_address("tcp://127.1:5560"), want);
  EXPECT_EQ(canonical_group_address("127.0.0.0001:5560"), want);
  EXPECT_NE(canonical_group_address("127.0.0.1:5561"), want);
  EXPECT_NE(canonical_group_address("127.0.0.2:5560"), want);
}

TEST(CanonicalGroupAddressTest, ANameThatDoesNotResolveStaysAsWritten) {
  EXPECT_EQ(canonical_group_address("nohost.invalid:5560"), "nohost.invalid:5560");
  EXPECT_EQ(canonical_group_address("tcp://nohost.invalid:5560"), "nohost.invalid:5560");
  EXPECT_EQ(canonical_group_address("not an address"), "not an address");
}

TEST(CanonicalGroupAddressTest, ANameIsResolvedToItsAddress) {
  // "localhost" is read without a resolver; this host's own name goes to
  // the resolver (/etc/hosts), and keys the group by the address it gives.
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof name - 1), 0);
  auto mine = resolved_address(Endpoint{name, 5560});
  if (!mine) GTEST_SKIP() << "this host's name does not resolve here: " << mine.error();
  EXPECT_EQ(canonical_group_address(std::string(name) + ":5560"), *mine);
  EXPECT_EQ(canonical_group_address(*mine), *mine);
}

}  // namespace
}  // namespace gc
