#include "net/backlog.hpp"

#include <gtest/gtest.h>

namespace gc {
namespace {

TEST(BacklogLedger, UndeliveredIsWhatWasReadLessTheRequestsAndTheHandshake) {
  BacklogLedger ledger;
  ledger.on_accepted(7, 0);
  EXPECT_EQ(ledger.undelivered(7, kHandshakeAllowanceBytes, 0), 0u);
  EXPECT_EQ(ledger.undelivered(7, kHandshakeAllowanceBytes + 1000, 0), 1000u);
  ledger.on_delivered(7, 600);
  EXPECT_EQ(ledger.undelivered(7, kHandshakeAllowanceBytes + 1000, 0), 400u);
  ledger.on_delivered(7, 400);
  EXPECT_EQ(ledger.undelivered(7, kHandshakeAllowanceBytes + 1000, 0), 0u);
  // Never negative: a request delivered before its bytes are counted again.
  ledger.on_delivered(7, 5000);
  EXPECT_EQ(ledger.undelivered(7, kHandshakeAllowanceBytes + 1000, 0), 0u);
}

TEST(BacklogLedger, ADescriptorReusedStartsAfreshAndUnknownOnesAreNotCredited) {
  BacklogLedger ledger;
  ledger.on_delivered(3, 1 << 20);  // not accepted: not placed
  EXPECT_FALSE(ledger.knows(3));
  ledger.on_accepted(3, 0);
  EXPECT_EQ(ledger.undelivered(3, kHandshakeAllowanceBytes + 100, 0), 100u);
  ledger.on_delivered(3, 100);
  ledger.on_closed(3);
  EXPECT_FALSE(ledger.knows(3));
  EXPECT_EQ(ledger.undelivered(3, uint64_t{1} << 30, 0), 0u);  // unknown: nothing to say
  ledger.on_delivered(3, 1 << 20);                             // after its close: dropped
  ledger.on_accepted(3, 0);                                    // a new connection on fd 3
  EXPECT_EQ(ledger.undelivered(3, kHandshakeAllowanceBytes + 100, 0), 100u);
  ledger.on_delivered(3, 50);
  ledger.on_accepted(3, 0);  // seen again without a close: its earlier one ended
  EXPECT_EQ(ledger.undelivered(3, kHandshakeAllowanceBytes + 100, 0), 100u);
  EXPECT_EQ(ledger.size(), 1u);
}

TEST(BacklogLedger, HeartbeatsAreAllowedForTheConnectionsAge) {
  BacklogLedger ledger;
  ledger.on_accepted(9, 1000);
  const uint64_t read = kHandshakeAllowanceBytes + 10 * kCommandBytesPerSecond + 5;
  EXPECT_EQ(ledger.undelivered(9, read, 1000), 10 * kCommandBytesPerSecond + 5);
  EXPECT_EQ(ledger.undelivered(9, read, 10999), kCommandBytesPerSecond + 5);  // 9 whole seconds
  EXPECT_EQ(ledger.undelivered(9, read, 11000), 5u);
  // A PING every 500 ms for a week stays within the allowance.
  const int64_t week_ms = int64_t{7} * 24 * 3600 * 1000;
  EXPECT_EQ(ledger.undelivered(9, kHandshakeAllowanceBytes + 9 * 2 * 7 * 24 * 3600, week_ms), 0u);
}

TEST(BacklogLedger, ZmtpFrameHeadersAreCreditedAsSent) {
  EXPECT_EQ(zmtp_frame_wire_bytes(0), 2u);
  EXPECT_EQ(zmtp_frame_wire_bytes(255), 257u);
  EXPECT_EQ(zmtp_frame_wire_bytes(256), 265u);
  EXPECT_EQ(zmtp_frame_wire_bytes(190000), 190009u);
}

TEST(BacklogsToClose, EveryConnectionOverItsLimitThenTheLargestUntilTheTotalFits) {
  BacklogLimits limits;
  limits.per_connection_bytes = 100;
  limits.total_bytes = 250;
  std::vector<Backlog> none{{1, 100}, {2, 100}, {3, 50}};
  EXPECT_TRUE(backlogs_to_close(none, limits).empty());  // at the limits, not over

  std::vector<Backlog> one_over{{1, 10}, {2, 101}, {3, 0}};
  auto closed = backlogs_to_close(one_over, limits);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].fd, 2);

