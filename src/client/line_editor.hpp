#pragma once
// LineEditor: an interactive line editor (libedit, with history) that an
// event loop drives, so text can be printed while the user is typing.
//
// The loop polls fd() for input and calls on_readable(); completed lines come
// back from it. After a completed line the terminal is left in its normal
// (cooked) mode with no prompt, so the command's output prints plainly; the
// loop then calls redraw() to show the prompt again. print_above() prints text
// above the prompt and redraws the prompt and the half-typed line intact.
// Only one LineEditor may exist at a time (libedit's callback interface is
// global), and only on a terminal.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gc {

class LineEditor {
 public:
  // history_file: where history is loaded from and saved to ("" for none).
  LineEditor(std::string prompt, std::string history_file);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  int fd() const { return 0; }
  // Feeds the available input to the editor. Returns the lines completed by
  // it, in order. After end of input (Ctrl-D on an empty line), eof() is true.
  std::vector<std::string> on_readable();
  bool eof() const { return eof_; }
  // Forgets an end of input (Ctrl-D) and reads on: the program goes on.
  void clear_eof();
  // Empties the line being typed.
  void discard_line();

  // Prints text (one or more lines, no trailing newline needed) above the
  // input line, then redraws the prompt and what the user has typed so far.
  void print_above(std::string_view text);
  // Draws the prompt (and the buffer) afresh, after output that followed a
  // completed line.
  void redraw();
  // Changes the prompt from the next redraw on.
  void set_prompt(std::string prompt);
  // Whether completed lines go into the history (and its file). On by default;
  // off e.g. for the lines of a message being typed.
  void set_recording(bool on) { recording_ = on; }

  // Tab: the words that may stand where `word` (the text from the last blank
  // to the cursor) is typed, after `before` (the line up to that word). One
  // word is put in; several: their common start, and a second Tab lists them.
  using Completer =
      std::function<std::vector<std::string>(std::string_view before, std::string_view word)>;
  void set_completer(Completer completer) { completer_ = std::move(completer); }

 private:
  static void on_line(char* line);
  static char** on_complete(const char* text, int start, int end);
  static char* next_match(const char* text, int state);
  void install();

  std::string prompt_;
  std::string history_file_;
  std::vector<std::string> completed_;
  bool eof_ = false;
  bool recording_ = true;
  bool prompt_hidden_ = false;
  Completer completer_;
  std::vector<std::string> matches_;  // of the Tab being answered  // a line completed; no prompt
                                      // on screen until redraw()
};

}  // namespace gc
