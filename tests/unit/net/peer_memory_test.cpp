// The byte accounting of what a server holds for its peers, and the
// connection counter: the parts that need no socket.
#include "net/peer_memory.hpp"

#include <gtest/gtest.h>

#include "net/connections.hpp"

namespace gc {
namespace {

TEST(PeerMemoryTest, AMessageIsChargedUntilLibzmqFreesIt) {
  auto total = std::make_shared<QueuedTotal>();
  auto a = std::make_shared<PeerAccount>(total);
  auto b = std::make_shared<PeerAccount>(total);
  {
    zmq::message_t m1 = accounted_message("hello", queued_charge(5, 5, 2), a);
    EXPECT_EQ(m1.to_string(), "hello");
    EXPECT_EQ(a->queued_now(), 5 + 5 + 2 * 64);
    {
      zmq::message_t m2 = accounted_message(std::string(1000, 'x'), 1000, b);
      EXPECT_EQ(b->queued_now(), 1000);
      EXPECT_EQ(total->bytes.load(), 5 + 5 + 2 * 64 + 1000);
    }
    EXPECT_EQ(b->queued_now(), 0);
  }
  EXPECT_EQ(a->queued_now(), 0);
  EXPECT_EQ(total->bytes.load(), 0);
}

TEST(PeerMemoryTest, TheAccountOutlivesItsPeerWhileAMessageHoldsIt) {
  auto total = std::make_shared<QueuedTotal>();
  zmq::message_t m;
  {
    auto a = std::make_shared<PeerAccount>(total);
    m = accounted_message("x", 100, a);
  }
  EXPECT_EQ(total->bytes.load(), 100);
  m = zmq::message_t();
  EXPECT_EQ(total->bytes.load(), 0);
}

TEST(PeerMemoryTest, ASharedBodyIsChargedOnceAndEachFollowerByItsMarker) {
  auto total = std::make_shared<QueuedTotal>();
  auto a = std::make_shared<PeerAccount>(total);
  auto b = std::make_shared<PeerAccount>(total);
  zmq::message_t body = shared_message("push", 4 + 64, total);
  EXPECT_EQ(total->bytes.load(), 68);
  zmq::message_t copy_a, copy_b;
  copy_a.copy(body);
  copy_b.copy(body);
  EXPECT_EQ(copy_b.to_string(), "push");
  EXPECT_EQ(copy_b.data(), body.data());  // one buffer, not three
  zmq::message_t marker_a = accounted_marker(200, 130, a);
  zmq::message_t marker_b = accounted_marker(200, 130, b);
  EXPECT_EQ(marker_a.size(), 0u);
  EXPECT_EQ(a->queued_now(), 200);
  EXPECT_EQ(total->bytes.load(), 68 + 2 * 130);
  // A follower's queue drains when its marker is freed, whoever holds the body.
  marker_a = zmq::message_t();
  copy_a = zmq::message_t();
  EXPECT_EQ(a->queued_now(), 0);
  EXPECT_EQ(b->queued_now(), 200);
  EXPECT_EQ(total->bytes.load(), 68 + 130);
  body = zmq::message_t();
  EXPECT_EQ(total->bytes.load(), 68 + 130);  // copy_b still holds the body
  copy_b = zmq::message_t();
  marker_b = zmq::message_t();
  EXPECT_EQ(total->bytes.load(), 0);
  EXPECT_EQ(b->queued_now(), 0);
}

TEST(PeerMemoryTest, DefaultLimitsFollowTheBudget) {
  auto m = MemoryLimits::for_budget(size_t{256} << 20, 128 * 1024);
  EXPECT_EQ(m.peer_share_bytes, size_t{16} << 20);
  EXPECT_EQ(m.peer_parked_bytes, size_t{4} << 20);
  auto small = MemoryLimits::for_budget(size_t{8} << 20, 128 * 1024);
  EXPECT_EQ(small.peer_share_bytes, size_t{1} << 20);
  EXPECT_EQ(small.peer_parked_bytes, 256u * 1024);
}

TEST(PeerMemoryTest, PolicyParksOverTheShareAndTheBudget) {
  MemoryLimits l;
  l.budget_bytes = 1000;
  l.peer_share_bytes = 100;
  l.peer_parked_bytes = 50;
  l.follower_queue_bytes = 30;
  MemoryPolicy p(l);
  EXPECT_TRUE(p.may_serve(0, 5000, 0));  // nothing queued: always one reply
  EXPECT_TRUE(p.may_serve(99, 500, 0));
  EXPECT_FALSE(p.may_serve(100, 500, 0));   // over its share
  EXPECT_FALSE(p.may_serve(10, 900, 100));  // the server is over budget
  EXPECT_TRUE(p.may_park(0, 0, 50));
  EXPECT_FALSE(p.may_park(40, 0, 11));
  EXPECT_FALSE(p.may_park(0, 240, 11));  // all parked requests: a quarter of the budget
  EXPECT_TRUE(p.may_push(0, 30, 0, 30));
  EXPECT_FALSE(p.may_push(1, 30, 0, 30));
  EXPECT_FALSE(p.may_push(0, 20, 990, 20));
  // A shared body charges the total less than the follower.
  EXPECT_TRUE(p.may_push(0, 30, 990, 5));
}

TEST(PeerMemoryTest, TrimOnlyAfterADropAndNotTooOften) {
  TrimAfterDrop t;
  const int64_t mib = int64_t{1} << 20;
  EXPECT_FALSE(t.maybe_trim(100 * mib, 5000));
  EXPECT_FALSE(t.pending(100 * mib));
  EXPECT_FALSE(t.maybe_trim(100 * mib - mib / 2, 5000));  // dropped half a MiB only
  EXPECT_TRUE(t.pending(90 * mib));
  EXPECT_TRUE(t.maybe_trim(90 * mib, 5000));
  EXPECT_FALSE(t.pending(90 * mib));
  EXPECT_FALSE(t.maybe_trim(100 * mib, 5100));
  // The rest given up within the second: still due, trimmed a second later.
  EXPECT_FALSE(t.maybe_trim(0, 5500));
  EXPECT_TRUE(t.pending(0));
  EXPECT_TRUE(t.maybe_trim(0, 6000));
  EXPECT_FALSE(t.pending(0));
}

TEST(ConnectionCounterTest, CapsPerAddressAndInAll) {
  ConnectionCounter c(ConnectionLimits{3, 2});
  EXPECT_FALSE(c.on_accepted(10, "a"));
  EXPECT_FALSE(c.on_accepted(11, "a"));
  auto over = c.on_accepted(12, "a");
  ASSERT_TRUE(over);
  EXPECT_EQ(*over, "the limit of 2 connections per address");
  EXPECT_FALSE(c.on_accepted(13, "b"));
  over = c.on_accepted(14, "c");
  ASSERT_TRUE(over);
  EXPECT_EQ(*over, "the limit of 3 connections");
  EXPECT_EQ(c.total(), 3u);
  c.on_closed(10);
  c.on_closed(12);  // never counted: nothing changes
  EXPECT_EQ(c.from("a"), 1u);
  EXPECT_FALSE(c.on_accepted(14, "c"));
  // A descriptor accepted again had its earlier connection end.
  EXPECT_FALSE(c.on_accepted(11, "c"));
  EXPECT_EQ(c.from("a"), 0u);
  EXPECT_EQ(c.from("c"), 2u);
  EXPECT_EQ(c.total(), 3u);
}

TEST(ConnectionCounterTest, CapFitsTheDescriptorLimit) {
  EXPECT_EQ(connections_for_descriptors(4096, 1024), 960u);
  EXPECT_EQ(connections_for_descriptors(100, 1024), 100u);
  EXPECT_EQ(connections_for_descriptors(100, 10), 1u);
}

TEST(LogLimiterTest, OneLineASecondSayingHowManyWentUnlogged) {
  LogLimiter log;
  size_t skipped = 99;
  EXPECT_TRUE(log.due(5000, skipped));
  EXPECT_EQ(skipped, 0u);
  EXPECT_FALSE(log.due(5001, skipped));
  EXPECT_FALSE(log.due(5999, skipped));
  EXPECT_TRUE(log.due(6000, skipped));
  EXPECT_EQ(skipped, 2u);
  EXPECT_EQ(LogLimiter::more(2), " (2 more since the last line)");
  EXPECT_EQ(LogLimiter::more(0), "");
}

}  // namespace
}  // namespace gc
