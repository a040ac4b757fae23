#include "zmtp_dealer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bench {

namespace {

constexpr size_t kGreetingBytes = 64;
constexpr uint8_t kMore = 0x01;
constexpr uint8_t kLong = 0x02;
constexpr uint8_t kCommand = 0x04;

// Signature, version 3.0, mechanism NULL, as-server 0, filler.
std::string greeting() {
  std::string g(kGreetingBytes, '\0');
  g[0] = static_cast<char>(0xff);
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 0;
  std::memcpy(g.data() + 12, "NULL", 4);
  return g;
}

void append_frame_header(std::string& out, uint8_t flags, size_t size) {
  if (size > 255) {
    out.push_back(static_cast<char>(flags | kLong));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((static_cast<uint64_t>(size) >> shift) & 0xff));
  } else {
    out.push_back(static_cast<char>(flags));
    out.push_back(static_cast<char>(size));
  }
}

// READY with the one property a DEALER must give.
std::string ready_command() {
  std::string body;
  body.push_back(5);
  body += "READY";
  const std::string name = "Socket-Type";
  const std::string value = "DEALER";
  body.push_back(static_cast<char>(name.size()));
  body += name;
  for (int shift = 24; shift >= 0; shift -= 8)
    body.push_back(static_cast<char>((value.size() >> shift) & 0xff));
  body += value;
  std::string out;
  append_frame_header(out, kCommand, body.size());
  return out + body;
}

}  // namespace

void append_zmtp_message(std::string& out, const std::vector<std::string_view>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    append_frame_header(out, i + 1 < frames.size() ? kMore : 0, frames[i].size());
    out.append(frames[i]);
  }
}

ZmtpDealer::~ZmtpDealer() {
  if (fd_ >= 0) close(fd_);
}

ZmtpDealer::ZmtpDealer(ZmtpDealer&& other) noexcept
    : fd_(other.fd_),
      greeted_(other.greeted_),
      ready_(other.ready_),
      in_(std::move(other.in_)),
      consumed_(other.consumed_),
      out_(std::move(other.out_)),
      held_(std::move(other.held_)),
      error_(std::move(other.error_)) {
  other.fd_ = -1;
}

std::string ZmtpDealer::connect(const std::string& ipv4, uint16_t port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return std::string("socket: ") + std::strerror(errno);
  const int one = 1;
  (void)setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (inet_pton(AF_INET, ipv4.c_str(), &addr.sin_addr) != 1) return "not an IPv4 address: " + ipv4;
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS)
    return std::string("connect: ") + std::strerror(errno);
  out_ = greeting() + ready_command();
  return {};
}

void ZmtpDealer::send(std::string_view body, bool delimiter) {
  std::string& to = ready_ ? out_ : held_;
  if (delimiter)
    append_zmtp_message(to, {std::string_view(), body});
  else
    append_zmtp_message(to, {body});
  if (ready_) (void)flush();
}

bool ZmtpDealer::flush() {
  while (!out_.empty() && error_.empty()) {
    const ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.erase(0, static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN)) {
      break;  // not connected yet, or the socket is full: EPOLLOUT tells when
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      fail(std::string("send: ") + std::strerror(errno));
    }
  }
  return error_.empty();
}

void ZmtpDealer::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
}

bool ZmtpDealer::parse(std::vector<std::string_view>& bodies) {
  const auto* p = reinterpret_cast<const uint8_t*>(in_.data());
  const size_t size = in_.size();
  if (!greeted_) {
    if (size < kGreetingBytes) return true;
    if (p[0] != 0xff || p[9] != 0x7f || p[10] < 3) {
      fail("the server's greeting is not ZMTP 3");
      return false;
    }
    greeted_ = true;
    consumed_ = kGreetingBytes;
  }
  for (;;) {
    size_t at = consumed_;
    if (size - at < 2) return true;
    const uint8_t flags = p[at];
    size_t length = 0;
    if (flags & kLong) {
      if (size - at < 9) return true;
      for (size_t i = 1; i <= 8; ++i) length = (length << 8) | p[at + i];
      at += 9;
    } else {
      length = p[at + 1];
      at += 2;
    }
    if (size - at < length) return true;
    const std::string_view frame(in_.data() + at, length);
    consumed_ = at + length;
    if (flags & kCommand) {
      if (frame.size() >= 6 && frame.substr(1, 5) == "ERROR") {
        fail("the server sent ERROR: " + std::string(frame.substr(6)));
        return false;
      }
      if (frame.size() >= 6 && frame.substr(1, 5) == "READY") ready_ = true;
      continue;  // PING and others: nothing a follower needs
    }
    if (!(flags & kMore)) bodies.push_back(frame);  // the body is a message's last frame
  }
}

}  // namespace bench
