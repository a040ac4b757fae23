// The GroupStore contract (store/group_store.hpp), run against every store:
// what the group relies on must hold whichever store is chosen at start-up.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "store/group_store.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_store.hpp"
#include "support/scratch.hpp"

namespace gc {
namespace {

struct MemoryStoreMaker {
  std::unique_ptr<GroupStore> make() { return std::make_unique<MemoryStore>(); }
};

struct SqliteStoreMaker {
  testing::ScratchDir dir;
  std::unique_ptr<GroupStore> make() {
    auto r = SqliteStore::open({(dir / "group.db").string(), false, 0});
    EXPECT_TRUE(r.is_ok()) << (r ? "" : r.error());
    return r ? std::move(*r) : nullptr;
  }
};

template <typename Maker>
class GroupStoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    store = maker.make();
    ASSERT_NE(store, nullptr);
  }
  static StoredMessage msg(const std::string& text, int64_t t, const std::string& client_id = "",
                           const std::string& user = "u") {
    return StoredMessage{0, user, "", text, t, client_id};
  }
  std::vector<uint64_t> seqs_after(uint64_t after, size_t limit = 100) {
    MessagePage page;
    EXPECT_TRUE(store->read_after_seq(after, limit, page));
    std::vector<uint64_t> out;
    for (const auto& m : page.messages) out.push_back(m.seq);
    return out;
  }

  Maker maker;
  std::unique_ptr<GroupStore> store;
};

using Stores = ::testing::Types<MemoryStoreMaker, SqliteStoreMaker>;
class StoreNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemoryStoreMaker> ? "Memory" : "Sqlite";
  }
};
TYPED_TEST_SUITE(GroupStoreContract, Stores, StoreNames);

TYPED_TEST(GroupStoreContract, AppendAssignsSeqFromOneAndReadsBackInOrder) {
  auto& s = this->store;
  EXPECT_EQ(s->last_seq(), 0u);
  EXPECT_EQ(s->last_time_us(), 0);
  EXPECT_EQ(*s->append(this->msg("a", 10)), 1u);
  EXPECT_EQ(*s->append({0, "v", "Bob", "b", 20, "c"}), 2u);
  EXPECT_EQ(s->last_seq(), 2u);
  EXPECT_EQ(s->last_time_us(), 20);
  MessagePage page;
  ASSERT_TRUE(s->read_after_seq(0, 10, page));
  ASSERT_EQ(page.messages.size(), 2u);
  EXPECT_EQ(page.messages[0].text, "a");
  EXPECT_EQ(page.messages[0].name, "");
  EXPECT_EQ(page.messages[1].seq, 2u);
  EXPECT_EQ(page.messages[1].user_uuid, "v");
  EXPECT_EQ(page.messages[1].name, "Bob");
  EXPECT_EQ(page.messages[1].time_us, 20);
  EXPECT_EQ(page.messages[1].client_msg_id, "c");
  EXPECT_FALSE(page.more);
}

TYPED_TEST(GroupStoreContract, ReadIsBoundedByLimitAndSaysMore) {
  auto& s = this->store;
  for (int i = 0; i < 5; ++i) s->append(this->msg(std::to_string(i), i));
  MessagePage page;
  ASSERT_TRUE(s->read_after_seq(1, 3, page));
  ASSERT_EQ(page.messages.size(), 3u);
  EXPECT_EQ(page.messages.front().seq, 2u);
  EXPECT_TRUE(page.more);
  ASSERT_TRUE(s->read_after_seq(2, 3, page));
  EXPECT_EQ(page.messages.size(), 3u);
  EXPECT_FALSE(page.more);
  EXPECT_TRUE(this->seqs_after(5).empty());
  EXPECT_TRUE(this->seqs_after(99).empty());
}

TYPED_TEST(GroupStoreContract, ReadNewestGivesTheNewestOldestFirstWithinTheCaps) {
  auto& s = this->store;
  MessagePage page;
  ASSERT_TRUE(s->read_newest(0, 5, page));
  EXPECT_TRUE(page.messages.empty());
  for (int i = 1; i <= 10; ++i) ASSERT_TRUE(s->append(this->msg(std::string(10, 'x'), i)));
  auto seqs = [&] {
    std::vector<uint64_t> v;
    for (const auto& m : page.messages) v.push_back(m.seq);
    return v;
  };
  using V = std::vector<uint64_t>;
  ASSERT_TRUE(s->read_newest(0, 3, page));
  EXPECT_EQ(seqs(), (V{8, 9, 10}));
  EXPECT_FALSE(page.more);
  EXPECT_EQ(page.messages[2].text, std::string(10, 'x'));
  ASSERT_TRUE(s->read_newest(7, 5, page));
  EXPECT_EQ(seqs(), (V{8, 9, 10}));
  ASSERT_TRUE(s->read_newest(10, 5, page));
  EXPECT_TRUE(page.messages.empty());
  ASSERT_TRUE(s->read_newest(0, 100, page));
  EXPECT_EQ(page.messages.size(), 10u);
  // Bytes: page_bytes of one message is 1 + 10 + 96 = 107; 250 bytes hold two.
  ASSERT_TRUE(s->read_newest(0, 100, page, 250));
  EXPECT_EQ(seqs(), (V{9, 10}));
  // The newest one always goes out.
  ASSERT_TRUE(s->read_newest(0, 100, page, 1));
  EXPECT_EQ(seqs(), (V{10}));
}

