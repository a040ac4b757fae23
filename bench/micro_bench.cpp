// Microbenchmarks of the pieces on a request's path: the "since" parser, the
// group protocol codec (beside a plain nlohmann parse of the same JSON, for
// scale) and the SQLite store (appends in batches, reads of the newest 100).
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "child_process.hpp"
#include "core/clock.hpp"
#include "core/timefmt.hpp"
#include "group/group.hpp"
#include "protocol/group_protocol.hpp"
#include "store/sqlite_store.hpp"

namespace {

const std::string kText(100, 'm');
const std::string kSendRequest = nlohmann::json{
    {"action", "sendMessage"},
    {"user_uuid", "0f8e4a52-7c1b-4e5e-9d43-2b1a6c3d9e70"},
    {"message", kText}}.dump();

void BM_ParseSinceClock(benchmark::State& state) {
  const int64_t now = gc::now_us();
  for (auto _ : state) benchmark::DoNotOptimize(gc::parse_since("18:09:41", now));
}
BENCHMARK(BM_ParseSinceClock);

void BM_ParseSinceIsoFraction(benchmark::State& state) {
  const int64_t now = gc::now_us();
  for (auto _ : state) benchmark::DoNotOptimize(gc::parse_since("2026-11-21T18:09:41.123456", now));
}
BENCHMARK(BM_ParseSinceIsoFraction);

void BM_DecodeSendRequest(benchmark::State& state) {
  gc::GroupRequest request;
  for (auto _ : state) {
    gc::Status s = gc::decode_group_request(kSendRequest, request);
    if (!s) state.SkipWithError(s.message().c_str());
    benchmark::DoNotOptimize(request);
  }
  state.SetBytesProcessed(state.iterations() * kSendRequest.size());
}
BENCHMARK(BM_DecodeSendRequest);

// The same body through nlohmann's DOM parser: what a decoder that builds a
// tree would cost.
void BM_NlohmannParseSendRequest(benchmark::State& state) {
  for (auto _ : state) {
    auto j = nlohmann::json::parse(kSendRequest);
    benchmark::DoNotOptimize(j);
  }
  state.SetBytesProcessed(state.iterations() * kSendRequest.size());
}
BENCHMARK(BM_NlohmannParseSendRequest);

void BM_EncodeSendReply(benchmark::State& state) {
  std::string out;
  const int64_t t = gc::now_us();
  uint64_t seq = 1;
  for (auto _ : state) {
    gc::encode_send_success(out, seq++, t);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_EncodeSendReply);

gc::MessagePage page_of(size_t n) {
  gc::MessagePage page;
  const int64_t t = gc::now_us();
  for (size_t i = 0; i < n; ++i) {
    gc::StoredMessage m;
    m.seq = 1000 + i;
    m.user_uuid = "0f8e4a52-7c1b-4e5e-9d43-2b1a6c3d9e70";
    m.text = kText;
    m.time_us = t + static_cast<int64_t>(i);
    page.messages.push_back(std::move(m));
  }
  return page;
}

// A getMessage reply of 100 messages: the encoding cost of "newest 100".
void BM_EncodeMessages100(benchmark::State& state) {
  const gc::MessagePage page = page_of(100);
  const std::vector<std::string> ids(page.messages.size(), "0123456789abcdef0123456789abcdef");
  std::string out;
  for (auto _ : state) {
    gc::encode_messages(out, page, ids, 1099, "0123456789abcdef0123456789abcdef");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * out.size());
}
BENCHMARK(BM_EncodeMessages100);

struct StoreOnDisk {
  bench::TempDir dir{"groupchat-micro"};
  std::unique_ptr<gc::SqliteStore> store;
  StoreOnDisk() {
    auto opened = gc::SqliteStore::open({(dir.path() / "group.db").string(), false, 0});
    if (!opened) throw std::runtime_error(opened.error());
    store = std::move(*opened);
  }
};

gc::StoredMessage sample_message() {
  gc::StoredMessage m;
  m.user_uuid = "0f8e4a52-7c1b-4e5e-9d43-2b1a6c3d9e70";
  m.text = kText;
  return m;
}

// One transaction of state.range(0) appends per iteration, as the server
// commits one batch per drained set of requests.
void BM_SqliteAppendBatch(benchmark::State& state) {
  StoreOnDisk disk;
  gc::StoredMessage m = sample_message();
  const auto batch = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    if (!disk.store->begin_batch()) state.SkipWithError("begin_batch failed");
    for (size_t i = 0; i < batch; ++i) {
      m.time_us = gc::now_us();
      auto seq = disk.store->append(m);
      if (!seq) state.SkipWithError(seq.error().c_str());
    }
    if (auto s = disk.store->commit_batch(); !s) state.SkipWithError(s.message().c_str());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_SqliteAppendBatch)->Arg(1)->Arg(64)->Arg(256);

// Stores filled once per size and kept for the read benchmarks.
StoreOnDisk& filled_store(size_t messages) {
  static std::map<size_t, std::unique_ptr<StoreOnDisk>> stores;
  auto& slot = stores[messages];
  if (!slot) {
    slot = std::make_unique<StoreOnDisk>();
    gc::StoredMessage m = sample_message();
    for (size_t done = 0; done < messages;) {
      if (!slot->store->begin_batch()) throw std::runtime_error("begin_batch failed");
      for (size_t i = 0; i < 1000 && done < messages; ++i, ++done) {
        m.time_us = gc::now_us();
        if (!slot->store->append(m)) throw std::runtime_error("append failed");
      }
      if (!slot->store->commit_batch()) throw std::runtime_error("commit failed");
    }
  }
  return *slot;
}

// read_after_seq of the newest 100 (getMessage since_seq = last - 100).
void BM_SqliteReadNewest100(benchmark::State& state) {
  StoreOnDisk& disk = filled_store(static_cast<size_t>(state.range(0)));
  const uint64_t after = disk.store->last_seq() - 100;
  gc::MessagePage page;
  for (auto _ : state) {
    if (auto s = disk.store->read_after_seq(after, 100, page); !s)
      state.SkipWithError(s.message().c_str());
    benchmark::DoNotOptimize(page.messages.data());
  }
  if (page.messages.size() != 100) state.SkipWithError("read returned fewer than 100 messages");
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_SqliteReadNewest100)->Arg(10'000)->Arg(1'000'000)->Unit(benchmark::kMicrosecond);

// The whole of a request inside the group server but the sockets: decode,
// member check, append, encode, and the batch's BEGIN/COMMIT around
// state.range(0) sendMessage requests.
void BM_GroupSendBatch(benchmark::State& state) {
  StoreOnDisk disk;
  gc::Group group(*disk.store);
  gc::GroupOutcome out;
  const std::string join =
      R"({"action":"joinGroup","user_uuid":"0f8e4a52-7c1b-4e5e-9d43-2b1a6c3d9e70"})";
  group.handle_body(join, gc::now_us(), out);
  const auto batch = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    if (!disk.store->begin_batch()) state.SkipWithError("begin_batch failed");
    for (size_t i = 0; i < batch; ++i) group.handle_body(kSendRequest, gc::now_us(), out);
    if (auto s = disk.store->commit_batch(); !s) state.SkipWithError(s.message().c_str());
    if (out.reply.find("SUCCESS") == std::string::npos) state.SkipWithError(out.reply.c_str());
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_GroupSendBatch)->Arg(1)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
