// Groups by name: telling a name from an address, and close names.
#include "client/group_names.hpp"

#include <gtest/gtest.h>

namespace gc {
namespace {

TEST(GroupNamesTest, AnAddressEndsInAColonAndDigits) {
  EXPECT_TRUE(is_group_address("127.0.0.1:5555"));
  EXPECT_TRUE(is_group_address("localhost:6000"));
  EXPECT_TRUE(is_group_address("tcp://10.0.0.7:6000"));
  EXPECT_TRUE(is_group_address("1.2.3.4:99999"));  // an address, refused later as one
  EXPECT_FALSE(is_group_address("lobby"));
  EXPECT_FALSE(is_group_address("127.0.0.1"));
  EXPECT_FALSE(is_group_address("room:"));
  EXPECT_FALSE(is_group_address("room:a1"));
  EXPECT_FALSE(is_group_address(""));
}

std::vector<ListedGroup> listed(std::initializer_list<const char*> names) {
  std::vector<ListedGroup> out;
  int port = 6000;
  for (const char* n : names) out.push_back({n, "127.0.0.1:" + std::to_string(port++)});
  return out;
}

TEST(GroupNamesTest, CloseNamesAreCaseOrPrefixOrTwoEditsAwayClosestFirst) {
  auto groups = listed({"lobby", "Lobby", "lobby-2", "general", "lab", "zzzzzz"});
  using V = std::vector<std::string>;
  EXPECT_EQ(close_names(groups, "LOBBY"), (V{"lobby", "Lobby", "lobby-2"}));
  EXPECT_EQ(close_names(groups, "genral"), V{"general"});
  EXPECT_EQ(close_names(groups, "lobby", 1), V{"lobby"});
  EXPECT_EQ(close_names(groups, "qqq"), V{});
  EXPECT_EQ(close_names({}, "lobby"), V{});
}

TEST(GroupNamesTest, ManyLongNamesAreCompared) {
  // A registry's list is bounded; each name is at most 128 bytes.
  std::vector<ListedGroup> groups;
  for (int i = 0; i < 1000; ++i) groups.push_back({std::string(128, 'a' + i % 26), "127.0.0.1:1"});
  EXPECT_EQ(close_names(groups, std::string(128, 'b')).size(), 3u);
  EXPECT_TRUE(close_names(groups, std::string(60, '#')).empty());
}

}  // namespace
}  // namespace gc
