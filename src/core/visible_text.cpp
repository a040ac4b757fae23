#include "core/visible_text.hpp"

#include <cstdint>

#include "core/json_text.hpp"

namespace gc {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void append_hex_byte(std::string& out, unsigned char c) {
  out += "\\x";
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 0xf]);
}

void append_u_escape(std::string& out, uint32_t cp) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(cp >> shift) & 0xf]);
}

// The code point of a valid UTF-8 sequence of n bytes at p.
uint32_t decode_utf8(const unsigned char* p, size_t n) {
  switch (n) {
    case 2:
      return (uint32_t{p[0] & 0x1fu} << 6) | (p[1] & 0x3fu);
    case 3:
      return (uint32_t{p[0] & 0x0fu} << 12) | (uint32_t{p[1] & 0x3fu} << 6) | (p[2] & 0x3fu);
    default:
      return (uint32_t{p[0] & 0x07u} << 18) | (uint32_t{p[1] & 0x3fu} << 12) |
             (uint32_t{p[2] & 0x3fu} << 6) | (p[3] & 0x3fu);
  }
}

bool shown_escaped(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

// Printable ASCII, the bytes shown as they are (quote and backslash included,
// which plain_run stops at).
bool printable_ascii(unsigned char c) {
  return c >= 0x20 && c < 0x7f;
}

enum class Mode { line, field, message };

void append(std::string& out, std::string_view s, Mode mode) {
  out.reserve(out.size() + s.size());
  size_t i = 0;
  if (mode == Mode::field && !s.empty() && s[0] == ' ') {
    append_hex_byte(out, ' ');
    i = 1;
  }
  while (i < s.size()) {
    // Runs of plain ASCII at once (plain_run stops at '"' and '\\' too).
    // plain_run passes DEL, which is escaped: the run is cut there.
    const size_t run = i;
    i += plain_run(s, i);
    while (i < s.size() && printable_ascii(static_cast<unsigned char>(s[i]))) {
      ++i;
      i += plain_run(s, i);
    }
    for (size_t k = run; k < i; ++k) {
      if (s[k] == 0x7f) {
        i = k;
        break;
      }
    }
    out.append(s.data() + run, i - run);
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (mode == Mode::message && c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      if (mode == Mode::message && s[i] == '\n') {
        out.push_back('\n');
        out += kContinuationIndent;
      } else {
        append_hex_byte(out, c);
      }
      ++i;
      continue;
    }
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      append_hex_byte(out, c);
      ++i;
      continue;
    }
    const uint32_t cp = decode_utf8(reinterpret_cast<const unsigned char*>(s.data() + i), n);
    if (shown_escaped(cp))
      append_u_escape(out, cp);
    else
      out.append(s.data() + i, n);
    i += n;
  }
}

}  // namespace

void append_visible(std::string& out, std::string_view s) {
  append(out, s, Mode::line);
}

std::string visible_text(std::string_view s) {
  std::string out;
  append(out, s, Mode::line);
  return out;
}

void append_visible_field(std::string& out, std::string_view s) {
  append(out, s, Mode::field);
}

std::string visible_field(std::string_view s) {
  std::string out;
  append(out, s, Mode::field);
  return out;
}

void append_visible_message(std::string& out, std::string_view s) {
  append(out, s, Mode::message);
}

std::string visible_message(std::string_view s) {
  std::string out;
  append(out, s, Mode::message);
  return out;
}

bool is_visible_as_is(std::string_view s) {
  std::string out;
  append(out, s, Mode::line);
  return out == s;
}

}  // namespace gc