  // Each under its limit, 390 in all: the largest go until 250 or less remain.
  std::vector<Backlog> many{{1, 90}, {2, 60}, {3, 80}, {4, 70}, {5, 90}};
  closed = backlogs_to_close(many, limits);
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_EQ(closed[0].undelivered + closed[1].undelivered, 180u);
  EXPECT_NE(closed[0].fd, closed[1].fd);
  for (const auto& b : closed) EXPECT_TRUE(b.fd == 1 || b.fd == 5);

  std::vector<Backlog> empty;
  EXPECT_TRUE(backlogs_to_close(empty, limits).empty());
}

TEST(BacklogsToClose, AConnectionMakingProgressIsSparedUpToTheTotalLimit) {
  BacklogLimits limits;
  limits.per_connection_bytes = 100;
  limits.total_bytes = 1000;
  std::vector<Backlog> b{{1, 300, true}, {2, 300, false}, {3, 1001, true}};
  auto closed = backlogs_to_close(b, limits);
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_EQ(closed[0].fd, 3);  // past the total limit, progress or not
  EXPECT_EQ(closed[1].fd, 2);  // no progress: past its own limit
  // Over the total: the largest go, making progress or not.
  limits.per_connection_bytes = 1000;
  limits.total_bytes = 500;
  std::vector<Backlog> t{{1, 400, true}, {2, 300, false}, {3, 200, false}};
  closed = backlogs_to_close(t, limits);
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].fd, 1);
}

TEST(BacklogLedger, ProgressIsADeliveryInThisProgressWindowOrThePrevious) {
  BacklogLedger ledger;
  ledger.on_accepted(4, 0);
  ledger.looked(kProgressWindowMs);  // a first window begins
  EXPECT_FALSE(ledger.progressing(4));
  ledger.on_delivered(4, 10);
  EXPECT_TRUE(ledger.progressing(4));
  ledger.looked(kProgressWindowMs + 50);  // the same window: still progressing
  EXPECT_TRUE(ledger.progressing(4));
  ledger.looked(2 * kProgressWindowMs);  // the next window: the delivery is in the previous
  EXPECT_TRUE(ledger.progressing(4));
  ledger.looked(3 * kProgressWindowMs);  // two windows on, nothing delivered since
  EXPECT_FALSE(ledger.progressing(4));
  EXPECT_FALSE(ledger.progressing(5));
}

TEST(BacklogLimits, DerivedFromTheBudgetAndTheLargestFrame) {
  auto d = BacklogLimits::for_budget(uint64_t{256} << 20, 200000);
  EXPECT_EQ(d.per_connection_bytes, uint64_t{8} << 20);
  EXPECT_EQ(d.total_bytes, uint64_t{64} << 20);
  EXPECT_EQ(d.growth_trigger_bytes, uint64_t{4} << 20);
  // A tiny budget still lets a connection send two requests of the largest size.
  auto t = BacklogLimits::for_budget(uint64_t{1} << 20, 200000);
  EXPECT_GE(t.per_connection_bytes, 2 * zmtp_frame_wire_bytes(200000));
  EXPECT_GE(t.total_bytes, t.per_connection_bytes);
}

TEST(GrowthTrigger, DueOnceTheResidentSizeGrewByTheTriggerSinceTheLastLook) {
  GrowthTrigger g(1000);
  g.looked(10000);
  EXPECT_FALSE(g.due(10999));
  EXPECT_TRUE(g.due(11000));
  g.looked(11000);
  EXPECT_FALSE(g.due(11500));
  // The mark follows the resident size down: growth counts from the lowest.
  EXPECT_FALSE(g.due(5000));
  EXPECT_FALSE(g.due(5999));
  EXPECT_TRUE(g.due(6000));
}

}  // namespace
}  // namespace gc
