// The headline keys map to their figures, ratios divide the right way, and a
// missing figure gives null and a line saying why.
#include "headline.hpp"

#include <gtest/gtest.h>

#include <set>

namespace bench {
namespace {

TEST(Headline, HasExactlyTheAgreedKeys) {
  const std::set<std::string> agreed = {
      "fanout_10000_last_p50_us",   "fanout_10000_last_p99_us",   "fanout_10000_missed",
      "fanout_10000_rss_mib",       "ingest_msgs_per_s",          "ingest_ratio_vs_redis",
      "ingest_ratio_vs_bare",       "sequential_ratio_vs_bare",   "curve_sequential_ratio_vs_open",
      "curve_ingest_ratio_vs_open", "reference_sequential_ratio", "reference_ingest_ratio"};
  std::set<std::string> names;
  for (const auto& k : headline_keys()) EXPECT_TRUE(names.insert(k.name).second) << k.name;
  EXPECT_EQ(names, agreed);
  const auto empty = headline(Figures{});
  EXPECT_EQ(empty.size(), agreed.size());
}

TEST(Headline, FiguresAndRatios) {
  Figures f;
  f.set("fanout.f10000.last.p50_us", 1500);
  f.set("fanout.f10000.missed", 0);
  f.set("pipelined.groupchat.per_s", 100000);
  f.set("pipelined.bare.per_s", 400000);
  f.set("redis.xadd.per_s", 50000);
  f.set("sequential.groupchat.p50_us", 60);
  f.set("sequential.bare.p50_us", 40);
  f.set("sequential.groupchat_curve.p50_us", 90);
  f.set("pipelined.groupchat_curve.per_s", 30000);
  const auto h = headline(f);
  EXPECT_DOUBLE_EQ(h["fanout_10000_last_p50_us"].get<double>(), 1500);
  EXPECT_DOUBLE_EQ(h["fanout_10000_missed"].get<double>(), 0);
  EXPECT_DOUBLE_EQ(h["ingest_msgs_per_s"].get<double>(), 100000);
  EXPECT_DOUBLE_EQ(h["ingest_ratio_vs_redis"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(h["ingest_ratio_vs_bare"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(h["sequential_ratio_vs_bare"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(h["curve_sequential_ratio_vs_open"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(h["curve_ingest_ratio_vs_open"].get<double>(), 0.3);
}

TEST(Headline, MissingFiguresAreNullWithAReason) {
  Figures f;
  f.set("pipelined.groupchat.per_s", 100000);
  f.set("pipelined.bare.per_s", 0);
  f.missing("redis.xadd.per_s", "skipped (redis-server not installed)");
  f.missing("fanout.failed", "no reply");
  std::vector<std::string> why;
  const auto h = headline(f, &why);
  EXPECT_TRUE(h["ingest_ratio_vs_redis"].is_null());
  EXPECT_TRUE(h["ingest_ratio_vs_bare"].is_null());
  EXPECT_TRUE(h["fanout_10000_rss_mib"].is_null());
  EXPECT_TRUE(h["sequential_ratio_vs_bare"].is_null());
  auto said = [&](const std::string& text) {
    for (const auto& line : why)
      if (line.find(text) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(said("headline ingest_ratio_vs_redis: redis.xadd.per_s is missing: skipped"));
  EXPECT_TRUE(said("headline ingest_ratio_vs_bare: pipelined.bare.per_s is 0"));
  EXPECT_TRUE(
      said("headline fanout_10000_rss_mib: fanout.f10000.idle_rss_mib is missing: "
           "scenario fanout failed"));
  EXPECT_TRUE(
      said("headline sequential_ratio_vs_bare: sequential.groupchat.p50_us is missing: "
           "its scenario did not run"));
  EXPECT_EQ(why.size(), headline_keys().size() - 1);  // all but ingest_msgs_per_s
}

TEST(Headline, AddedToTheJsonWithMachineAndDate) {
  Figures f;
  f.set("pipelined.groupchat.per_s", 1);
  const auto doc = nlohmann::json::parse(
      with_headline(R"({"mode":"smoke","rows":[]})", f, "2026-11-22T10:00:00Z"));
  EXPECT_EQ(doc["mode"], "smoke");
  EXPECT_EQ(doc["date"], "2026-11-22T10:00:00Z");
  EXPECT_GE(doc["machine"]["cores"].get<int>(), 1);
  EXPECT_TRUE(doc["machine"].contains("cpu_model"));
  EXPECT_EQ(doc["headline"]["ingest_msgs_per_s"], 1.0);
}

}  // namespace
}  // namespace bench
