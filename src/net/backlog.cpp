#include "net/backlog.hpp"

#include <algorithm>

namespace gc {

BacklogLimits BacklogLimits::for_budget(uint64_t budget_bytes, uint64_t max_frame_bytes) {
  BacklogLimits l;
  const uint64_t two_requests = 2 * zmtp_frame_wire_bytes(max_frame_bytes) + 1024;
  l.per_connection_bytes = std::max(budget_bytes / 32, two_requests);
  l.total_bytes = std::max(budget_bytes / 4, l.per_connection_bytes);
  l.growth_trigger_bytes = std::max<uint64_t>(l.per_connection_bytes / 2, 1);
  return l;
}

std::vector<int> BacklogLedger::fds() const {
  std::vector<int> out;
  out.reserve(delivered_.size());
  for (const auto& [fd, bytes] : delivered_) out.push_back(fd);
  return out;
}

uint64_t BacklogLedger::undelivered(int fd, uint64_t read_by_libzmq, int64_t now_ms) const {
  auto it = delivered_.find(fd);
  if (it == delivered_.end()) return 0;
  const int64_t age_ms = std::max<int64_t>(0, now_ms - it->second.accepted_ms);
  const uint64_t credited = it->second.bytes + kHandshakeAllowanceBytes +
                            static_cast<uint64_t>(age_ms / 1000) * kCommandBytesPerSecond;
  return read_by_libzmq > credited ? read_by_libzmq - credited : 0;
}

bool BacklogLedger::progressing(int fd) const {
  auto it = delivered_.find(fd);
  return it != delivered_.end() && (it->second.since_look || it->second.previous);
}

void BacklogLedger::looked(int64_t now_ms) {
  if (now_ms - window_start_ms_ < kProgressWindowMs) return;
  window_start_ms_ = now_ms;
  for (auto& [fd, entry] : delivered_) {
    entry.previous = entry.since_look;
    entry.since_look = false;
  }
}

std::vector<Backlog> backlogs_to_close(std::vector<Backlog>& backlogs,
                                       const BacklogLimits& limits) {
  std::sort(backlogs.begin(), backlogs.end(),
            [](const Backlog& a, const Backlog& b) { return a.undelivered > b.undelivered; });
  uint64_t total = 0;
  for (const auto& b : backlogs) total += b.undelivered;
  std::vector<Backlog> out;
  for (const auto& b : backlogs) {
    if (b.undelivered == 0) break;
    if (b.undelivered <= limits.per_connection_bytes && total <= limits.total_bytes) break;
    const uint64_t own_limit = b.progressing ? limits.total_bytes : limits.per_connection_bytes;
    if (b.undelivered <= own_limit && total <= limits.total_bytes) continue;
    out.push_back(b);
    total -= b.undelivered;
  }
  return out;
}

}  // namespace gc
