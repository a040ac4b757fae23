#include "core/json_text.hpp"

#include <charconv>

namespace gc {

size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second byte
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;  // no surrogates
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xbf) return 0;
  return n;
}

bool json_nesting_exceeds(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i++];
    if (c == '"') {
      // Skip the string: up to the next quote that no backslash escapes.
      while (i < n) {
        i += plain_run(text, i);
        if (i >= n) break;
        const char d = text[i++];
        if (d == '"') break;
        if (d == '\\' && i < n) ++i;
      }
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

void append_u64(std::string& out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

namespace {

// Whether a valid UTF-8 sequence of n bytes at p is one of the code points a
// terminal acts on or reorders by: C1 controls, bidi marks and controls, the
// line and paragraph separators (the list of core/visible_text.hpp).
bool acts_on_terminal(const char* p, size_t n) {
  const auto b0 = static_cast<unsigned char>(p[0]), b1 = static_cast<unsigned char>(p[1]);
  if (n == 2)
    return (b0 == 0xc2 && b1 <= 0x9f) || (b0 == 0xd8 && b1 == 0x9c);  // U+0080..9F, U+061C
  if (n != 3 || b0 != 0xe2) return false;
  const auto b2 = static_cast<unsigned char>(p[2]);
  if (b1 == 0x80)
    return b2 == 0x8e || b2 == 0x8f || (b2 >= 0xa8 && b2 <= 0xae);  // U+200E/F, U+2028..2E
  if (b1 == 0x81) return b2 >= 0xa6 && b2 <= 0xa9;                  // U+2066..2069
  return false;
}

constexpr char kHex[] = "0123456789abcdef";

template <bool kVisible>
void append_json_string_impl(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // The plain run up to the next byte that needs a look, appended at once.
    const size_t run = i;
    i += plain_run(s, i);
    if constexpr (kVisible) {
      // plain_run passes DEL, which is escaped here; cut the run at it.
      for (size_t k = run; k < i; ++k) {
        if (s[k] == 0x7f) {
          i = k;
          break;
        }
      }
    }
    out.append(s.data() + run, i - run);
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Replies must be valid UTF-8 even when they quote bad input back.
      if (size_t n = utf8_sequence_length(s, i); n > 0) {
        if (kVisible && acts_on_terminal(s.data() + i, n)) {
          const uint32_t cp =
              n == 2 ? ((c & 0x1fu) << 6) | (s[i + 1] & 0x3fu)
                     : ((c & 0x0fu) << 12) | ((s[i + 1] & 0x3fu) << 6) | (s[i + 2] & 0x3fu);
          out += "\\u";
          for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(cp >> shift) & 0xf]);
        } else {
          out.append(s.data() + i, n);
        }
        i += n;
      } else {
        out += "\\ufffd";
        ++i;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.push_back('"');
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  append_json_string_impl<false>(out, s);
}

void append_json_string_visible(std::string& out, std::string_view s) {
  append_json_string_impl<true>(out, s);
}

}  // namespace gc
