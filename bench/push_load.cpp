// Live delivery: how long a stored message takes to reach the followers.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "load.hpp"
#include "protocol/group_protocol.hpp"

namespace bench {

namespace {

using Clock = std::chrono::steady_clock;

// The value of the first `"seq":N` in a frame, or 0.
uint64_t seq_in(std::string_view frame) {
  size_t at = frame.find("\"seq\":");
  if (at == std::string_view::npos) return 0;
  at += 6;
  uint64_t v = 0;
  while (at < frame.size() && frame[at] >= '0' && frame[at] <= '9')
    v = v * 10 + static_cast<uint64_t>(frame[at++] - '0');
  return v;
}

std::string follow_request(const std::string& user) {
  return gc::make_follow_request(user, std::nullopt);
}

double micros_between(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::micro>(to - from).count();
}

// Waits on many ZeroMQ sockets at a cost that grows with the number ready,
// not with the number watched: zmq::poll over 500 sockets costs about as
// much per call as the deliveries measured. Each socket's ZMQ_FD goes into an
// epoll set; it signals that the socket may have become readable, so a wake
// is followed by ZMQ_EVENTS and reads until that says nothing is left.
class ReadyWaiter {
 public:
  explicit ReadyWaiter(std::vector<zmq::socket_t*> sockets)
      : sockets_(std::move(sockets)), epoll_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_ < 0) throw std::runtime_error("epoll_create1 failed");
    for (size_t i = 0; i < sockets_.size(); ++i) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = i;
      const int fd = sockets_[i]->get(zmq::sockopt::fd);
      if (epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0)
        throw std::runtime_error("epoll_ctl failed");
    }
  }
  ~ReadyWaiter() { close(epoll_); }
  ReadyWaiter(const ReadyWaiter&) = delete;
  ReadyWaiter& operator=(const ReadyWaiter&) = delete;

  // Indexes of sockets with input, after waiting at most `timeout`. A wait
  // that ends with no signal checks every socket: a send on a socket can
  // swallow its signal, so this is the safety net, not the path.
  // With `everything`, checks every socket without waiting (after sending on many).
  const std::vector<size_t>& wait(std::chrono::milliseconds timeout, bool everything = false) {
    found_.clear();
    epoll_event events[64];
    const int n =
        everything ? 0 : epoll_wait(epoll_, events, 64, static_cast<int>(timeout.count()));
    if (n > 0) {
      for (int i = 0; i < n; ++i) check(events[i].data.u64);
    } else {
      for (size_t i = 0; i < sockets_.size(); ++i) check(i);
    }
    return found_;
  }
  // After sending on socket i: its signal may have been consumed by the send.
  bool readable(size_t i) { return (sockets_[i]->get(zmq::sockopt::events) & ZMQ_POLLIN) != 0; }

 private:
  void check(size_t i) {
    if (readable(i)) found_.push_back(i);
  }

  std::vector<zmq::socket_t*> sockets_;
  int epoll_;
  std::vector<size_t> found_;
};

}  // namespace

