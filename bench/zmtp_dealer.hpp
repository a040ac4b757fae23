#pragma once
// One DEALER peer spoken by hand: ZMTP 3.0 with the NULL mechanism (RFC 23)
// over a plain non-blocking TCP socket, for a process that holds thousands
// of them in one epoll loop at a fraction of what a libzmq socket costs
// each. Only what a follower needs is here: the greeting, the READY command
// (Socket-Type DEALER), messages out, and messages in (commands from the
// server are read and skipped; ERROR ends the connection).
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

// Encodes one message of `frames` as ZMTP frames (MORE on all but the last).
void append_zmtp_message(std::string& out, const std::vector<std::string_view>& frames);

class ZmtpDealer {
 public:
  ZmtpDealer() = default;
  ~ZmtpDealer();
  ZmtpDealer(ZmtpDealer&& other) noexcept;
  ZmtpDealer& operator=(ZmtpDealer&&) = delete;
  ZmtpDealer(const ZmtpDealer&) = delete;
  ZmtpDealer& operator=(const ZmtpDealer&) = delete;

  // Starts a non-blocking connect to 127.0.0.x `ipv4`:`port` and queues the
  // greeting and READY. Returns an error text, empty on success.
  std::string connect(const std::string& ipv4, uint16_t port);

  // Queues one message ([empty delimiter][body] when `delimiter`) and
  // writes what the socket takes. Messages wait for the server's READY:
  // libzmq takes a message that comes before it has sent its own READY as a
  // second handshake command and drops the connection.
  void send(std::string_view body, bool delimiter);

  // Writes what is queued (call on EPOLLOUT). False when the connection failed.
  bool flush();
  bool wants_write() const { return !out_.empty(); }

  // Parses what `read(2)` delivered: calls on_body(body) with the last frame of
  // each complete message. Returns false (and sets error()) on a protocol
  // error, an ERROR command or a closed connection.
  template <typename OnBody>
  bool receive(std::string_view data, OnBody&& on_body);

  // Whether the server's greeting has arrived (the server accepted us).
  bool greeted() const { return greeted_; }
  // Whether its READY has arrived (messages may flow).
  bool ready() const { return ready_; }
  int fd() const { return fd_; }
  const std::string& error() const { return error_; }
  void fail(std::string why);

 private:
  // Parses frames from in_ (after the greeting); returns the bodies of
  // complete messages in `bodies` (views into in_, valid until the next call).
  bool parse(std::vector<std::string_view>& bodies);

  int fd_ = -1;
  bool greeted_ = false;
  bool ready_ = false;
  std::string in_;       // bytes not parsed yet
  size_t consumed_ = 0;  // ... of which the first consumed_ are parsed
  std::string out_;      // bytes not written yet
  std::string held_;     // messages queued before the server's READY
  std::string error_;
  std::vector<std::string_view> bodies_;
};

template <typename OnBody>
bool ZmtpDealer::receive(std::string_view data, OnBody&& on_body) {
  in_.append(data);
  bodies_.clear();
  const bool was_ready = ready_;
  if (!parse(bodies_)) return false;
  if (ready_ && !was_ready) {
    out_ += held_;
    held_.clear();
    if (!flush()) return false;
  }
  for (auto body : bodies_) on_body(body);
  in_.erase(0, consumed_);
  consumed_ = 0;
  return true;
}

}  // namespace bench
