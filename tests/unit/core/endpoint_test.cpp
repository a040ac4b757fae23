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

namespace gc {
namespace {

TEST(EndpointTest, EverySpellingOfAnIpv4HostIsOneNumber) {
  for (const char* s : {"127.0.0.1", "0x7f000001", "127.1", "127.0.0.0001", "2130706433",
                        "0177.0.0.1", "localhost", "LOCALHOST", "LocalHost", "0X7F.0.1"}) {
    auto ip = parse_ipv4_host(s);
    ASSERT_TRUE(ip) << s;
    EXPECT_EQ(ipv4_text(*ip), "127.0.0.1") << s;
  }
  EXPECT_EQ(ipv4_text(*parse_ipv4_host("10.1.2.3")), "10.1.2.3");
  for (const char* s : {"", "example.com", "local-host", "localhost.", "1.2.3.4.5", "256.1.1.1",
                        "0x1g", "*", "127.0.0.1 x"})
    EXPECT_FALSE(parse_ipv4_host(s)) << s;
}

TEST(EndpointTest, PeerAddressesAreReadExactly) {
  EXPECT_EQ(parse_ipv4_peer("10.0.0.7"), 0x0a000007u);
  EXPECT_EQ(parse_ipv4_peer("::ffff:127.0.0.9"), 0x7f000009u);
  for (const char* s : {"", "127.1", "0x7f000001", "::1", "localhost", "10.0.0.7:5"})
    EXPECT_FALSE(parse_ipv4_peer(s)) << s;
  EXPECT_TRUE(is_loopback_ipv4(0x7f0a0b0c));
  EXPECT_FALSE(is_loopback_ipv4(0x0a000001));
}

TEST(EndpointTest, ResolvesEverySpellingOfAnIpv4AddressWithoutAResolver) {
  auto a = resolve_ipv4_host("127.1");
  ASSERT_TRUE(a) << a.error();
  EXPECT_EQ(*a, 0x7f000001u);
  auto b = resolved_address(Endpoint{"LocalHost", 5560});
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(*b, "127.0.0.1:5560");
}

TEST(EndpointTest, ANameThatDoesNotResolveSaysSo) {
  // ".invalid" is reserved never to resolve (RFC 6761).
  auto a = resolve_ipv4_host("nohost.invalid");
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find("'nohost.invalid' does not resolve"), std::string::npos) << a.error();
  auto b = resolved_address(Endpoint{"nohost.invalid", 5560});
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().find("does not resolve"), std::string::npos) << b.error();
  EXPECT_FALSE(resolve_ipv4_host("*"));
  EXPECT_FALSE(resolve_ipv4_host(""));
  for (const char* s : {"INVALID", "x.y.Invalid.", "invalid."}) {
    auto r = resolve_ipv4_host(s);
    ASSERT_FALSE(r) << s;
    EXPECT_NE(r.error().find("does not resolve (no such host)"), std::string::npos) << r.error();
  }
}

// With a bound, a lookup runs in a thread of its own; names the hosts file
// knows answer as without one, and a second lookup of the same name after the
// first has ended starts afresh. (A name service that does not answer is
// tested with the real client in tests/integration/test_dns.py.)
TEST(EndpointTest, BoundedLookupsAnswerAsUnbounded) {
  set_resolve_timeout_ms(5000);
  for (int i = 0; i < 3; ++i) {
    auto a = resolve_ipv4_host("localhost");
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(ipv4_text(*a), "127.0.0.1");
  }
  auto n = resolve_ipv4_host("nohost.invalid");
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().find("does not resolve"), std::string::npos) << n.error();
  EXPECT_EQ(ipv4_text(*resolve_ipv4_host("10.1.2.3")), "10.1.2.3");
  set_resolve_timeout_ms(0);
  auto b = resolve_ipv4_host("localhost");
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(ipv4_text(*b), "127.0.0.1");
}

}  // namespace
}  // namespace gc
