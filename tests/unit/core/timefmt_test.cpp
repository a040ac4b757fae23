#include "core/timefmt.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace gc {
namespace {

class TimefmtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

// 2026-11-21T18:09:41.123456 UTC
constexpr int64_t kSample = 1795284581123456;

TEST_F(TimefmtTest, FormatsLocalIsoWithMicroseconds) {
  EXPECT_EQ(format_local_iso(kSample), "2026-11-21T18:09:41.123456");
}

TEST_F(TimefmtTest, ParsesTheFormatItPrints) {
  auto r = parse_since("2026-11-21T18:09:41.123456", 0);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, kSample);
}

TEST_F(TimefmtTest, ParsesSpaceSeparatedDateTime) {
  auto r = parse_since("2026-11-21 18:09:41", 0);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(*r, kSample - 123456);
}

TEST_F(TimefmtTest, ClockOnlyMeansTodayByTheGivenNow) {
  auto r = parse_since("01:02:03.5", kSample);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(format_local_iso(*r), "2026-11-21T01:02:03.500000");
}

TEST_F(TimefmtTest, RejectsGarbageWithTheAcceptedForms) {
  for (const char* bad :
       {"", "yesterday", "25:00:00", "12:00", "2026-13-01T00:00:00", "2026-11-21X18:09:41",
        "12:00:00.", "12:00:00.1234567890", "2026-11-21T18:09:41junk"}) {
    auto r = parse_since(bad, kSample);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().find("HH:MM:SS"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace gc
