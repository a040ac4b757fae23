#include "client/line_editor.hpp"

// clang-format off
#include <cstdio>
#include <editline/readline.h>
// clang-format on
#include <langinfo.h>

#include <algorithm>
#include <clocale>
#include <cstdlib>
#include <cstring>

namespace gc {

namespace {
LineEditor* g_active = nullptr;  // libedit's callback interface has one global handler

// libedit reads a typed multibyte character only under a UTF-8 LC_CTYPE;
// under the "C" locale every program starts in, it drops each non-ASCII byte
// ("ünïcødé" arrived as "ncd"). The user's locale when it is UTF-8, else
// C.UTF-8 (in every glibc). Only LC_CTYPE: numbers and times keep "C".
void use_utf8_ctype() {
  std::setlocale(LC_CTYPE, "");
  const char* codeset = nl_langinfo(CODESET);
  if (codeset == nullptr || std::strcmp(codeset, "UTF-8") != 0) std::setlocale(LC_CTYPE, "C.UTF-8");
}
}  // namespace

LineEditor::LineEditor(std::string prompt, std::string history_file)
    : prompt_(std::move(prompt)), history_file_(std::move(history_file)) {
  use_utf8_ctype();
  g_active = this;
  using_history();
  stifle_history(1000);
  if (!history_file_.empty()) read_history(history_file_.c_str());
  // Tab completes what the completer offers, never file names; words are
  // split at blanks only.
  static char kBlanks[] = " \t";
  rl_basic_word_break_characters = kBlanks;
  rl_completer_word_break_characters = kBlanks;
  rl_attempted_completion_function = &LineEditor::on_complete;
  install();
}

LineEditor::~LineEditor() {
  rl_callback_handler_remove();  // also puts the terminal back in its normal mode
  rl_attempted_completion_function = nullptr;
  if (!history_file_.empty()) write_history(history_file_.c_str());
  g_active = nullptr;
}

void LineEditor::install() {
  // Puts libedit in character-at-a-time mode and draws the prompt. libedit
  // drops back to whole-line (blocking) reads once a line completes, so this
  // runs again before the next read.
  rl_callback_handler_install(prompt_.c_str(), &LineEditor::on_line);
  prompt_hidden_ = false;
}

void LineEditor::on_line(char* line) {
  LineEditor* self = g_active;
  if (self == nullptr) {
    std::free(line);
    return;
  }
  self->prompt_hidden_ = true;
  if (line == nullptr) {
    self->eof_ = true;
    return;
  }
  if (self->recording_ && *line != '\0') {
    add_history(line);
    // Saved at once, so a shell that is killed keeps what was typed.
    if (!self->history_file_.empty()) write_history(self->history_file_.c_str());
  }
  self->completed_.emplace_back(line);
  std::free(line);
  // libedit has just left character-at-a-time mode (and the terminal's raw
  // mode). Go back at once, before more typed or pasted input arrives, but
  // with no prompt: the command's output comes first, then redraw() shows it.
  rl_callback_handler_install("", &LineEditor::on_line);
}

char** LineEditor::on_complete(const char* text, int start, int /*end*/) {
  rl_attempted_completion_over = 1;  // no file names when nothing matches
  LineEditor* self = g_active;
  if (self == nullptr || !self->completer_ || start < 0) return nullptr;
  const std::string_view line(rl_line_buffer != nullptr ? rl_line_buffer : "");
  const auto before = line.substr(0, std::min(line.size(), static_cast<size_t>(start)));
  self->matches_ = self->completer_(before, text);
  if (self->matches_.empty()) return nullptr;
  return rl_completion_matches(text, &LineEditor::next_match);
}

char* LineEditor::next_match(const char* /*text*/, int state) {
  // libedit asks with state 0, 1, 2, ... until it gets null; it frees each.
  LineEditor* self = g_active;
  if (self == nullptr || state < 0 || static_cast<size_t>(state) >= self->matches_.size())
    return nullptr;
  return strdup(self->matches_[static_cast<size_t>(state)].c_str());
}

void LineEditor::clear_eof() {
  eof_ = false;
  // After an end of input libedit has left character-at-a-time mode.
  rl_callback_handler_install("", &LineEditor::on_line);
  // The line on screen (the prompt, and the "^D" the terminal echoed) is
  // ours to erase with the next print_above.
  prompt_hidden_ = false;
}

void LineEditor::discard_line() {
  // libedit's rl_replace_line and rl_delete_text leave its buffer as it is;
  // starting the line afresh empties it.
  rl_callback_handler_remove();
  rl_callback_handler_install("", &LineEditor::on_line);
}

std::vector<std::string> LineEditor::on_readable() {
  completed_.clear();
  rl_callback_read_char();
  std::vector<std::string> out;
  out.swap(completed_);
  return out;
}

void LineEditor::print_above(std::string_view text) {
  if (prompt_hidden_) {
    // No prompt on screen: the terminal is in its normal mode.
    std::fwrite(text.data(), 1, text.size(), stdout);
    if (text.empty() || text.back() != '\n') std::fputc('\n', stdout);
    std::fflush(stdout);
    return;
  }
  // Carriage return and erase the input line, print, then let libedit draw
  // the prompt and the buffer again.
  std::fputs("\r\033[K", stdout);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (text.empty() || text.back() != '\n') std::fputc('\n', stdout);
  std::fflush(stdout);
  rl_forced_update_display();
}

void LineEditor::redraw() {
  std::fflush(stdout);
  if (prompt_hidden_) {
    rl_set_prompt(prompt_.c_str());
    prompt_hidden_ = false;
  }
  rl_forced_update_display();
}

void LineEditor::set_prompt(std::string prompt) {
  prompt_ = std::move(prompt);
  if (!prompt_hidden_) rl_set_prompt(prompt_.c_str());
}

}  // namespace gc
