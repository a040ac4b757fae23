#include "core/endpoint.hpp"

#include <gtest/gtest.h>

namespace gc {
namespace {

TEST(EndpointTest, ParsesIpPortAndTcpPrefix) {
  auto a = parse_endpoint("127.0.0.1:5560");
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 5560);
  EXPECT_EQ(a->zmq(), "tcp://127.0.0.1:5560");
  auto b = parse_endpoint("tcp://localhost:5555");
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(b->ip_port(), "localhost:5555");
  EXPECT_TRUE(parse_endpoint("*:5555"));
}

TEST(EndpointTest, RejectsBadAddressesWithAReason) {
  for (const char* bad : {"", "5560", "host:", ":5560", "host:0", "host:65536", "host:12ab",
                          "ho st:5560", "host:123456"}) {
    auto r = parse_endpoint(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().find("bad address"), std::string::npos) << r.error();
    }
  }
}

}  // namespace
}  // namespace gc