TYPED_TEST(GroupStoreContract, FirstSeqByTime) {
  auto& s = this->store;
  EXPECT_EQ(*s->first_seq_at_or_after(0), 1u);  // empty: last_seq + 1
  s->append(this->msg("a", 10));
  s->append(this->msg("b", 20));
  s->append(this->msg("c", 20));
  s->append(this->msg("d", 30));
  EXPECT_EQ(*s->first_seq_at_or_after(0), 1u);
  EXPECT_EQ(*s->first_seq_at_or_after(20), 2u);
  EXPECT_EQ(*s->first_seq_at_or_after(21), 4u);
  EXPECT_EQ(*s->first_seq_at_or_after(31), 5u);  // none: last_seq + 1
}

TYPED_TEST(GroupStoreContract, ClientMsgIdIsFoundAndUniquePerSender) {
  auto& s = this->store;
  s->append(this->msg("a", 1, "c1", "u"));
  s->append(this->msg("b", 2, "c1", "v"));
  auto found = s->find_by_client_msg_id("v", "c1");
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->seq, 2u);
  EXPECT_EQ((*found)->text, "b");
  EXPECT_FALSE(s->find_by_client_msg_id("w", "c1")->has_value());
  EXPECT_FALSE(s->append(this->msg("dup", 3, "c1", "u")).is_ok());
  EXPECT_EQ(s->last_seq(), 2u);  // the refused duplicate took no seq
  // Messages without an id never collide.
  EXPECT_TRUE(s->append(this->msg("x", 3)).is_ok());
  EXPECT_TRUE(s->append(this->msg("y", 3)).is_ok());
  EXPECT_EQ(this->seqs_after(0), (std::vector<uint64_t>{1, 2, 3, 4}));
}

TYPED_TEST(GroupStoreContract, MembersAddIdempotentlyKeepTheirNameAndLeave) {
  auto& s = this->store;
  ASSERT_TRUE(s->add_member("u1", "Ann"));
  ASSERT_TRUE(s->add_member("u2", ""));
  ASSERT_TRUE(s->add_member("u1", ""));  // no name: keeps Ann
  EXPECT_EQ(*s->member_count(), 2u);
  EXPECT_EQ(s->find_member("u1")->value(), "Ann");
  ASSERT_TRUE(s->add_member("u1", "Annie"));  // a new name replaces the old
  EXPECT_EQ(s->find_member("u1")->value(), "Annie");
  EXPECT_EQ(s->find_member("u2")->value(), "");
  EXPECT_TRUE(*s->remove_member("u2"));
  EXPECT_FALSE(*s->remove_member("u2"));
  EXPECT_FALSE(s->find_member("u2")->has_value());
  EXPECT_EQ(*s->member_count(), 1u);
}

TYPED_TEST(GroupStoreContract, ABatchIsSeenWhileOpenAndKeptOrDroppedWhole) {
  auto& s = this->store;
  ASSERT_TRUE(s->begin_batch());
  s->append(this->msg("kept", 1, "k"));
  s->add_member("m", "");
  ASSERT_TRUE(s->commit_batch());

  ASSERT_TRUE(s->begin_batch());
  s->append(this->msg("lost", 2, "l"));
  s->add_member("gone", "");
  s->remove_member("m");
  EXPECT_EQ(s->last_seq(), 2u);  // reads see the open batch
  EXPECT_EQ(this->seqs_after(0), (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(s->find_member("gone")->has_value());
  s->rollback_batch();

  EXPECT_EQ(s->last_seq(), 1u);
  EXPECT_EQ(s->last_time_us(), 1);
  EXPECT_EQ(this->seqs_after(0), (std::vector<uint64_t>{1}));
  EXPECT_TRUE(s->find_member("m")->has_value());
  EXPECT_FALSE(s->find_member("gone")->has_value());
  EXPECT_FALSE(s->find_by_client_msg_id("u", "l")->has_value());
  EXPECT_TRUE(s->find_by_client_msg_id("u", "k")->has_value());
  // The rolled-back seq is given again: seqs stay contiguous.
  EXPECT_EQ(*s->append(this->msg("next", 3)), 2u);
}

TYPED_TEST(GroupStoreContract, EveryHistoryHasAnIdOfItsOwn) {
  const std::string& id = this->store->history_id();
  EXPECT_EQ(id.size(), 32u) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  auto other = std::make_unique<MemoryStore>();
  EXPECT_NE(other->history_id(), id);
  ASSERT_TRUE(this->store->append(this->msg("a", 1)));
  EXPECT_EQ(this->store->history_id(), id);  // writes do not change it
}

TYPED_TEST(GroupStoreContract, EveryGroupHasASecretOfItsOwn) {
  const GroupSecret secret = this->store->group_secret();
  EXPECT_NE(secret, GroupSecret{});
  auto other = std::make_unique<MemoryStore>();
  EXPECT_NE(other->group_secret(), secret);
  ASSERT_TRUE(this->store->begin_batch());
  ASSERT_TRUE(this->store->append(this->msg("a", 1)));
  this->store->rollback_batch();
  ASSERT_TRUE(this->store->add_member("u", "Ann"));
  EXPECT_EQ(this->store->group_secret(), secret);  // writes and rollbacks do not change it
}

TYPED_TEST(GroupStoreContract, AnIntactStoreHasNoFault) {
  EXPECT_TRUE(this->store->check_intact());
  EXPECT_TRUE(this->store->fault().empty());
  ASSERT_TRUE(this->store->append(this->msg("a", 1)));
  EXPECT_TRUE(this->store->sync());
  EXPECT_FALSE(this->store->needs_sync());
}

}  // namespace
}  // namespace gc
