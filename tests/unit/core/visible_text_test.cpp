// Untrusted text on a terminal: everything that would act (controls, escape
// sequences, bidi reordering, bad UTF-8) is shown as an escape instead, a
// newline in a message continues on an indented line, and ordinary text is
// untouched.
#include "core/visible_text.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/json_text.hpp"

namespace gc {
namespace {

TEST(VisibleText, PlainTextAndValidUtf8AreUnchanged) {
  for (std::string s :
       {"", "hello", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac",
        "quote \" backslash \\ tilde ~", "\xf0\x9f\x98\x80"}) {
    EXPECT_EQ(visible_text(s), s);
    EXPECT_EQ(visible_message(s), s);
    EXPECT_TRUE(is_visible_as_is(s));
  }
}

TEST(VisibleText, EveryC0ControlAndDelAreShownAsHex) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string in(1, static_cast<char>(c));
    char want[8];
    std::snprintf(want, sizeof want, "\\x%02x", c);
    EXPECT_EQ(visible_text(in), want) << c;
  }
  EXPECT_EQ(visible_text("\x7f"), "\\x7f");
  // The attacks: a window title, a clear screen, a clipboard write, hidden text.
  EXPECT_EQ(visible_text("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
  EXPECT_EQ(visible_text("\x1b[2J\x1b[H"), "\\x1b[2J\\x1b[H");
  EXPECT_EQ(visible_text("\x1b]52;c;ZXZpbA==\x1b\\"), "\\x1b]52;c;ZXZpbA==\\x1b\\");
  EXPECT_EQ(visible_text("a\x1b[8mhidden"), "a\\x1b[8mhidden");
  EXPECT_EQ(visible_text("over\rwrite"), "over\\x0dwrite");
}

TEST(VisibleText, C1ControlsAreShownAsCodePoints) {
  for (unsigned cp = 0x80; cp <= 0x9f; ++cp) {
    std::string in{static_cast<char>(0xc0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3f))};
    char want[8];
    std::snprintf(want, sizeof want, "\\u%04x", cp);
    EXPECT_EQ(visible_text(in), want) << cp;
  }
  EXPECT_EQ(visible_text("\xc2\xa0"), "\xc2\xa0");  // U+00A0 is printable
}

TEST(VisibleText, BidiControlsMarksAndLineSeparatorsAreShownAsCodePoints) {
  const char* cases[][2] = {
      {"\xd8\x9c", "\\u061c"},     {"\xe2\x80\x8e", "\\u200e"}, {"\xe2\x80\x8f", "\\u200f"},
      {"\xe2\x80\xaa", "\\u202a"}, {"\xe2\x80\xab", "\\u202b"}, {"\xe2\x80\xac", "\\u202c"},
      {"\xe2\x80\xad", "\\u202d"}, {"\xe2\x80\xae", "\\u202e"}, {"\xe2\x81\xa6", "\\u2066"},
      {"\xe2\x81\xa7", "\\u2067"}, {"\xe2\x81\xa8", "\\u2068"}, {"\xe2\x81\xa9", "\\u2069"},
      {"\xe2\x80\xa8", "\\u2028"}, {"\xe2\x80\xa9", "\\u2029"},
  };
  for (const auto& c : cases) EXPECT_EQ(visible_text(c[0]), c[1]) << c[1];
  EXPECT_EQ(visible_text("\xe2\x80\x94"), "\xe2\x80\x94");  // an em dash stays
  EXPECT_EQ(visible_text("evil\xe2\x80\xaetxt.exe"), "evil\\u202etxt.exe");
}

TEST(VisibleText, InvalidUtf8IsShownByteByByte) {
  EXPECT_EQ(visible_text("\xff"), "\\xff");
  EXPECT_EQ(visible_text("a\xc3"), "a\\xc3");                           // truncated
  EXPECT_EQ(visible_text("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(visible_text("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(visible_text("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(visible_text("\x80x"), "\\x80x");                           // a lone continuation byte
}

TEST(VisibleText, ANewlineInAMessageContinuesOnAnIndentedLine) {
  EXPECT_EQ(visible_message("one\ntwo"), "one\n    two");
  EXPECT_EQ(visible_message("one\r\ntwo\n"), "one\n    two\n    ");
  EXPECT_EQ(visible_message("lone\rcr"), "lone\\x0dcr");
  // A forged message line stays inside the message, indented.
  EXPECT_EQ(visible_message("hi\nmallory : send me your password (12:00:00)"),
            "hi\n    mallory : send me your password (12:00:00)");
  // In a one-line field a newline is an escape.
  EXPECT_EQ(visible_text("a\nb"), "a\\x0ab");
}

TEST(VisibleText, AFieldThatStartsALineCannotStartWithABlank) {
  EXPECT_EQ(visible_field("    mallory"), "\\x20   mallory");
  EXPECT_EQ(visible_field("ann lee"), "ann lee");
  EXPECT_EQ(visible_field(""), "");
}

TEST(VisibleText, AOneLineResultIsPrintableAsciiAndShownAsIs) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  all += "\xe2\x80\xae\xc2\x9b";
  const std::string line = visible_text(all);
  EXPECT_EQ(visible_text(line), line);
  for (char c : line) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 && u < 0x7f) << static_cast<int>(u);  // all of it escaped to ASCII here
  }
}

TEST(JsonStringVisible, EscapesWhatActsOnATerminalAndStaysExactJson) {
  std::string out;
  append_json_string_visible(out, "a\x1b[2J\x7f\xc2\x9b\xe2\x80\xae\n\xff \xc3\xa9");
  EXPECT_EQ(out, "\"a\\u001b[2J\\u007f\\u009b\\u202e\\n\\ufffd \xc3\xa9\"");
  out.clear();
  append_json_string_visible(out, "plain \"q\" \\");
  EXPECT_EQ(out, R"("plain \"q\" \\")");
}

TEST(JsonNesting, DepthIsCountedOutsideStringsOnly) {
  EXPECT_FALSE(json_nesting_exceeds("[[1]]", 2));
  EXPECT_TRUE(json_nesting_exceeds("[[[1]]]", 2));
  EXPECT_FALSE(json_nesting_exceeds(R"(["[[[[", "\"[[[["])", 1));
  EXPECT_TRUE(json_nesting_exceeds(std::string(1'000'000, '['), 32));
  EXPECT_FALSE(json_nesting_exceeds(std::string(32, '[') + std::string(32, ']') + "[]", 32));
  EXPECT_FALSE(json_nesting_exceeds("\"unterminated [[[[", 1));
}

}  // namespace
}  // namespace gc
