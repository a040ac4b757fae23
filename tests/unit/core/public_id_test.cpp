#include "core/public_id.hpp"

#include <gtest/gtest.h>

namespace gc {
namespace {

GroupSecret counting_secret(uint8_t start) {
  GroupSecret s{};
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(start + i);
  return s;
}

bool is_lower_hex(const std::string& s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

TEST(PublicIdTest, IsKeyedBlake2bOf16BytesInLowerHex) {
  // Expected values from an independent implementation (Python's
  // hashlib.blake2b(identity, key=bytes(range(32)), digest_size=16)).
  const GroupSecret key = counting_secret(0);
  EXPECT_EQ(public_id(key, "1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
            "e876ecc80b87af6eaa2e95d3a99a78b5");
  EXPECT_EQ(public_id(key, ""), "3daf97bce7888fd59773c66bf647459c");
}

TEST(PublicIdTest, IsStableForAKeyAndAnIdentity) {
  const GroupSecret key = new_group_secret();
  const std::string id = public_id(key, "alice-uuid");
  EXPECT_EQ(id.size(), kPublicIdChars);
  EXPECT_TRUE(is_lower_hex(id)) << id;
  EXPECT_EQ(public_id(key, "alice-uuid"), id);
  std::string into = "left over";
  public_id_into(into, key, "alice-uuid");
  EXPECT_EQ(into, id);
}

TEST(PublicIdTest, DiffersByKeyAndByIdentity) {
  const GroupSecret a = counting_secret(0), b = counting_secret(1);
  EXPECT_NE(public_id(a, "alice-uuid"), public_id(b, "alice-uuid"));
  EXPECT_NE(public_id(a, "alice-uuid"), public_id(a, "alice-uuie"));
}

TEST(PublicIdTest, NewSecretsDiffer) {
  EXPECT_NE(new_group_secret(), new_group_secret());
}

}  // namespace
}  // namespace gc
