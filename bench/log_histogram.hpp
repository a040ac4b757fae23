#pragma once
// A latency histogram in microseconds with buckets 1 us wide below 64 us and
// 1/64 of a power of two above (under 1.6% error), small enough to be sent
// over a pipe as text and merged: the fan-out scenario's follower processes
// each count their receipts in one, and the parent merges them.
#include <cmath>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>

namespace bench {

class LogHistogram {
 public:
  void add(double us) {
    ++buckets_[index_of(us)];
    ++count_;
  }
  void merge(const LogHistogram& other) {
    for (const auto& [i, n] : other.buckets_) buckets_[i] += n;
    count_ += other.count_;
  }
  uint64_t count() const { return count_; }

  // Nearest-rank percentile (p in 0..1), as the middle of its bucket; 0 when empty.
  double percentile(double p) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(std::ceil(p * static_cast<double>(count_)));
    uint64_t seen = 0;
    for (const auto& [i, n] : buckets_) {
      seen += n;
      if (seen >= rank) return middle_of(i);
    }
    return middle_of(buckets_.rbegin()->first);
  }

  // "index:count index:count ..." and back.
  std::string encode() const {
    std::string out;
    for (const auto& [i, n] : buckets_)
      out += (out.empty() ? "" : " ") + std::to_string(i) + ":" + std::to_string(n);
    return out;
  }
  static LogHistogram decode(const std::string& text) {
    LogHistogram h;
    std::istringstream in(text);
    for (std::string pair; in >> pair;) {
      const size_t colon = pair.find(':');
      if (colon == std::string::npos) continue;
      const uint64_t n = std::stoull(pair.substr(colon + 1));
      h.buckets_[static_cast<uint32_t>(std::stoul(pair.substr(0, colon)))] += n;
      h.count_ += n;
    }
    return h;
  }

 private:
  static constexpr int kSubBits = 6;  // 64 buckets per power of two

  static uint32_t index_of(double us) {
    const uint64_t x = us <= 0 ? 0 : static_cast<uint64_t>(us);
    if (x < (uint64_t{1} << kSubBits)) return static_cast<uint32_t>(x);
    const int e = 63 - __builtin_clzll(x);  // x's highest bit, >= kSubBits
    const uint64_t sub = (x >> (e - kSubBits)) - (uint64_t{1} << kSubBits);
    return static_cast<uint32_t>((uint64_t{1} << kSubBits) * (e - kSubBits + 1) + sub);
  }
  static double middle_of(uint32_t index) {
    constexpr uint32_t kSub = 1u << kSubBits;
    if (index < kSub) return index + 0.5;
    const int e = static_cast<int>(index / kSub) - 1 + kSubBits;
    const double width = std::ldexp(1.0, e - kSubBits);
    const double low = std::ldexp(1.0, e) + static_cast<double>(index % kSub) * width;
    return low + width / 2;
  }

  std::map<uint32_t, uint64_t> buckets_;
  uint64_t count_ = 0;
};

}  // namespace bench
