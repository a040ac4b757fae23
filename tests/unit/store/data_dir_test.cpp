#include "store/data_dir.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "support/scratch.hpp"

namespace gc {
namespace {

TEST(DataDirTest, AGroupsDirectoryIsNamedAfterTheGroup) {
  EXPECT_EQ(group_dir_name("room"), "group-room");
  EXPECT_EQ(group_dir_name("caf\xc3\xa9 ch\xc3\xa2t"), "group-caf\xc3\xa9 ch\xc3\xa2t");
  // Nothing in a name leaves DATA_DIR or makes a hidden or odd file name.
  EXPECT_EQ(group_dir_name("../x"), "group-%2E.%2Fx");
  EXPECT_EQ(group_dir_name("a/b\\c%d"), "group-a%2Fb%5Cc%25d");
  EXPECT_EQ(group_dir_name(std::string("t\nx\x7f", 4)), "group-t%0Ax%7F");
  EXPECT_EQ(group_data_dir("/d", "room"), std::filesystem::path("/d/group-room"));
}

TEST(DataDirTest, ALongNameKeepsItsStartAndAHashUnder200Bytes) {
  const std::string a(128, '/'), b = std::string(127, '/') + "x";
  const std::string da = group_dir_name(a), db = group_dir_name(b);
  EXPECT_LE(da.size(), 200u);
  EXPECT_NE(da, db);
  EXPECT_EQ(da.rfind("group-%2F%2F", 0), 0u);
  EXPECT_EQ(da, group_dir_name(a));
  const std::string utf8 = [] {
    std::string s;
    for (int i = 0; i < 64; ++i) s += "\xc3\xa9";
    return s + "////";
  }();
  const std::string du = group_dir_name(utf8);
  EXPECT_LE(du.size(), 200u);
  EXPECT_EQ(group_dir_name("room").size(), 10u);
}

TEST(DataDirTest, AnAddressDirectoryOfEarlierVersionsIsMovedToTheNamedOne) {
  testing::ScratchDir dir;
  const auto old = legacy_group_data_dir(dir.path(), Endpoint{"127.0.0.1", 5560});
  EXPECT_EQ(old.filename(), "127.0.0.1_5560");
  std::filesystem::create_directories(old);
  std::ofstream(group_database(old)) << "db";
  std::ofstream(old / "key") << "k";
  const auto named = group_data_dir(dir.path(), "room");
  auto moved = migrate_group_data_dir(named, {dir.path() / "nothing_1", old});
  EXPECT_TRUE(moved.error.empty()) << moved.error;
  EXPECT_EQ(moved.from, old);
  EXPECT_FALSE(std::filesystem::exists(old));
  EXPECT_TRUE(std::filesystem::exists(group_database(named)));
  EXPECT_TRUE(std::filesystem::exists(named / "key"));
}

TEST(DataDirTest, NothingMovesOverAnExistingDirectoryOrFromAnEmptyOne) {
  testing::ScratchDir dir;
  const auto old = dir.path() / "127.0.0.1_5560";
  const auto named = group_data_dir(dir.path(), "room");
  std::filesystem::create_directories(old);
  // Empty: holds no group's data.
  EXPECT_TRUE(migrate_group_data_dir(named, {old}).from.empty());
  std::ofstream(group_database(old)) << "db";
  std::filesystem::create_directories(named);
  EXPECT_TRUE(migrate_group_data_dir(named, {old}).from.empty());
  EXPECT_TRUE(std::filesystem::exists(group_database(old)));
}

}  // namespace
}  // namespace gc
