#pragma once
// JSON text at the byte level, shared by every hand-written encoder and by
// the request scanner: string escaping, UTF-8 validation and the fast scan
// for bytes that need no escaping. No JSON tree is built here.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace gc {

// Appends s as a JSON string literal (quoted, escaped) to out. Invalid UTF-8
// becomes U+FFFD, so the output is valid JSON whatever the input.
void append_json_string(std::string& out, std::string_view s);
// The same, and also escapes (as \u007f, \u009b, \u202e, ...) DEL, the C1
// controls, the bidi controls and marks and U+2028/U+2029: JSON meant for a
// terminal (get --json), exact to a parser and inert on a screen.
void append_json_string_visible(std::string& out, std::string_view s);
// Appends v in decimal.
void append_u64(std::string& out, uint64_t v);

// Whether arrays and objects in the JSON text nest deeper than max_depth
// levels ("[[1]]" is 2; brackets inside strings do not count). One linear
// pass, no allocation; meant to run before a parser that builds a tree, so
// that no input makes it recurse or allocate without bound. The text need
// not be valid JSON.
bool json_nesting_exceeds(std::string_view text, size_t max_depth);

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one.
// These are exactly the sequences a strict JSON parser (nlohmann's) accepts.
size_t utf8_sequence_length(std::string_view s, size_t i);

namespace json_text_detail {
// Byte classes inside a JSON string: 0 plain ASCII, 1 must be escaped (or ends
// the string when reading: '"', '\\', control bytes), 2 starts a multi-byte sequence.
struct ByteClasses {
  unsigned char of[256] = {};
  constexpr ByteClasses() {
    for (int c = 0; c < 0x20; ++c) of[c] = 1;
    of[static_cast<unsigned char>('"')] = 1;
    of[static_cast<unsigned char>('\\')] = 1;
    for (int c = 0x80; c < 0x100; ++c) of[c] = 2;
  }
};
inline constexpr ByteClasses kByteClass{};

// Whether 8 bytes are all plain (class 0), tested at once: no byte below
// 0x20, none equal to '"' or '\\', none with the high bit set. The usual
// "has a zero byte" tests, sharing one "& ~x": when no byte of x has its high
// bit set (else we answer no anyway), ~x, ~quote and ~backslash agree there.
inline bool all_plain(const char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  uint64_t x;
  std::memcpy(&x, p, 8);
  const uint64_t quote = x ^ (kOnes * '"'), backslash = x ^ (kOnes * '\\');
  const uint64_t special = ((x - kOnes * 0x20) | (quote - kOnes) | (backslash - kOnes)) & ~x;
  return ((special | x) & kHighs) == 0;
}
}  // namespace json_text_detail

// How many bytes from `from` on are plain printable ASCII other than '"' and
// '\\': the run a JSON string can copy as is, in either direction.
inline size_t plain_run(std::string_view s, size_t from) {
  size_t i = from;
  while (i + 8 <= s.size() && json_text_detail::all_plain(s.data() + i)) i += 8;
  while (i < s.size() && json_text_detail::kByteClass.of[static_cast<unsigned char>(s[i])] == 0)
    ++i;
  return i - from;
}

}  // namespace gc
