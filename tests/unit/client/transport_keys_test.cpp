// How ZmqTransport decides to reach each server: the registry with its key,
// a group with --group-key or with what a curve registry's list_groups says
// (asked once per address not known yet), else open; and never list_groups
// to a registry reached open.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <zmq_addon.hpp>

#include "client/chat_client.hpp"
#include "client/group_names.hpp"
#include "core/clock.hpp"
#include "net/curve.hpp"
#include "protocol/registry_protocol.hpp"

namespace gc {
namespace {

// A curve registry in a thread: every key may connect; list_groups is
// answered with `groups`, anything else FAILED. Counts list_groups.
class ListingRegistry {
 public:
  explicit ListingRegistry(std::vector<GroupEntry> groups) : groups_(std::move(groups)) {
    auto keys = generate_key_pair();
    EXPECT_TRUE(keys) << keys.error();
    keys_ = *keys;
    router_.set(zmq::sockopt::linger, 0);
    make_curve_server(router_, keys_);
    router_.bind("tcp://127.0.0.1:*");
    const std::string endpoint = router_.get(zmq::sockopt::last_endpoint);
    address_ = endpoint.substr(endpoint.find("//") + 2);
    thread_ = std::thread([this] { run(); });
  }
  ~ListingRegistry() {
    stop_ = true;
    thread_.join();
  }
  const std::string& address() const { return address_; }
  const std::string& key() const { return keys_.public_key; }
  int list_requests() const { return list_requests_; }

