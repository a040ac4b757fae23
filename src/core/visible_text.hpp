#pragma once
// Untrusted text made safe to show on a terminal or in a log line: nothing a
// peer sends can move the cursor, change the window title, write the
// clipboard, hide or reorder text, or start a line that looks like one of
// ours. What would act instead of showing is shown as an escape that reads as
// itself (docs/PROTOCOL.md, "Output to terminals and logs"):
//
//   C0 controls (U+0000..U+001F, ESC and TAB included), DEL  ->  \x1b, \x7f, ...
//   C1 controls (U+0080..U+009F)                             ->  \u009b
//   bidi marks, embeddings, overrides and isolates
//   (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069)
//   and the line and paragraph separators U+2028, U+2029     ->  \u202e, \u2028
//   a byte that is not part of valid UTF-8                   ->  \xff (each byte)
//
// A newline is \x0a in a one-line field (a name, a uuid, an address); in a
// message text (append_visible_message) it ends the line and the next one
// starts with kContinuationIndent, which no first line can start with: fields
// shown at the start of a line go through append_visible_field, which shows a
// leading blank as \x20. A backslash is shown as is. Everything else (printable
// ASCII, valid UTF-8 such as "héllo wörld ✓ 日本") is unchanged.
#include <string>
#include <string_view>

namespace gc {

// What starts each further line of a message text.
inline constexpr std::string_view kContinuationIndent = "    ";

// Appends s as one line (a newline is \x0a).
void append_visible(std::string& out, std::string_view s);
std::string visible_text(std::string_view s);

// The same, and a blank as first byte is shown as \x20: for a field that a
// printed line starts with (WHO in "WHO : TEXT"), so that it cannot pass for
// a continuation line.
void append_visible_field(std::string& out, std::string_view s);
std::string visible_field(std::string_view s);

// A message text: a newline (and a CR LF pair) continues on a new line that
// starts with kContinuationIndent.
void append_visible_message(std::string& out, std::string_view s);
std::string visible_message(std::string_view s);

// Whether s would be shown unchanged by append_visible.
bool is_visible_as_is(std::string_view s);

}  // namespace gc
