#pragma once
// What every harness shares: a check that stops the run with a message
// (libFuzzer then saves the input as a crash), and splitting one fuzz input
// into the lines a state-machine harness feeds in one by one.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

// Not assert(): the sanitizer tree builds with NDEBUG, and a broken invariant
// must fail whatever the build type.
#define FUZZ_CHECK(cond, ...)                                                              \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, "  " __VA_ARGS__);                                              \
      std::fprintf(stderr, "\n");                                                          \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

namespace gc::fuzz {

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The input's lines, without their '\n' (a last line without one counts too).
inline std::vector<std::string_view> split_lines(std::string_view input) {
  std::vector<std::string_view> lines;
  while (!input.empty()) {
    size_t end = input.find('\n');
    if (end == std::string_view::npos) end = input.size();
    lines.push_back(input.substr(0, end));
    input.remove_prefix(end == input.size() ? end : end + 1);
  }
  return lines;
}

// A byte that moves a terminal's cursor or starts an escape sequence.
inline bool is_control(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// "@word rest": a control line of a state-machine harness; the rest parsed as
// a signed integer when it is one (0 otherwise).
inline bool control(std::string_view line, std::string_view word, int64_t* number = nullptr) {
  if (line.size() < word.size() + 1 || line[0] != '@' || line.substr(1, word.size()) != word)
    return false;
  std::string_view rest = line.substr(1 + word.size());
  if (!rest.empty() && rest[0] != ' ') return false;
  if (number) {
    *number = 0;
    bool negative = false;
    size_t i = 0;
    while (i < rest.size() && rest[i] == ' ') ++i;
    if (i < rest.size() && rest[i] == '-') negative = true, ++i;
    for (int digits = 0; i < rest.size() && rest[i] >= '0' && rest[i] <= '9' && digits < 12;
         ++i, ++digits)
      *number = *number * 10 + (rest[i] - '0');
    if (negative) *number = -*number;
  }
  return true;
}

}  // namespace gc::fuzz
