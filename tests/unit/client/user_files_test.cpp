// The stored identity: created once, reused, overridden, and kept in memory
// with a warning when it cannot be stored.
#include "client/user_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "support/scratch.hpp"

namespace gc {
namespace {
namespace fs = std::filesystem;

class IdentityTest : public ::testing::Test {
 protected:
  IdentityOptions opts() const {
    IdentityOptions o;
    o.config_home = dir_;
    return o;
  }
  nlohmann::json file_json() const {
    std::ifstream in(dir_ / "groupchat" / "identity");
    return nlohmann::json::parse(in);
  }
  testing::ScratchDir scratch_;
  const fs::path& dir_ = scratch_.path();
};

TEST(UuidTest, GeneratesLowercaseCanonicalVersion4) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto u = generate_uuid_v4();
    ASSERT_TRUE(is_canonical_uuid(u)) << u;
    EXPECT_EQ(u[14], '4') << u;
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
    for (char c : u) EXPECT_FALSE(std::isupper(static_cast<unsigned char>(c))) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST_F(IdentityTest, FirstRunCreatesTheFileAndLaterRunsReuseIt) {
  auto first = load_identity(opts());
  EXPECT_TRUE(first.persisted);
  EXPECT_TRUE(first.warnings.empty());
  EXPECT_TRUE(is_canonical_uuid(first.user_uuid));
  EXPECT_EQ(first.file, dir_ / "groupchat" / "identity");
  EXPECT_EQ(file_json()["user_uuid"], first.user_uuid);
  EXPECT_FALSE(file_json().contains("name"));
  auto second = load_identity(opts());
  EXPECT_EQ(second.user_uuid, first.user_uuid);
}

// The identity is the user's credential at an open group: it is 0600 even
// when a temporary file of the same name was left behind world-writable
// (open(2) keeps an existing file's mode), and a private file replaced is too.
TEST_F(IdentityTest, PrivateFilesGetExactlyTheirModeWhateverWasThere) {
  const std::string tmp_suffix = ".tmp" + std::to_string(static_cast<long>(::getpid()));
  auto leave_stale = [&](const fs::path& target) {
    fs::create_directories(target.parent_path());
    const fs::path stale = target.string() + tmp_suffix;
    std::ofstream(stale) << "stale";
    ASSERT_EQ(::chmod(stale.c_str(), 0666), 0);
  };
  struct stat st {};
  leave_stale(dir_ / "groupchat" / "identity");
  auto id = load_identity(opts());
  ASSERT_TRUE(id.persisted);
  ASSERT_EQ(::stat(id.file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const fs::path priv = dir_ / "private", pub = dir_ / "public";
  leave_stale(priv);
  EXPECT_EQ(replace_file(priv, "p\n", 0600), std::nullopt);
  ASSERT_EQ(::stat(priv.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A public file keeps to the mode asked less the umask.
  const mode_t old_umask = ::umask(022);
  EXPECT_EQ(replace_file(pub, "q\n", 0644), std::nullopt);
  ::umask(old_umask);
  ASSERT_EQ(::stat(pub.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(IdentityTest, NameIsStoredAndKept) {
  auto o = opts();
  o.name = "alice";
  auto first = load_identity(o);
  EXPECT_EQ(first.name, "alice");
  EXPECT_EQ(file_json()["name"], "alice");
  auto again = load_identity(opts());
  EXPECT_EQ(again.name, "alice");
  EXPECT_EQ(again.user_uuid, first.user_uuid);
  o.name = "bob";
  EXPECT_EQ(load_identity(o).user_uuid, first.user_uuid);
  EXPECT_EQ(file_json()["name"], "bob");
}

TEST_F(IdentityTest, UserIdOverridesWithoutTouchingTheFile) {
  auto stored = load_identity(opts());
  auto o = opts();
  o.user_id = "someone-else";
  auto over = load_identity(o);
  EXPECT_EQ(over.user_uuid, "someone-else");
  EXPECT_FALSE(over.persisted);
  EXPECT_EQ(file_json()["user_uuid"], stored.user_uuid);
}

TEST_F(IdentityTest, XdgConfigHomeIsUsedWhenAbsolute) {
  std::optional<fs::path> path, fallback;
  {
    testing::ScopedEnv env("XDG_CONFIG_HOME", dir_.string());
    path = identity_file(IdentityOptions{});
  }
  {
    testing::ScopedEnv env("XDG_CONFIG_HOME", "relative/dir");
    fallback = identity_file(IdentityOptions{});
  }
  ASSERT_TRUE(path);
  EXPECT_EQ(*path, dir_ / "groupchat" / "identity");
  if (fallback) {
    EXPECT_NE(fallback->string().find(".config/groupchat/identity"), std::string::npos);
  }
}

TEST_F(IdentityTest, UnwritableIdentityFileFallsBackToMemoryWithAWarning) {
  // The file is written through a temporary file beside it; a directory in
  // that place makes the write fail for root too, whom permissions do not stop.
  auto file = identity_file(opts());
  ASSERT_TRUE(file);
  fs::create_directories(fs::path(file->string() + ".tmp" + std::to_string(::getpid())));
  auto id = load_identity(opts());
  EXPECT_FALSE(id.persisted);
  EXPECT_TRUE(is_canonical_uuid(id.user_uuid));
  EXPECT_FALSE(fs::exists(*file));
  ASSERT_FALSE(id.warnings.empty());
  EXPECT_NE(id.warnings[0].find("cannot create"), std::string::npos);
  EXPECT_NE(id.warnings[0].find("for this run only"), std::string::npos);
}

TEST_F(IdentityTest, ConfigPathThatIsAFileFallsBackToMemoryWithAWarning) {
  // Works as root too: a directory cannot be created under a regular file.
  std::ofstream(dir_ / "blocker") << "x";
  IdentityOptions o;
  o.config_home = dir_ / "blocker";
  auto id = load_identity(o);
  EXPECT_FALSE(id.persisted);
  EXPECT_TRUE(is_canonical_uuid(id.user_uuid));
  ASSERT_FALSE(id.warnings.empty());
  EXPECT_NE(id.warnings[0].find("blocker"), std::string::npos);
}

TEST_F(IdentityTest, CorruptFileIsLeftAloneAndReported) {
  fs::create_directories(dir_ / "groupchat");
  std::ofstream(dir_ / "groupchat" / "identity") << "{not json";
  auto id = load_identity(opts());
  EXPECT_FALSE(id.persisted);
  ASSERT_FALSE(id.warnings.empty());
  EXPECT_NE(id.warnings[0].find("not a JSON object"), std::string::npos);
  std::ifstream in(dir_ / "groupchat" / "identity");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "{not json");
}

TEST_F(IdentityTest, UserIdNeitherReadsNorWritesTheStoredName) {
  auto o = opts();
  o.name = "owner";
  load_identity(o);
  auto other = opts();
  other.user_id = "someone-else";
  EXPECT_EQ(load_identity(other).name, "");  // the owner's name is not someone else's
  other.name = "guest";
  EXPECT_EQ(load_identity(other).name, "guest");
  EXPECT_EQ(file_json()["name"], "owner");
}

TEST_F(IdentityTest, JoinedGroupsAreRememberedPerUserInJoinOrder) {
  auto file = *joined_groups_file(opts());
  EXPECT_EQ(file, dir_ / "groupchat" / "groups");
  EXPECT_TRUE(load_joined_groups(file, "u").empty());  // no file yet
  EXPECT_FALSE(store_joined_group(file, "u", "127.0.0.1:6001", true));
  EXPECT_FALSE(store_joined_group(file, "u", "127.0.0.1:6000", true));
  EXPECT_FALSE(store_joined_group(file, "u", "127.0.0.1:6001", true));  // once only
  EXPECT_FALSE(store_joined_group(file, "v", "127.0.0.1:6000", true));
  EXPECT_EQ(load_joined_groups(file, "u"),
            (std::vector<std::string>{"127.0.0.1:6001", "127.0.0.1:6000"}));
  EXPECT_FALSE(store_joined_group(file, "u", "127.0.0.1:6001", false));
  EXPECT_FALSE(store_joined_group(file, "u", "127.0.0.1:6009", false));  // not there: fine
  EXPECT_EQ(load_joined_groups(file, "u"), (std::vector<std::string>{"127.0.0.1:6000"}));
  EXPECT_EQ(load_joined_groups(file, "v"), (std::vector<std::string>{"127.0.0.1:6000"}));
}

// Clients joining at once (four processes, ten groups each) lose none of
// each other's groups: each change is made under the file's lock.
TEST_F(IdentityTest, ClientsJoiningAtOnceKeepEveryGroup) {
  auto file = *joined_groups_file(opts());
  constexpr int kClients = 4, kGroups = 10;
  std::vector<pid_t> children;
  for (int c = 0; c < kClients; ++c) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int failures = 0;
      for (int g = 0; g < kGroups; ++g)
        if (store_joined_group(file, "u",
                               "127.0.0." + std::to_string(c + 1) + ":" + std::to_string(6000 + g),
                               true))
          ++failures;
      ::_exit(failures == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  const auto groups = load_joined_groups(file, "u");
  EXPECT_EQ(groups.size(), static_cast<size_t>(kClients * kGroups));
  EXPECT_EQ(std::set<std::string>(groups.begin(), groups.end()).size(), groups.size());
}

TEST_F(IdentityTest, ACorruptGroupsFileIsAnEmptyList) {
  fs::create_directories(dir_ / "groupchat");
  std::ofstream(dir_ / "groupchat" / "groups") << "[1, 2";
  auto file = *joined_groups_file(opts());
  EXPECT_TRUE(load_joined_groups(file, "u").empty());
  EXPECT_FALSE(store_joined_group(file, "u", "127.0.0.1:6000", true));
  EXPECT_EQ(load_joined_groups(file, "u"), (std::vector<std::string>{"127.0.0.1:6000"}));
}

TEST_F(IdentityTest, HistoryFileFollowsXdgStateHome) {
  std::optional<fs::path> path;
  {
    testing::ScopedEnv env("XDG_STATE_HOME", dir_.string());
    path = history_file();
  }
  ASSERT_TRUE(path);
  EXPECT_EQ(*path, dir_ / "groupchat" / "history");
}

TEST(CheckUserIdTest, RejectsEmptyLongAndControlCharacters) {
  EXPECT_FALSE(check_user_id("abc"));
  EXPECT_TRUE(check_user_id(""));
  EXPECT_TRUE(check_user_id(std::string(129, 'a')));
  EXPECT_TRUE(check_user_id("a\nb"));
}

}  // namespace
}  // namespace gc
