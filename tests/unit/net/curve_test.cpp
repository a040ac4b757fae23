#include "net/curve.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "net/backlog.hpp"
#include "net/connections.hpp"
#include "net/router.hpp"

namespace gc {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
  char tmpl[] = "/tmp/gc_curve_test_XXXXXX";
  const char* made = ::mkdtemp(tmpl);
  EXPECT_NE(made, nullptr);
  return made ? fs::path(made) : fs::path("/tmp");
}

TEST(CurveKeys, AKeyPairIsTwoZ85KeysAndPublicKeysAreChecked) {
  auto keys = generate_key_pair();
  ASSERT_TRUE(keys) << keys.error();
  EXPECT_TRUE(is_z85_key(keys->public_key));
  EXPECT_TRUE(is_z85_key(keys->secret_key));
  EXPECT_NE(keys->public_key, keys->secret_key);
  auto parsed = parse_public_key("  " + keys->public_key + "\n", "--server-key");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(*parsed, keys->public_key);
  EXPECT_FALSE(parse_public_key("", "--server-key"));
  EXPECT_FALSE(parse_public_key(keys->public_key.substr(1), "--server-key"));
  auto bad = parse_public_key(std::string(40, ' ') + std::string(40, '~'), "--server-key");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("--server-key"), std::string::npos);
  EXPECT_FALSE(is_z85_key(std::string(39, 'a') + '"'));  // '"' is not in the alphabet
}

TEST(CurveKeys, AKeyFileIsCreatedOwnerOnlyAndReadBackTheSame) {
  const fs::path dir = temp_dir();
  const fs::path file = dir / "sub" / "key";
  bool created = false;
  auto made = load_or_create_key_file(file, &created);
  ASSERT_TRUE(made) << made.error();
  EXPECT_TRUE(created);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = load_or_create_key_file(file, &created);
  ASSERT_TRUE(again) << again.error();
  EXPECT_FALSE(created);
  EXPECT_EQ(again->public_key, made->public_key);
  EXPECT_EQ(again->secret_key, made->secret_key);
  // Nothing but the file is left behind.
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir / "sub")) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1u);
  fs::remove_all(dir);
}

TEST(CurveKeys, AKeyFileOthersMayReadOrThatIsDamagedIsRefused) {
  const fs::path dir = temp_dir();
  const fs::path file = dir / "key";
  ASSERT_TRUE(load_or_create_key_file(file));
  ::chmod(file.c_str(), 0644);
  auto loose = load_key_file(file);
  ASSERT_FALSE(loose);
  EXPECT_NE(loose.error().find("chmod 600"), std::string::npos) << loose.error();

  ::chmod(file.c_str(), 0600);
  auto mine = load_key_file(file);
  ASSERT_TRUE(mine) << mine.error();
  auto other = generate_key_pair();
  ASSERT_TRUE(other);
  const fs::path mixed = dir / "mixed";
  {
    std::ofstream out(mixed);
    out << "# two halves of different pairs\npublic-key = " << other->public_key
        << "\nsecret-key = " << mine->secret_key << "\n";
  }
  ::chmod(mixed.c_str(), 0600);
  auto m = load_key_file(mixed);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().find("not the secret-key's"), std::string::npos) << m.error();

  const fs::path junk = dir / "junk";
  {
    std::ofstream out(junk);
    out << "secret-key = not a key\n";
  }
  ::chmod(junk.c_str(), 0600);
  EXPECT_FALSE(load_key_file(junk));
  EXPECT_FALSE(load_key_file(dir / "missing"));
  fs::remove_all(dir);
}