PushLatencyResult zmq_push_latency(zmq::context_t& ctx, const std::string& endpoint,
                                   const std::string& send_request,
                                   const std::vector<std::string>& follower_users, size_t warmup,
                                   Bounds bounds, std::chrono::milliseconds renew_every,
                                   const ClientKeys& keys) {
  PushLatencyResult r;
  const size_t n = follower_users.size();
  zmq::socket_t sender(ctx, zmq::socket_type::req);
  sender.set(zmq::sockopt::linger, 0);
  keys.apply(sender, 0);
  sender.connect(endpoint);
  std::vector<zmq::socket_t> followers;
  followers.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    followers.emplace_back(ctx, zmq::socket_type::dealer);
    followers.back().set(zmq::sockopt::linger, 0);
    keys.apply(followers.back(), i + 1);
    followers.back().connect(endpoint);
  }
  // Index 0 is the sender, i + 1 follower i.
  std::vector<zmq::socket_t*> watched = {&sender};
  for (auto& f : followers) watched.push_back(&f);
  ReadyWaiter waiter(watched);

  std::vector<std::string> follows;
  for (const auto& user : follower_users) follows.push_back(follow_request(user));
  auto send_follows = [&] {
    // Without an empty delimiter, as the protocol says a follower sends.
    for (size_t i = 0; i < n; ++i)
      (void)followers[i].send(zmq::buffer(follows[i]), zmq::send_flags::dontwait);
  };

  // Newest push seen per follower and when it was read.
  std::vector<uint64_t> push_seq(n, 0);
  std::vector<Clock::time_point> push_at(n);
  size_t follow_replies = 0;
  std::string sender_reply;
  bool have_reply = false;
  Clock::time_point reply_at;

  auto read_sender = [&] {
    zmq::message_t reply;
    if (sender.recv(reply, zmq::recv_flags::dontwait)) {
      reply_at = Clock::now();
      sender_reply = reply.to_string();
      have_reply = true;
    }
  };
  // Reads whatever is waiting: the sender's reply, follow replies, pushes.
  auto pump = [&](std::chrono::milliseconds timeout, bool everything = false) {
    const auto& ready = waiter.wait(timeout, everything);
    // The reply first, so that a push read in the same wake is not early.
    for (size_t w : ready)
      if (w == 0) read_sender();
    for (size_t w : ready) {
      if (w == 0) continue;
      const size_t i = w - 1;
      for (;;) {
        zmq::message_t frame;
        if (!followers[i].recv(frame, zmq::recv_flags::dontwait)) break;
        const auto now = Clock::now();
        // A frame with an empty delimiter in front would be a server bug; take the last frame.
        while (frame.more()) (void)followers[i].recv(frame, zmq::recv_flags::none);
        std::string_view body(static_cast<const char*>(frame.data()), frame.size());
        if (body.find("\"event\":\"message\"") != std::string_view::npos) {
          const uint64_t s = seq_in(body);
          if (s > push_seq[i]) {
            push_seq[i] = s;
            push_at[i] = now;
          }
        } else if (body.find(kSuccessMark) != std::string_view::npos) {
          ++follow_replies;
        } else {
          r.error = "follow refused: " + std::string(body.substr(0, 200));
          r.unsupported = body.find("unknown action") != std::string_view::npos;
        }
      }
    }
  };

  // Follow, and wait until every follower is answered.
  send_follows();
  auto next_renew = Clock::now() + renew_every;
  const auto follow_deadline = Clock::now() + kReplyTimeout;
  while (follow_replies < n && r.error.empty()) {
    if (Clock::now() >= follow_deadline) {
      r.error = "no reply to follow from " + std::to_string(n - follow_replies) + " of " +
                std::to_string(n) + " followers within " + std::to_string(kReplyTimeout.count()) +
                " ms";
      return r;
    }
    pump(std::chrono::milliseconds(100));
  }
  if (!r.error.empty()) return r;

  const auto deadline = Clock::now() + bounds.max_time;
  Clock::time_point measured_from;
  std::vector<double> this_send;
  for (size_t k = 0; k < warmup + bounds.max_count; ++k) {
    if (k >= warmup && (Clock::now() >= deadline || g_stop_requested)) {
      r.cut_by_time = true;
      break;
    }
    if (Clock::now() >= next_renew) {
      // The spec asks for a renewal at least every second; the replies are counted by pump.
      send_follows();
      next_renew = Clock::now() + renew_every;
      pump(std::chrono::milliseconds(0), true);
    }
    have_reply = false;
    const auto sent_at = Clock::now();
    if (k == warmup) measured_from = sent_at;
    sender.send(zmq::buffer(send_request), zmq::send_flags::none);
    if (waiter.readable(0)) read_sender();
    while (!have_reply && r.error.empty()) {
      if (Clock::now() - sent_at > kReplyTimeout) {
        r.error = "no reply to sendMessage from " + endpoint + " within " +
                  std::to_string(kReplyTimeout.count()) + " ms";
        return r;
      }
      pump(std::chrono::milliseconds(100));
    }
    if (!r.error.empty()) return r;
    if (sender_reply.find(kSuccessMark) == std::string::npos) {
      r.error = "sendMessage refused: " + sender_reply.substr(0, 200);
      return r;
    }
    const uint64_t seq = seq_in(sender_reply);
    const auto push_deadline = reply_at + kPushWait;
    auto arrived = [&] {
      return static_cast<size_t>(
          std::count_if(push_seq.begin(), push_seq.end(), [&](uint64_t s) { return s >= seq; }));
    };
    while (arrived() < n && Clock::now() < push_deadline && r.error.empty())
      pump(std::chrono::milliseconds(std::clamp<long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(push_deadline - Clock::now())
              .count(),
          1, 100)));
    if (!r.error.empty()) return r;
    if (k < warmup) continue;
    ++r.sends;
    r.seconds = micros_between(measured_from, Clock::now()) / 1e6;
    this_send.clear();
    for (size_t i = 0; i < n; ++i) {
      if (push_seq[i] < seq) {
        ++r.missed;
        continue;
      }
      double us = micros_between(reply_at, push_at[i]);
      if (us < 0) {
        ++r.early;
        us = 0;
      }
      this_send.push_back(us);
    }
    r.latencies_us.insert(r.latencies_us.end(), this_send.begin(), this_send.end());
    if (this_send.size() == n && n > 0)
      r.last_us.push_back(*std::max_element(this_send.begin(), this_send.end()));
  }
  return r;
}

}  // namespace bench
