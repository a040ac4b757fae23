#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace gc {
namespace fs = std::filesystem;

namespace {

AtomicWriteError failed(const char* what, const fs::path& file, int err) {
  return AtomicWriteError{err, std::string(what) + " " + file.string() + ": " + std::strerror(err)};
}

// Writes all of text to fd, syncs and closes it; 0 or the errno of the step that failed.
int write_all_and_close(int fd, std::string_view text, const AtomicWriteOptions& options) {
  int err = 0;
  if (options.exact_mode && ::fchmod(fd, static_cast<mode_t>(options.mode)) != 0) err = errno;
  size_t off = 0;
  while (err == 0 && off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno != EINTR) err = errno;
      continue;
    }
    off += static_cast<size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  return err;
}

// Makes the new name durable: a rename or link is an entry of the directory,
// which a power loss can lose unless the directory itself is synced. Best
// effort: the file is in place whatever this says.
void sync_directory_of(const fs::path& target) {
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

std::optional<AtomicWriteError> write_file_atomically(const fs::path& target, std::string_view text,
                                                      const AtomicWriteOptions& options) {
  fs::path tmp = target;
  tmp += ".tmp" + std::to_string(static_cast<long>(::getpid()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                        static_cast<mode_t>(options.mode));
  if (fd < 0) return failed("cannot create", tmp, errno);
  if (const int err = write_all_and_close(fd, text, options); err != 0) {
    ::unlink(tmp.c_str());
    return failed("cannot write", tmp, err);
  }
  if (options.keep_existing) {
    const int rc = ::link(tmp.c_str(), target.c_str());
    const int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) return failed("cannot create", target, err);
    sync_directory_of(target);
    return std::nullopt;
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return failed("cannot replace", target, err);
  }
  sync_directory_of(target);
  return std::nullopt;
}

}  // namespace gc
