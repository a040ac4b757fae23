#pragma once
// Replacing a small file whole: the text goes to a temporary file beside the
// target (TARGET.tmp<pid>), is synced, and only then takes the target's name,
// so a reader sees the old file or the new one, never a part, and a failed
// write leaves the old file as it was. The directory is synced after the
// rename, so that the new name survives a power loss too.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace gc {

struct AtomicWriteOptions {
  // The new file's permissions, less the umask...
  unsigned mode = 0600;
  // ...or exactly these (fchmod), whatever the umask or a stale temporary
  // file of the same name had: for a secret.
  bool exact_mode = false;
  // link(2) instead of rename(2): a target that exists already is kept (the
  // error is then EEXIST), so that of two processes creating it at once the
  // first one's file wins.
  bool keep_existing = false;
};

struct AtomicWriteError {
  int err = 0;          // errno of the step that failed
  std::string message;  // "cannot create|write|replace FILE: errno's words"
};

// Writes text to `target` as above; nullopt when it holds the text. On
// failure the temporary file is removed and the target is untouched.
std::optional<AtomicWriteError> write_file_atomically(const std::filesystem::path& target,
                                                      std::string_view text,
                                                      const AtomicWriteOptions& options = {});

}  // namespace gc
