// A minimal RESP2 client, enough to drive redis-server for the baselines
// without a client library: commands as arrays of bulk strings, replies
// framed by length so that pipelined replies can be counted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "load.hpp"

namespace bench {

using Clock = std::chrono::steady_clock;

std::string resp_command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out += a;
    out += "\r\n";
  }
  return out;
}

namespace {

// End of the line starting at `pos` (index of its '\r'), or npos when incomplete.
size_t line_end(std::string_view buf, size_t pos) {
  return buf.find("\r\n", pos);
}

long long parse_int(std::string_view text) {
  if (text.empty()) throw std::runtime_error("RESP: empty length");
  bool neg = text[0] == '-';
  long long v = 0;
  for (size_t i = neg ? 1 : 0; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') throw std::runtime_error("RESP: bad number");
    v = v * 10 + (text[i] - '0');
  }
  return neg ? -v : v;
}

// End (one past) of the value starting at `pos`, or 0 when incomplete.
size_t value_end(std::string_view buf, size_t pos, int depth) {
  if (depth > 16) throw std::runtime_error("RESP: nested too deep");
  if (pos >= buf.size()) return 0;
  size_t eol = line_end(buf, pos);
  if (eol == std::string_view::npos) return 0;
  switch (buf[pos]) {
    case '+':
    case '-':
    case ':':
      return eol + 2;
    case '$': {
      long long len = parse_int(buf.substr(pos + 1, eol - pos - 1));
      if (len < 0) return eol + 2;
      size_t end = eol + 2 + static_cast<size_t>(len) + 2;
      return end <= buf.size() ? end : 0;
    }
    case '*': {
      long long n = parse_int(buf.substr(pos + 1, eol - pos - 1));
      size_t at = eol + 2;
      for (long long i = 0; i < n; ++i) {
        at = value_end(buf, at, depth + 1);
        if (at == 0) return 0;
      }
      return at;
    }
    default:
      throw std::runtime_error(std::string("RESP: unexpected type byte '") + buf[pos] + "'");
  }
}

int connect_loopback(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    close(fd);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port) + ": " +
                             std::strerror(err));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{};
  tv.tv_sec = kReplyTimeout.count() / 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

void write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(std::string("RESP write: ") + std::strerror(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

size_t resp_value_length(std::string_view buf) {
  return value_end(buf, 0, 0);
}

RespConnection::RespConnection(uint16_t port) : fd_(connect_loopback(port)) {}

RespConnection::~RespConnection() {
  if (fd_ >= 0) close(fd_);
}

std::string RespConnection::call(const std::string& encoded) {
  write_all(fd_, encoded);
  char chunk[65536];
  for (;;) {
    if (size_t len = resp_value_length(buffer_); len > 0) {
      std::string reply = buffer_.substr(0, len);
      buffer_.erase(0, len);
      return reply;
    }
    ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) throw std::runtime_error("RESP server closed the connection");
    if (n < 0) throw std::runtime_error(std::string("RESP read: ") + std::strerror(errno));
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

RoundTripResult resp_round_trips(uint16_t port, const std::string& encoded_command, size_t warmup,
                                 Bounds bounds) {
  RoundTripResult r;
  try {
    RespConnection conn(port);
    time_round_trips(
        r, warmup, bounds,
        [&]() -> std::optional<std::string> { return conn.call(encoded_command); },
        [](const std::string& reply) { return !reply.empty() && reply[0] == '-'; });
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

PipelineResult resp_pipelined(uint16_t port, const std::vector<std::string>& encoded_commands,
                              size_t window, Bounds bounds) {
  PipelineResult r;
  struct Client {
    std::unique_ptr<RespConnection> conn;
    std::string in;
    std::string out;
    size_t outstanding = 0;
  };
  try {
    std::vector<Client> clients(encoded_commands.size());
    std::vector<pollfd> fds;
    for (auto& c : clients) {
      c.conn = std::make_unique<RespConnection>(port);
      fds.push_back({c.conn->fd(), POLLIN, 0});
    }
    size_t sent = 0;
    const auto start = Clock::now();
    const auto deadline = start + bounds.max_time;
    auto last_reply = start;
    bool stop_sending = false;
    for (size_t i = 0; i < clients.size(); ++i) {
      for (size_t w = 0; w < window && sent < bounds.max_count; ++w, ++sent) {
        clients[i].out += encoded_commands[i];
        ++clients[i].outstanding;
      }
      write_all(clients[i].conn->fd(), clients[i].out);
      clients[i].out.clear();
    }
    char chunk[65536];
    while (r.completed < sent) {
      const auto now = Clock::now();
      if (now >= deadline || g_stop_requested) stop_sending = true;
      if (now - last_reply > kReplyTimeout)
        throw std::runtime_error("no reply from redis-server for " +
                                 std::to_string(kReplyTimeout.count()) + " ms");
      int ready = poll(fds.data(), fds.size(), 100);
      if (ready < 0 && errno != EINTR)
        throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
      for (size_t i = 0; i < clients.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        auto& c = clients[i];
        ssize_t n = recv(c.conn->fd(), chunk, sizeof chunk, MSG_DONTWAIT);
        if (n == 0) throw std::runtime_error("redis-server closed the connection");
        if (n < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          throw std::runtime_error(std::string("RESP read: ") + std::strerror(errno));
        }
        c.in.append(chunk, static_cast<size_t>(n));
        size_t used = 0;
        for (size_t len; (len = value_end(c.in, used, 0)) > 0; used = len) {
          if (c.in[used] == '-') ++r.failed;
          ++r.completed;
          --c.outstanding;
          last_reply = Clock::now();
          if (!stop_sending && sent < bounds.max_count) {
            c.out += encoded_commands[i];
            ++c.outstanding;
            ++sent;
          }
        }
        c.in.erase(0, used);
        if (!c.out.empty()) {
          write_all(c.conn->fd(), c.out);
          c.out.clear();
        }
      }
    }
    r.seconds = std::chrono::duration<double>(last_reply - start).count();
    r.cut_by_time = sent < bounds.max_count;
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

}  // namespace bench
