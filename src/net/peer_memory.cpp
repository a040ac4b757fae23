#include "net/peer_memory.hpp"

#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace gc {

MemoryLimits MemoryLimits::for_budget(size_t budget_bytes, size_t max_request_bytes) {
  MemoryLimits m;
  m.budget_bytes = budget_bytes;
  m.peer_share_bytes = std::max<size_t>(budget_bytes / 16, size_t{1} << 20);
  m.peer_parked_bytes = std::max(m.peer_share_bytes / 4, 2 * max_request_bytes);
  return m;
}

namespace {

struct Holder {
  std::shared_ptr<PeerAccount> account;  // null: the total only
  std::shared_ptr<QueuedTotal> total;
  int64_t peer_charge;
  int64_t total_charge;
};

// One block: the holder, then the bytes (aligned for the holder).
constexpr size_t kHeader = (sizeof(Holder) + alignof(std::max_align_t) - 1) /
                           alignof(std::max_align_t) * alignof(std::max_align_t);

void release(void*, void* hint) noexcept {
  auto* h = static_cast<Holder*>(hint);
  if (h->account) h->account->queued.fetch_sub(h->peer_charge, std::memory_order_relaxed);
  h->total->bytes.fetch_sub(h->total_charge, std::memory_order_relaxed);
  h->~Holder();
  std::free(h);
}

zmq::message_t charged_message(std::string_view body, const std::shared_ptr<PeerAccount>& account,
                               std::shared_ptr<QueuedTotal> total, size_t peer_charge,
                               size_t total_charge) {
  void* block = std::malloc(kHeader + std::max<size_t>(body.size(), 1));
  if (!block) throw std::bad_alloc();
  auto* h = new (block) Holder{account, std::move(total), static_cast<int64_t>(peer_charge),
                               static_cast<int64_t>(total_charge)};
  char* data = static_cast<char*>(block) + kHeader;
  if (!body.empty()) std::memcpy(data, body.data(), body.size());
  if (account) account->queued.fetch_add(h->peer_charge, std::memory_order_relaxed);
  h->total->bytes.fetch_add(h->total_charge, std::memory_order_relaxed);
  return zmq::message_t(data, body.size(), &release, h);
}

}  // namespace

zmq::message_t accounted_message(std::string_view body, size_t charge,
                                 const std::shared_ptr<PeerAccount>& account) {
  return charged_message(body, account, account->total, charge, charge);
}

zmq::message_t shared_message(std::string_view body, size_t charge,
                              const std::shared_ptr<QueuedTotal>& total) {
  return charged_message(body, nullptr, total, 0, charge);
}

zmq::message_t accounted_marker(size_t peer_charge, size_t total_charge,
                                const std::shared_ptr<PeerAccount>& account) {
  return charged_message({}, account, account->total, peer_charge, total_charge);
}

bool TrimAfterDrop::maybe_trim(int64_t total_bytes, int64_t now_ms) {
  high_ = std::max(high_, total_bytes);
  if (high_ - total_bytes < kDropBytes || now_ms - last_ms_ < kIntervalMs) return false;
  malloc_trim(0);
  high_ = total_bytes;
  last_ms_ = now_ms;
  return true;
}

}  // namespace gc
