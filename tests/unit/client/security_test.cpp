// The client's curve files and words: the registries it trusts (remembered,
// reused, a changed key refused), where the user's key lives, and the errors
// for a failed handshake.
#include "client/security.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "net/curve.hpp"
#include "support/scratch.hpp"

namespace gc {
namespace {
namespace fs = std::filesystem;

std::string fresh_key() {
  auto keys = generate_key_pair();
  EXPECT_TRUE(keys) << keys.error();
  return keys ? keys->public_key : std::string();
}

std::string read_all(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class KnownRegistriesTest : public ::testing::Test {
 protected:
  testing::ScratchDir scratch_;
  const fs::path file_ = scratch_.path() / "groupchat" / "known_registries";
};

TEST(ClientFilesTest, KeyAndKnownRegistriesLiveBesideTheIdentity) {
  IdentityOptions o;
  o.config_home = "/somewhere";
  EXPECT_EQ(user_key_file(o), fs::path("/somewhere/groupchat/key"));
  EXPECT_EQ(known_registries_file(o), fs::path("/somewhere/groupchat/known_registries"));
}

TEST(ClientFilesTest, CanonicalAddressesSpellTheHostAsADottedQuad) {
  EXPECT_EQ(canonical_address("localhost:5555"), "127.0.0.1:5555");
  EXPECT_EQ(canonical_address("tcp://127.1:5555"), "127.0.0.1:5555");
  EXPECT_EQ(canonical_address("10.0.0.7:80"), "10.0.0.7:80");
  EXPECT_EQ(canonical_address("not an address"), "not an address");
}

TEST_F(KnownRegistriesTest, AKeyIsRememberedOnceAndFoundUnderAnySpellingOfTheAddress) {
  const std::string key = fresh_key();
  auto none = remembered_registry_key(file_, "127.0.0.1:5555");
  ASSERT_TRUE(none) << none.error();
  EXPECT_FALSE(none->has_value());  // no file yet

  ASSERT_EQ(remember_registry_key(file_, "localhost:5555", key), std::nullopt);
  const std::string text = read_all(file_);
  EXPECT_TRUE(contains(text, "127.0.0.1:5555 " + key + "\n")) << text;

  auto found = remembered_registry_key(file_, "127.0.0.1:5555");
  ASSERT_TRUE(found) << found.error();
  EXPECT_EQ(found->value_or(""), key);
  EXPECT_EQ(remembered_registry_key(file_, "localhost:5555")->value_or(""), key);
  EXPECT_FALSE(remembered_registry_key(file_, "127.0.0.1:5556")->has_value());

  // Remembering the address again keeps the first line and adds nothing.
  ASSERT_EQ(remember_registry_key(file_, "127.0.0.1:5555", fresh_key()), std::nullopt);
  EXPECT_EQ(read_all(file_), text);
  // Another registry gets its own line.
  const std::string other = fresh_key();
  ASSERT_EQ(remember_registry_key(file_, "127.0.0.2:5555", other), std::nullopt);
  EXPECT_EQ(remembered_registry_key(file_, "127.0.0.2:5555")->value_or(""), other);
  EXPECT_EQ(remembered_registry_key(file_, "127.0.0.1:5555")->value_or(""), key);
}

TEST_F(KnownRegistriesTest, AMalformedLineIsAnErrorNamingTheFileAndLine) {
  fs::create_directories(file_.parent_path());
  std::ofstream(file_) << "# comment\n\n127.0.0.1:5555 not-a-key\n";
  auto r = remembered_registry_key(file_, "127.0.0.1:5555");
  ASSERT_FALSE(r);
  EXPECT_TRUE(contains(r.error(), file_.string() + ", line 3")) << r.error();
  EXPECT_TRUE(remember_registry_key(file_, "127.0.0.1:5556", fresh_key()).has_value());
}

TEST_F(KnownRegistriesTest, AGivenKeyIsToBeRememberedTheFirstTimeAndReusedAfter) {
  const std::string key = fresh_key();
  // No key given, none remembered: the registry is open.
  auto open = resolve_registry_trust(file_, "127.0.0.1:5555", std::nullopt, "--server-key");
  ASSERT_TRUE(open) << open.error();
  EXPECT_FALSE(open->key.has_value());
  EXPECT_FALSE(open->remember);

  // Given for the first time: used, and to be remembered once it answers.
  auto first = resolve_registry_trust(file_, "127.0.0.1:5555", " " + key + "\n", "--server-key");
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ(first->key.value_or(""), key);
  EXPECT_TRUE(first->remember);
  EXPECT_FALSE(first->remembered);
  ASSERT_EQ(remember_registry_key(file_, "127.0.0.1:5555", key), std::nullopt);

  // Later, without a key: the remembered one, so the registry is curve.
  auto later = resolve_registry_trust(file_, "localhost:5555", std::nullopt, "--server-key");
  ASSERT_TRUE(later) << later.error();
  EXPECT_EQ(later->key.value_or(""), key);
  EXPECT_TRUE(later->remembered);
  EXPECT_FALSE(later->remember);

  // The same key given again is fine.
  auto same = resolve_registry_trust(file_, "127.0.0.1:5555", key, "GROUPCHAT_SERVER_KEY");
  ASSERT_TRUE(same) << same.error();
  EXPECT_EQ(same->key.value_or(""), key);
  EXPECT_FALSE(same->remember);
}

TEST_F(KnownRegistriesTest, AnotherKeyForARememberedRegistryIsRefusedLoudly) {
  const std::string key = fresh_key(), other = fresh_key();
  ASSERT_EQ(remember_registry_key(file_, "127.0.0.1:5555", key), std::nullopt);
  auto r = resolve_registry_trust(file_, "127.0.0.1:5555", other, "--server-key");
  ASSERT_FALSE(r);
  const std::string& e = r.error();
  EXPECT_TRUE(contains(e, "NOT THE ONE REMEMBERED FOR 127.0.0.1:5555")) << e;
  EXPECT_TRUE(contains(e, key)) << e;
  EXPECT_TRUE(contains(e, other)) << e;
  EXPECT_TRUE(contains(e, file_.string())) << e;
  EXPECT_TRUE(contains(e, "remove the line '127.0.0.1:5555 " + key + "'")) << e;
  // Another registry's key is not a conflict.
  EXPECT_TRUE(resolve_registry_trust(file_, "127.0.0.1:5556", other, "--server-key"));
}

TEST_F(KnownRegistriesTest, AMalformedGivenKeyIsRefusedNamingWhereItCameFrom) {
  auto r = resolve_registry_trust(file_, "127.0.0.1:5555", "short", "GROUPCHAT_SERVER_KEY");
  ASSERT_FALSE(r);
  EXPECT_TRUE(contains(r.error(), "GROUPCHAT_SERVER_KEY")) << r.error();
}

TEST(LinkProblemWordsTest, EachFailedHandshakeSaysWhatFailedAndWhatToDo) {
  LinkContext registry;
  registry.address = "127.0.0.1:5555";
  registry.registry = true;
  registry.server_key = "K" + std::string(39, 'k');
  registry.my_key = "M" + std::string(39, 'm');
  registry.key_source = KeySource::of(KeySource::Kind::known_registries);
  registry.known_registries = "/home/u/.config/groupchat/known_registries";
  LinkEvents e;
  e.problem = LinkProblem::handshake_failed;
  std::string text = describe_link_problem(e, registry);
  EXPECT_TRUE(contains(text, "the registry at 127.0.0.1:5555 did not prove it holds the key " +
                                 registry.server_key + " (the CURVE handshake failed)"))
      << text;
  EXPECT_TRUE(contains(
      text, "remove the line for 127.0.0.1:5555 from " + registry.known_registries.string()))
      << text;

  LinkContext group;
  group.address = "127.0.0.1:5560";
  e.problem = LinkProblem::mechanism_mismatch;  // we came open, it is curve
  text = describe_link_problem(e, group);
  EXPECT_EQ(text,
            "the group at 127.0.0.1:5560 did not accept an unencrypted connection: it may be a "
            "curve group; reach it through a curve registry (--server-key) or give --group-key");

  group.server_key = registry.server_key;
  group.my_key = registry.my_key;
  group.key_source = KeySource::of(KeySource::Kind::group_key);
  e.problem = LinkProblem::key_refused;
  e.zap_status = 400;
  text = describe_link_problem(e, group);
  EXPECT_TRUE(contains(text, "the group at 127.0.0.1:5560 refused your key " + group.my_key))
      << text;
  EXPECT_TRUE(contains(text, "ask its operator to add it")) << text;

  e.problem = LinkProblem::handshake_failed;
  text = describe_link_problem(e, group);
  EXPECT_TRUE(contains(text, "did not prove it holds the key")) << text;
  EXPECT_TRUE(contains(text, "check --group-key")) << text;

  e.problem = LinkProblem::mechanism_mismatch;  // we came with a key, it is open
  text = describe_link_problem(e, group);
  EXPECT_TRUE(contains(text, "does not speak CURVE")) << text;
  EXPECT_TRUE(contains(text, "without --group-key")) << text;
}

}  // namespace
}  // namespace gc
