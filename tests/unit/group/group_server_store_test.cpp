// The group server's loop and its store: the periodic sync (at most about
// once a second, only after writes, soon after the last one) and a storage
// fault (the batch answered FAILED, the loop ends with 1). A real
// GroupServer on loopback, no registry, driven by a REQ socket.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "core/clock.hpp"
#include "group/group_server.hpp"
#include "store/memory_store.hpp"

namespace gc {
namespace {

using nlohmann::json;

// A MemoryStore that keeps the bookkeeping of a store needing syncs, and can
// be told to report its storage lost.
class WatchedStore final : public GroupStore {
 public:
  MemoryStore inner;
  std::atomic<bool> lose{false};

  std::vector<int64_t> sync_times() {
    std::lock_guard<std::mutex> lock(mu_);
    return syncs_;
  }
  // Waits up to ms for a sync that began after the last write; false if none came.
  bool wait_synced(int64_t ms) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(ms),
                        [&] { return !syncs_.empty() && syncs_.back() >= last_write_ms_; });
  }
  // Waits up to ms for at least n syncs; returns how many there are.
  size_t wait_sync_count(size_t n, int64_t ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return syncs_.size() >= n; });
    return syncs_.size();
  }

  Status begin_batch() override { return inner.begin_batch(); }
  Status commit_batch() override { return inner.commit_batch(); }
  void rollback_batch() override { inner.rollback_batch(); }
  Result<uint64_t> append(const StoredMessage& m) override {
    wrote();
    return inner.append(m);
  }
  Status read_after_seq(uint64_t a, size_t l, MessagePage& p, size_t max_bytes) override {
    return inner.read_after_seq(a, l, p, max_bytes);
  }
  Status read_newest(uint64_t a, size_t l, MessagePage& p, size_t b) override {
    return inner.read_newest(a, l, p, b);
  }
  Result<uint64_t> first_seq_at_or_after(int64_t t) override {
    return inner.first_seq_at_or_after(t);
  }
  Result<std::optional<StoredMessage>> find_by_client_msg_id(const std::string& u,
                                                             const std::string& c) override {
    return inner.find_by_client_msg_id(u, c);
  }
  uint64_t last_seq() const override { return inner.last_seq(); }
  int64_t last_time_us() const override { return inner.last_time_us(); }
  const std::string& history_id() const override { return inner.history_id(); }
  const GroupSecret& group_secret() const override { return inner.group_secret(); }
  Status add_member(const std::string& u, const std::string& n) override {
    wrote();
    return inner.add_member(u, n);
  }
  Result<bool> remove_member(const std::string& u) override { return inner.remove_member(u); }
  Result<std::optional<std::string>> find_member(const std::string& u) override {
    return inner.find_member(u);
  }
  Result<size_t> member_count() override { return inner.member_count(); }

  Status check_intact() override {
    if (lose && fault_.empty()) fault_ = "the database file F was deleted (test)";
    return fault_.empty() ? Status::ok() : Status::error(fault_);
  }
  const std::string& fault() const override { return fault_; }
  bool needs_sync() const override { return unsynced_; }
  Status sync() override {
    unsynced_ = false;
    std::lock_guard<std::mutex> lock(mu_);
    syncs_.push_back(mono_ms());
    cv_.notify_all();
    return Status::ok();
  }

 private:
  void wrote() {
    unsynced_ = true;
    std::lock_guard<std::mutex> lock(mu_);
    last_write_ms_ = mono_ms();
  }

  bool unsynced_ = false;
  std::string fault_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> syncs_;
  int64_t last_write_ms_ = 0;
};

uint16_t free_port() {
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::rep);
  s.bind("tcp://127.0.0.1:*");
  std::string at = s.get(zmq::sockopt::last_endpoint);
  return static_cast<uint16_t>(std::stoi(at.substr(at.rfind(':') + 1)));
}

class GroupServerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::pipe(stop_pipe_), 0);
    GroupServerOptions options;
    options.name = "g";
    options.endpoint = Endpoint{"127.0.0.1", free_port()};
    options.quiet = true;
    server_ = std::make_unique<GroupServer>(ctx_, store, options);
    ASSERT_TRUE(server_->bind());
    thread_ = std::thread([this] { exit_code_ = server_->run(stop_pipe_[0]); });
    req_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::req);
    req_->set(zmq::sockopt::linger, 0);
    req_->connect(options.endpoint.zmq());
  }
  void TearDown() override {
    req_.reset();
    stop();
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
  }
  void stop() {
    if (!thread_.joinable()) return;
    (void)!::write(stop_pipe_[1], "x", 1);
    thread_.join();
  }
  json call(const json& body) {
    req_->send(zmq::buffer(body.dump()));
    zmq::pollitem_t item{req_->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(5000)) != 1) {
      ADD_FAILURE() << "no reply in 5 s to " << body.dump();
      return json();
    }
    zmq::message_t reply;
    (void)req_->recv(reply);
    return json::parse(reply.to_string_view());
  }

  WatchedStore store;
  zmq::context_t ctx_;
  int stop_pipe_[2] = {-1, -1};
  std::unique_ptr<GroupServer> server_;
  std::thread thread_;
  std::atomic<int> exit_code_{-1};
  std::unique_ptr<zmq::socket_t> req_;
};

TEST_F(GroupServerStoreTest, WritesAreSyncedAtMostAboutOnceASecondAndSoonAfterTheLast) {
  EXPECT_EQ(call({{"action", "joinGroup"}, {"user_uuid", "u"}})["response"], "SUCCESS");
  // The first write after a quiet spell is synced at once (within 3 s here,
  // a bound that only catches a missing sync).
  ASSERT_TRUE(store.wait_synced(3000));
  EXPECT_EQ(store.sync_times().size(), 1u);
  // A steady stream of sends for about 2.5 s (bounded in count too).
  const int64_t until = mono_ms() + 2500;
  int sent = 0;
  while (mono_ms() < until && sent < 100000) {
    ASSERT_EQ(call({{"action", "sendMessage"}, {"user_uuid", "u"}, {"message", "m"}})["response"],
              "SUCCESS");
    ++sent;
  }
  // The last writes are synced too, about a second later at most (3 s bound).
  ASSERT_TRUE(store.wait_synced(3000));
  const auto syncs = store.sync_times();
  // Never two syncs less than a second apart, however many commits.
  for (size_t i = 1; i < syncs.size(); ++i) EXPECT_GE(syncs[i] - syncs[i - 1], 1000) << i;
  // So about one per second of writing: 2.5 s of sends make at most 5.
  EXPECT_LE(syncs.size(), 5u) << sent << " sends";
  // Reads alone need no sync.
  const size_t after_writes = store.sync_times().size();
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(call({{"action", "getMessage"}, {"user_uuid", "u"}, {"limit", 1}})["response"],
              "SUCCESS");
  EXPECT_EQ(store.wait_sync_count(after_writes + 1, 1500), after_writes);
}

TEST_F(GroupServerStoreTest, AStorageFaultAnswersFailedAndEndsTheLoopWithOne) {
  EXPECT_EQ(call({{"action", "joinGroup"}, {"user_uuid", "u"}})["response"], "SUCCESS");
  store.lose = true;
  json r = call({{"action", "sendMessage"}, {"user_uuid", "u"}, {"message", "m"}});
  EXPECT_EQ(r["response"], "FAILED");
  EXPECT_EQ(r["error"],
            "storage error, nothing was stored: the database file F was deleted (test)");
  thread_.join();  // the loop ends by itself
  EXPECT_EQ(exit_code_, 1);
  EXPECT_EQ(store.last_seq(), 0u);
}

}  // namespace
}  // namespace gc
