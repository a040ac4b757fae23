#include <gtest/gtest.h>

#include "group/group.hpp"
#include "group/members_file.hpp"
#include "store/memory_store.hpp"

namespace gc {
namespace {

const std::string kAlice = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const std::string kMallory = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

std::string request(std::string_view action, std::string_view extra = "") {
  return std::string(R"({"action":")") + std::string(action) + R"(","user_uuid":"claimed-uuid")" +
         std::string(extra) + "}";
}

TEST(GroupCurve, ARequestActsAsItsKeyWhateverUuidItClaims) {
  MemoryStore store;
  Group group(store);
  GroupOutcome out;
  group.handle_body(request("joinGroup"), 1, out, kAlice);
  EXPECT_NE(out.reply.find("SUCCESS"), std::string::npos) << out.reply;
  EXPECT_EQ(out.stdout_line, "JOIN REQUEST FROM " + kAlice);
  // The same claimed uuid from another key is not a member.
  group.handle_body(request("sendMessage", R"(,"message":"forged")"), 2, out, kMallory);
  EXPECT_NE(out.reply.find("not a member"), std::string::npos) << out.reply;
  group.handle_body(request("leaveGroup"), 3, out, kMallory);
  EXPECT_NE(out.reply.find("nothing to leave"), std::string::npos) << out.reply;
  // Alice is untouched; a request without a key acts as the claimed uuid (open mode).
  auto alice = store.find_member(kAlice);
  ASSERT_TRUE(alice);
  EXPECT_TRUE(alice->has_value());
  auto claimed = store.find_member("claimed-uuid");
  ASSERT_TRUE(claimed);
  EXPECT_FALSE(claimed->has_value());
}

TEST(GroupCurve, WithAMembersListOnlyListedKeysJoinOrActAsMembers) {
  MemoryStore store;
  Group group(store);
  GroupOutcome out;
  group.handle_body(request("joinGroup"), 1, out, kMallory);  // joined while anyone could
  group.set_allowed(KeySet{kAlice});
  group.handle_body(request("joinGroup"), 2, out, kMallory);
  EXPECT_NE(out.reply.find("not in this group's members file"), std::string::npos) << out.reply;
  group.handle_body(request("getMessage"), 3, out, kMallory);
  EXPECT_NE(out.reply.find("not a member of this group: your key is not in"), std::string::npos)
      << out.reply;
  group.handle_body(request("joinGroup"), 4, out, kAlice);
  EXPECT_NE(out.reply.find("SUCCESS"), std::string::npos) << out.reply;
  group.set_allowed(std::nullopt);
  group.handle_body(request("getMessage"), 5, out, kMallory);
  EXPECT_NE(out.reply.find("SUCCESS"), std::string::npos) << out.reply;
}

TEST(MembersFile, KeysNotesAndCommentsAreReadAndAnythingElseIsAnErrorNamingTheLine) {
  auto keys = parse_members(
      "# staff\n\n" + kAlice + " alice's laptop\n  " + kMallory + "\r\n#\n#\tindented comment\n",
      "members");
  ASSERT_TRUE(keys) << keys.error();
  EXPECT_EQ(*keys, (KeySet{kAlice, kMallory}));
  auto empty = parse_members("", "members");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  auto typo = parse_members(kAlice + "\n" + kMallory.substr(1) + "\n", "members");
  ASSERT_FALSE(typo);
  EXPECT_NE(typo.error().find("members, line 2"), std::string::npos) << typo.error();
  // '#' glued to text is not a comment: a Z85 key may start with '#'.
  EXPECT_FALSE(parse_members("#comment\n", "members"));
  EXPECT_FALSE(parse_members("\x1b[31m\n", "m").error().find('\x1b') != std::string::npos);
}

}  // namespace
}  // namespace gc
