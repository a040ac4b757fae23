#include "net/request_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>
#include <zmq_addon.hpp>

#include "net/curve.hpp"

namespace gc {
namespace {

// A CURVE ROUTER in a thread of its own that echoes every request; any key
// may connect (no ZAP handler), but only a client that expects its key gets
// through the handshake.
class CurveEcho {
 public:
  CurveEcho() {
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
  ~CurveEcho() {
    stop_ = true;
    thread_.join();
  }
  const std::string& address() const { return address_; }
  const std::string& key() const { return keys_.public_key; }

 private:
  void run() {
    while (!stop_) {
      zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(50));  // the stop flag is seen within 50 ms
      if (!(item.revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> frames;
      (void)zmq::recv_multipart(router_, std::back_inserter(frames));
      (void)zmq::send_multipart(router_, frames);
    }
  }

  CurveKeyPair keys_;
  zmq::context_t ctx_;
  zmq::socket_t router_{ctx_, zmq::socket_type::router};
  std::string address_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

CurveKeyPair fresh_keys() {
  auto keys = generate_key_pair();
  EXPECT_TRUE(keys) << keys.error();
  return *keys;
}

// A client whose handshake fails is closed with its socket monitor while
// libzmq still has events of that connection to report (its closing). libzmq
// sends those events with a blocking send: had the monitor's own end gone
// before the monitoring was stopped, the context's I/O thread would block on
// one of them for good, and no later connection of the context would even be
// attempted. Many failed handshakes in a row, then a request that must go
// through in the same context.
TEST(RequestClientTest, FailedHandshakesLeaveTheContextServing) {
  CurveEcho server;
  zmq::context_t ctx;
  const CurveKeyPair mine = fresh_keys();
  const std::string wrong = fresh_keys().public_key;
  constexpr int kFailures = 200;
  for (int i = 0; i < kFailures; ++i) {
    RequestOptions opts;
    opts.timeout_ms = 10000;  // a bound: the handshake fails at once
    opts.tries = 1;
    opts.curve = CurveClientKeys{mine, wrong};
    RequestClient client(ctx, server.address(), opts);
    auto r = client.request("ping");
    ASSERT_FALSE(r);
    ASSERT_EQ(client.last_failure(), RequestFailure::handshake)
        << "failure " << i << ": " << r.error();
  }
  RequestOptions opts;
  opts.timeout_ms = 10000;
  opts.tries = 1;
  opts.curve = CurveClientKeys{mine, server.key()};
  RequestClient client(ctx, server.address(), opts);
  auto r = client.request("ping");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, "ping");
}

}  // namespace
}  // namespace gc
