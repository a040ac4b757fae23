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
        "12:00:00.", "12:00:00.1234567890", "2026-11-21T18:09:41junk", "2026-02-30",
        "2026-11-21T18:09:41+1", "2026-11-21T18:09:41+24:00", "2026-11-21T18:09:41+09:60",
        "2026-11-21T18:09:41ZZ", "2026-11-21T", "2026-11-21T18:09:41+09:00:00"}) {
    auto r = parse_since(bad, kSample);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().find("HH:MM:SS"), std::string::npos);
    }
  }
}

TEST_F(TimefmtTest, ABareDateIsLocalMidnight) {
  auto r = parse_since("2026-11-21", 0);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(format_local_iso(*r), "2026-11-21T00:00:00.000000");
}

TEST_F(TimefmtTest, AZoneMakesAnExactInstantWhateverTheLocalZone) {
  for (const char* zone : {"UTC", "Asia/Tokyo", "America/Los_Angeles"}) {
    setenv("TZ", zone, 1);
    tzset();
    for (const char* text : {"2026-11-21T18:09:41.123456Z", "2026-11-21T18:09:41.123456z",
                             "2026-11-22T03:09:41.123456+09:00", "2026-11-22T03:09:41.123456+0900",
                             "2026-11-22T03:09:41.123456+09", "2026-11-21T10:09:41.123456-08:00",
                             "2026-11-21 18:09:41,123456Z"}) {
      auto r = parse_since(text, 0);
      ASSERT_TRUE(r) << zone << " " << text << ": " << r.error();
      EXPECT_EQ(*r, kSample) << zone << " " << text;
      auto i = parse_instant(text);
      ASSERT_TRUE(i) << text;
      EXPECT_EQ(*i, kSample);
    }
    // format_instant writes the local offset and reads back exactly.
    auto back = parse_instant(format_instant(kSample));
    ASSERT_TRUE(back) << format_instant(kSample);
    EXPECT_EQ(*back, kSample);
  }
  setenv("TZ", "Asia/Tokyo", 1);
  tzset();
  EXPECT_EQ(format_instant(kSample), "2026-11-22T03:09:41.123456+09:00");
  EXPECT_EQ(format_local_seconds(kSample), "2026-11-22T03:09:41");
  setenv("TZ", "America/Los_Angeles", 1);
  tzset();
  EXPECT_EQ(format_instant(kSample), "2026-11-21T10:09:41.123456-08:00");
  EXPECT_EQ(format_local_seconds(kSample), "2026-11-21T10:09:41");
  // Floored, also before 1970.
  EXPECT_EQ(format_local_seconds(-1), "1969-12-31T15:59:59");
}

TEST_F(TimefmtTest, ParseInstantRefusesAFormWithoutAZone) {
  for (const char* text : {"2026-11-21T18:09:41", "18:09:41", "2026-11-21", "x", ""}) {
    auto r = parse_instant(text);
    EXPECT_FALSE(r) << text;
    if (!r) {
      EXPECT_NE(r.error().find("Z or an offset"), std::string::npos) << r.error();
    }
  }
}

}  // namespace
}  // namespace gc