 private:
  void run() {
    while (!stop_) {
      zmq::pollitem_t items[] = {{zap_.socket().handle(), 0, ZMQ_POLLIN, 0},
                                 {router_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, std::chrono::milliseconds(50));  // the stop flag is seen within 50 ms
      if (items[0].revents & ZMQ_POLLIN) zap_.on_readable();
      if (!(items[1].revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> frames;
      (void)zmq::recv_multipart(router_, std::back_inserter(frames));
      const std::string body = frames.back().to_string();
      std::string reply = registry_failed("unknown action");
      if (body.find("\"list_groups\"") != std::string::npos) {
        ++list_requests_;
        reply = encode_group_entries(groups_);
      }
      frames.back() = zmq::message_t(reply);
      (void)zmq::send_multipart(router_, frames);
    }
  }

  std::vector<GroupEntry> groups_;
  CurveKeyPair keys_;
  zmq::context_t ctx_;
  ZapHandler zap_{ctx_, nullptr};  // bound before the router binds
  zmq::socket_t router_{ctx_, zmq::socket_type::router};
  std::string address_;
  std::atomic<bool> stop_{false};
  std::atomic<int> list_requests_{0};
  std::thread thread_;
};

CurveKeyPair my_keys() {
  auto keys = generate_key_pair();
  EXPECT_TRUE(keys) << keys.error();
  return *keys;
}

TEST(TransportKeysTest, GroupsAreReachedAsACurveRegistryListsThemAskingOncePerUnknownAddress) {
  const std::string curve_group_key = my_keys().public_key;
  ListingRegistry registry({{"secret", "127.0.0.1:6001", true, curve_group_key},
                            {"plain", "127.0.0.1:6002", false, ""}});
  const CurveKeyPair mine = my_keys();
  ZmqTransport transport(1000, 1);
  TransportSecurity sec;
  sec.registry = registry.address();
  sec.registry_key = registry.key();
  sec.registry_key_source = KeySource::given("--server-key");
  sec.my_keys = [mine] { return Result<CurveKeyPair>(mine); };
  int proved = 0;
  sec.on_registry_proved = [&proved] { ++proved; };
  transport.secure(sec);
  EXPECT_TRUE(transport.registry_is_curve());

  auto secret = transport.route("localhost:6001");  // any spelling of the listed address
  ASSERT_TRUE(secret) << secret.error();
  ASSERT_TRUE(secret->curve.has_value());
  EXPECT_EQ(secret->curve->server_public_key, curve_group_key);
  EXPECT_EQ(secret->curve->mine.public_key, mine.public_key);
  EXPECT_EQ(registry.list_requests(), 1);
  EXPECT_EQ(proved, 1);  // the registry answered over CURVE: its key is proved

  // Known now: no more questions, for either group of the list.
  ASSERT_TRUE(transport.route("127.0.0.1:6001"));
  auto plain = transport.route("127.0.0.1:6002");
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_FALSE(plain->curve.has_value());
  EXPECT_EQ(registry.list_requests(), 1);

  // Not listed: asked again (it may have registered since), then open.
  auto unlisted = transport.route("127.0.0.1:6003");
  ASSERT_TRUE(unlisted) << unlisted.error();
  EXPECT_FALSE(unlisted->curve.has_value());
  EXPECT_EQ(registry.list_requests(), 2);
  EXPECT_EQ(proved, 1);

  // The registry itself is reached with its own key.
  auto self = transport.route(registry.address());
  ASSERT_TRUE(self) << self.error();
  ASSERT_TRUE(self->curve.has_value());
  EXPECT_EQ(self->curve->server_public_key, registry.key());
}

TEST(TransportKeysTest, AGroupFoundByNameIsReachedWithoutAskingTheRegistryAgain) {
  const std::string curve_group_key = my_keys().public_key;
  ListingRegistry registry({{"secret", "127.0.0.1:6001", true, curve_group_key}});
  const CurveKeyPair mine = my_keys();
  ZmqTransport transport(1000, 1);
  TransportSecurity sec;
  sec.registry = registry.address();
  sec.registry_key = registry.key();
  sec.registry_key_source = KeySource::given("--server-key");
  sec.my_keys = [mine] { return Result<CurveKeyPair>(mine); };
  transport.secure(sec);

  GroupTarget t = find_group(transport, registry.address(), "secret");
  ASSERT_TRUE(t.ok()) << t.error;
  EXPECT_EQ(t.address, "127.0.0.1:6001");
  EXPECT_EQ(registry.list_requests(), 1);
  auto route = transport.route(t.address);  // the list just fetched says how
  ASSERT_TRUE(route) << route.error();
  ASSERT_TRUE(route->curve.has_value());
  EXPECT_EQ(route->curve->server_public_key, curve_group_key);
  EXPECT_EQ(registry.list_requests(), 1);
}

TEST(TransportKeysTest, AGroupKeyGivenIsUsedWithoutAskingAndAnOpenRegistryIsNeverAsked) {
  ListingRegistry registry({});
  const CurveKeyPair mine = my_keys();
  const std::string group_key = my_keys().public_key;
  ZmqTransport transport(500, 1);
  TransportSecurity sec;
  sec.registry = registry.address();  // no registry_key: reached open
  sec.group_keys["127.0.0.1:6001"] = group_key;
  sec.my_keys = [mine] { return Result<CurveKeyPair>(mine); };
  transport.secure(sec);
  EXPECT_FALSE(transport.registry_is_curve());

  auto given = transport.route("127.0.0.1:6001");
  ASSERT_TRUE(given) << given.error();
  ASSERT_TRUE(given->curve.has_value());
  EXPECT_EQ(given->curve->server_public_key, group_key);
  EXPECT_TRUE(given->key_source.is(KeySource::Kind::group_key));
  EXPECT_EQ(given->key_source.text(), "--group-key");
  auto other = transport.route("127.0.0.1:6002");
  ASSERT_TRUE(other) << other.error();
  EXPECT_FALSE(other->curve.has_value());
  EXPECT_EQ(registry.list_requests(), 0);
}

TEST(TransportKeysTest, ARegistryThatDoesNotProveItsKeyIsNamedAsSuch) {
  ListingRegistry registry({});
  const CurveKeyPair mine = my_keys();
  const std::string wrong = my_keys().public_key;
  ZmqTransport transport(1000, 2);
  TransportSecurity sec;
  sec.registry = registry.address();
  sec.registry_key = wrong;
  sec.registry_key_source = KeySource::of(KeySource::Kind::known_registries);
  sec.known_registries = "/home/u/.config/groupchat/known_registries";
  sec.my_keys = [mine] { return Result<CurveKeyPair>(mine); };
  bool proved = false;
  sec.on_registry_proved = [&proved] { proved = true; };
  transport.secure(sec);

  auto r = transport.request(registry.address(), make_list_groups_request(), "message_server");
  ASSERT_FALSE(r);
  EXPECT_TRUE(transport.last_failure_was_security());
  EXPECT_NE(r.error().find("the registry at " + registry.address() +
                           " did not prove it holds the key " + wrong),
            std::string::npos)
      << r.error();
  EXPECT_NE(r.error().find(sec.known_registries.string()), std::string::npos) << r.error();
  EXPECT_FALSE(proved);
  // A group's route cannot be learnt from it either; the reason is kept.
  auto route = transport.route("127.0.0.1:6001");
  ASSERT_FALSE(route);
  EXPECT_NE(route.error().find("did not prove it holds the key"), std::string::npos)
      << route.error();
  EXPECT_EQ(registry.list_requests(), 0);
}

// A server that takes every request and never answers: capped waits end at
// the cap, not at the command's budget, and the cap can be lifted.
TEST(TransportWaitsTest, ACappedWaitEndsAtTheCapNotAtTheBudget) {
  zmq::context_t ctx;
  zmq::socket_t silent(ctx, zmq::socket_type::router);
  silent.set(zmq::sockopt::linger, 0);
  silent.bind("tcp://127.0.0.1:*");
  const std::string endpoint = silent.get(zmq::sockopt::last_endpoint);
  const std::string address = endpoint.substr(endpoint.find("//") + 2);
  ZmqTransport transport(/*timeout_ms=*/20000, /*tries=*/3);
  transport.cap_waits(200);
  const int64_t start = mono_ms();
  auto r = transport.request(address, R"({"action":"get_group_list"})", "message_server");
  const int64_t took = mono_ms() - start;
  EXPECT_FALSE(r);
  // Far below the 20 s budget: the cap ended it (the bound only catches a wait
  // that ignored the cap).
  EXPECT_LT(took, 10000);
  EXPECT_GE(took, 150);
  transport.cap_waits(std::nullopt);
  transport.cap_waits(100);
  const int64_t again = mono_ms();
  EXPECT_FALSE(transport.request(address, R"({"action":"get_group_list"})", "message_server"));
  EXPECT_LT(mono_ms() - again, 10000);
}

}  // namespace
}  // namespace gc
