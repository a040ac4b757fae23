#include "core/atomic_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "support/scratch.hpp"

namespace gc {
namespace {
namespace fs = std::filesystem;

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

unsigned mode_of(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// The directory holds only `name`: no temporary file was left beside it.
void expect_only(const fs::path& dir, const std::string& name) {
  for (const auto& entry : fs::directory_iterator(dir))
    EXPECT_EQ(entry.path().filename().string(), name) << "left behind: " << entry.path();
}

TEST(AtomicFileTest, WritesANewFileAndLeavesNoTemporary) {
  testing::ScratchDir dir;
  const fs::path file = dir / "f";
  EXPECT_EQ(write_file_atomically(file, "one\n"), std::nullopt);
  EXPECT_EQ(read_text(file), "one\n");
  expect_only(dir.path(), "f");
}

TEST(AtomicFileTest, ReplacesAnExistingFile) {
  testing::ScratchDir dir;
  const fs::path file = dir / "f";
  std::ofstream(file) << "old text, longer than the new";
  EXPECT_EQ(write_file_atomically(file, "new"), std::nullopt);
  EXPECT_EQ(read_text(file), "new");
  expect_only(dir.path(), "f");
}

TEST(AtomicFileTest, WritesAnEmptyText) {
  testing::ScratchDir dir;
  EXPECT_EQ(write_file_atomically(dir / "f", ""), std::nullopt);
  EXPECT_EQ(read_text(dir / "f"), "");
}

TEST(AtomicFileTest, GivesTheNewFileTheMode) {
  testing::ScratchDir dir;
  const mode_t old_umask = ::umask(022);
  EXPECT_EQ(write_file_atomically(dir / "secret", "s", {.mode = 0600}), std::nullopt);
  EXPECT_EQ(write_file_atomically(dir / "public", "p", {.mode = 0644}), std::nullopt);
  ::umask(old_umask);
  EXPECT_EQ(mode_of(dir / "secret"), 0600u);
  EXPECT_EQ(mode_of(dir / "public"), 0644u);
}

TEST(AtomicFileTest, TheModeReplacesTheOldFilesMode) {
  testing::ScratchDir dir;
  const fs::path file = dir / "f";
  std::ofstream(file) << "old";
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  EXPECT_EQ(write_file_atomically(file, "new", {.mode = 0600}), std::nullopt);
  EXPECT_EQ(mode_of(file), 0600u);
}

TEST(AtomicFileTest, ExactModeIgnoresTheUmaskAndAStaleTemporary) {
  testing::ScratchDir dir;
  const fs::path file = dir / "key";
  const fs::path stale = fs::path(file.string() + ".tmp" + std::to_string(::getpid()));
  std::ofstream(stale) << "stale";
  fs::permissions(stale, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  const mode_t old_umask = ::umask(0277);
  auto failure = write_file_atomically(file, "k", {.mode = 0600, .exact_mode = true});
  ::umask(old_umask);
  EXPECT_EQ(failure, std::nullopt);
  EXPECT_EQ(mode_of(file), 0600u);
  expect_only(dir.path(), "key");
}

TEST(AtomicFileTest, KeepExistingCreatesButDoesNotReplace) {
  testing::ScratchDir dir;
  const fs::path file = dir / "f";
  EXPECT_EQ(write_file_atomically(file, "first", {.keep_existing = true}), std::nullopt);
  auto failure = write_file_atomically(file, "second", {.keep_existing = true});
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->err, EEXIST);
  EXPECT_NE(failure->message.find(file.string()), std::string::npos) << failure->message;
  EXPECT_EQ(read_text(file), "first");
  expect_only(dir.path(), "f");
}

TEST(AtomicFileTest, FailsClearlyIntoAMissingDirectory) {
  testing::ScratchDir dir;
  const fs::path file = dir / "missing" / "f";
  auto failure = write_file_atomically(file, "x");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->err, ENOENT);
  EXPECT_NE(failure->message.find("cannot create"), std::string::npos) << failure->message;
  EXPECT_NE(failure->message.find(file.string()), std::string::npos) << failure->message;
  EXPECT_NE(failure->message.find(std::strerror(ENOENT)), std::string::npos) << failure->message;
  EXPECT_FALSE(fs::exists(dir / "missing"));
}

TEST(AtomicFileTest, FailsClearlyIntoAReadOnlyDirectoryAndKeepsTheOldFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into a read-only directory";
  testing::ScratchDir dir;
  const fs::path file = dir / "f";
  std::ofstream(file) << "old";
  fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);
  auto failure = write_file_atomically(file, "new");
  fs::permissions(dir.path(), fs::perms::owner_all);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->err, EACCES);
  EXPECT_NE(failure->message.find(file.string()), std::string::npos) << failure->message;
  EXPECT_NE(failure->message.find(std::strerror(EACCES)), std::string::npos) << failure->message;
  EXPECT_EQ(read_text(file), "old");
  expect_only(dir.path(), "f");
}

TEST(AtomicFileTest, AFailedReplaceKeepsTheOldFileAndRemovesTheTemporary) {
  // Works as root too: a directory in the target's place cannot be renamed over.
  testing::ScratchDir dir;
  const fs::path target = dir / "d";
  fs::create_directories(target / "inside");
  auto failure = write_file_atomically(target, "new");
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->message.find("cannot replace " + target.string()), std::string::npos)
      << failure->message;
  EXPECT_TRUE(fs::is_directory(target / "inside"));
  expect_only(dir.path(), "d");
}

}  // namespace
}  // namespace gc