// A CURVE ROUTER with a ZAP handler, and clients: the allowed key is served
// and named by User-Id, a refused key and a client expecting another server
// key get nothing, and a NULL client gets nothing.
class CurveLink : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = generate_key_pair();
    auto a = generate_key_pair();
    auto r = generate_key_pair();
    ASSERT_TRUE(s && a && r);
    server_keys = *s;
    allowed = *a;
    refused = *r;
    zap = std::make_unique<ZapHandler>(ctx, [this](std::string_view key, std::string_view) {
      return key == refused.public_key ? std::optional<std::string>("not a member") : std::nullopt;
    });
    router = zmq::socket_t(ctx, zmq::socket_type::router);
    make_curve_server(router, server_keys);
    router.bind("tcp://127.0.0.1:*");
    endpoint = router.get(zmq::sockopt::last_endpoint);
  }

  // Serves the ZAP handler and the router until a request arrives or ms pass.
  std::optional<RoutedRequest> serve(int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      zmq::pollitem_t items[] = {{zap->socket().handle(), 0, ZMQ_POLLIN, 0},
                                 {router.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 2, std::chrono::milliseconds(20));
      if (items[0].revents & ZMQ_POLLIN) zap->on_readable();
      if (items[1].revents & ZMQ_POLLIN) {
        RoutedRequest req;
        if (receive_routed(router, req, 1 << 20, true)) return req;
      }
    }
    return std::nullopt;
  }

  zmq::socket_t client(const CurveKeyPair* mine, const std::string& server_key) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    if (mine) make_curve_client(s, *mine, server_key);
    s.connect(endpoint);
    return s;
  }

  zmq::context_t ctx;
  CurveKeyPair server_keys, allowed, refused;
  std::unique_ptr<ZapHandler> zap;
  zmq::socket_t router;
  std::string endpoint;
};

TEST_F(CurveLink, AnAllowedKeyIsServedAndNamedByItsKey) {
  auto c = client(&allowed, server_keys.public_key);
  c.send(zmq::str_buffer("hello"), zmq::send_flags::none);
  auto req = serve(5000);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->body, "hello");
  EXPECT_EQ(req->user_id, allowed.public_key);
  EXPECT_EQ(zap->allowed(), 1u);
}

TEST_F(CurveLink, RefusedKeysWrongServerKeysAndNullClientsGetNothing) {
  auto r = client(&refused, server_keys.public_key);
  r.send(zmq::str_buffer("from refused"), zmq::send_flags::none);
  auto other = generate_key_pair();
  ASSERT_TRUE(other);
  auto w = client(&allowed, other->public_key);  // expects another server
  w.send(zmq::str_buffer("to the wrong server"), zmq::send_flags::none);
  auto n = client(nullptr, "");
  n.send(zmq::str_buffer("plain"), zmq::send_flags::none);
  // Then a good client: its request is the only one to arrive.
  auto serve_until_refused = serve(1500);
  EXPECT_FALSE(serve_until_refused) << serve_until_refused->body;
  EXPECT_GE(zap->refused(), 1u);
  auto c = client(&allowed, server_keys.public_key);
  c.send(zmq::str_buffer("good"), zmq::send_flags::none);
  auto req = serve(5000);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->body, "good");
}

TEST_F(CurveLink, WireBytesCountedForCurveFramesNeverExceedWhatTheKernelReceived) {
  auto c = client(&allowed, server_keys.public_key);
  const size_t sizes[] = {1, 100, 221, 222, 223, 255, 256, 1000, 70000};
  uint64_t credited = 0;
  int fd = -1;
  for (int round = 0; round < 20; ++round) {
    for (size_t size : sizes) {
      std::string body(size, 'x');
      c.send(zmq::buffer(body), zmq::send_flags::none);
      auto req = serve(5000);
      ASSERT_TRUE(req);
      ASSERT_EQ(req->body.size(), size);
      credited += req->wire_bytes;
      fd = req->source_fd;
    }
  }
  auto read = bytes_read_from(fd);
  ASSERT_TRUE(read);
  // What was read is the credited frames plus the handshake (a few hundred
  // bytes), whatever the number of messages: the count is exact per frame.
  EXPECT_GE(*read, credited);
  EXPECT_LT(*read - credited, 2048u) << "read " << *read << " credited " << credited;
}

}  // namespace
}  // namespace gc
