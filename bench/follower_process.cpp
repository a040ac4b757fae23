#include "follower_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "log_histogram.hpp"
#include "protocol/group_protocol.hpp"
#include "protocol/limits.hpp"
#include "zmtp_dealer.hpp"

namespace bench {

namespace {

// Connections whose TCP handshake or greeting is still under way: the
// group's listen backlog (libzmq's default, 100) must hold those of every
// follower process at once.
constexpr size_t kMaxConnecting = 16;
// How often the loop wakes at most to send the renewals that are due.
constexpr int kTickMs = 5;
constexpr uint64_t kStdinTag = UINT64_MAX;
// A process the parent forgot to end ends itself (a run measures for minutes at most).
constexpr int64_t kMaxLifetimeNs = int64_t{15} * 60 * 1'000'000'000;

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// The value of the integer field `"name":N` in a frame, or -1.
int64_t int_field(std::string_view body, std::string_view quoted_name_colon) {
  size_t at = body.find(quoted_name_colon);
  if (at == std::string_view::npos) return -1;
  at += quoted_name_colon.size();
  int64_t v = 0;
  bool any = false;
  for (; at < body.size() && body[at] >= '0' && body[at] <= '9'; ++at, any = true)
    v = v * 10 + (body[at] - '0');
  return any ? v : -1;
}

// Whether a frame is a push: the group writes "event" first.
bool is_push(std::string_view body) {
  return body.substr(0, 32).find("\"event\":\"message\"") != std::string_view::npos;
}

// A push's seq, or -1. It comes after the text (the group writes it
// last but for the sender's name), so it is looked for from the end: a
// search from the start costs a comparison at every quote of the text.
int64_t push_seq(std::string_view body) {
  constexpr std::string_view kName = "\"seq\"";
  for (size_t at = body.size(); at-- > kName.size();)
    if (body[at] == ':' && body.substr(at - kName.size(), kName.size()) == kName)
      return int_field(body.substr(at - kName.size()), "\"seq\":");
  return -1;
}

void say(const std::string& line) {
  const std::string text = line + "\n";
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(STDOUT_FILENO, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(1);  // the parent is gone
    done += static_cast<size_t>(n);
  }
}

[[noreturn]] void give_up(const std::string& why) {
  say("error " + why);
  _exit(1);
}

int64_t own_cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (int64_t{u.ru_utime.tv_sec} + u.ru_stime.tv_sec) * 1000 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1000;
}

struct Config {
  std::string host;
  uint16_t port = 0;
  size_t first = 0;
  size_t count = 0;
  std::string user_prefix;
};

// What the followers of this process have seen of one seq.
struct SeqState {
  size_t received = 0;
  size_t skipped = 0;  // followers that got a later seq past a gap: it will not come
  int64_t last_ns = 0;
  bool reported = false;
  bool has_t0 = false;
  bool forgotten = false;
  int64_t t0_ns = 0;
  std::vector<int64_t> times;  // receipts before t0 was known
};

struct Follower {
  enum class Stage { kJoining, kFollowing, kFollowed };
  ZmtpDealer conn;
  Stage stage = Stage::kJoining;
  bool watching_out = true;
  int64_t last_seq = 0;  // newest seq received (the group's newest when the follow was confirmed)
  std::string follow;    // the follow request, sent again to renew
};

class FollowerProcess {
 public:
  explicit FollowerProcess(Config config);
  int run();

 private:
  void open_connections();
  void on_ready(size_t i, uint32_t events);
  void on_body(size_t i, std::string_view body, int64_t now);
  void on_push(Follower& f, int64_t seq, int64_t now);
  void settle(int64_t seq, SeqState& s);
  void renew_due(int64_t now);
  void watch(size_t i, bool out);
  bool read_commands();
  void command(const std::string& line);
  void fold_times(SeqState& s);

  Config config_;
  int epoll_ = -1;
  std::vector<Follower> followers_;
  size_t opened_ = 0;      // followers whose connection is started
  size_t connecting_ = 0;  // ... and not greeted yet
  size_t followed_ = 0;
  std::map<int64_t, SeqState> seqs_;
  LogHistogram receipts_;
  size_t renew_next_ = 0;
  int64_t cycle_start_ns_ = 0;
  std::string stdin_buf_;
  std::vector<char> read_buf_ = std::vector<char>(64 * 1024);
};

FollowerProcess::FollowerProcess(Config config) : config_(std::move(config)) {
  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) give_up(std::string("epoll_create1: ") + std::strerror(errno));
  followers_.resize(config_.count);
  for (size_t i = 0; i < config_.count; ++i)
    followers_[i].follow = gc::make_follow_request(
        fmt::format("{}-{}", config_.user_prefix, config_.first + i), std::nullopt);
  (void)fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kStdinTag;
  if (epoll_ctl(epoll_, EPOLL_CTL_ADD, STDIN_FILENO, &ev) != 0)
    give_up(std::string("epoll_ctl(stdin): ") + std::strerror(errno));
}

int FollowerProcess::run() {
  cycle_start_ns_ = now_ns();
  const int64_t end_ns = cycle_start_ns_ + kMaxLifetimeNs;
  std::vector<epoll_event> events(1024);
  for (;;) {
    open_connections();
    const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), kTickMs);
    if (n < 0 && errno != EINTR) give_up(std::string("epoll_wait: ") + std::strerror(errno));
    for (int k = 0; k < n; ++k) {
      if (events[k].data.u64 == kStdinTag) {
        if (!read_commands()) return 0;
        continue;
      }
      on_ready(static_cast<size_t>(events[k].data.u64), events[k].events);
    }
    const int64_t now = now_ns();
    if (now >= end_ns) give_up("not told to end within 15 minutes; ending");
    renew_due(now);
  }
}

void FollowerProcess::open_connections() {
  while (opened_ < followers_.size() && connecting_ < kMaxConnecting) {
    Follower& f = followers_[opened_];
    const std::string error = f.conn.connect(config_.host, config_.port);
    if (!error.empty()) give_up(fmt::format("follower {}: {}", config_.first + opened_, error));
    const std::string user = fmt::format("{}-{}", config_.user_prefix, config_.first + opened_);
    f.conn.send(gc::make_join_request(user, ""), true);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = opened_;
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, f.conn.fd(), &ev) != 0)
      give_up(std::string("epoll_ctl: ") + std::strerror(errno));
    ++opened_;
    ++connecting_;
  }
}

void FollowerProcess::watch(size_t i, bool out) {
  Follower& f = followers_[i];
  if (f.watching_out == out) return;
  f.watching_out = out;
  epoll_event ev{};
  ev.events = EPOLLIN | (out ? EPOLLOUT : 0u);
  ev.data.u64 = i;
  (void)epoll_ctl(epoll_, EPOLL_CTL_MOD, f.conn.fd(), &ev);
}

void FollowerProcess::on_ready(size_t i, uint32_t events) {
  Follower& f = followers_[i];
  const size_t who = config_.first + i;
  if (events & EPOLLIN) {
    const ssize_t n = read(f.conn.fd(), read_buf_.data(), read_buf_.size());
    // The receipt time of every frame in what was read: it was all there by now.
    const int64_t now = now_ns();
    if (n == 0) give_up(fmt::format("follower {}: the group closed the connection", who));
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      give_up(fmt::format("follower {}: read: {}", who, std::strerror(errno)));
    if (n > 0) {
      const bool was_greeted = f.conn.greeted();
      const bool ok = f.conn.receive(std::string_view(read_buf_.data(), static_cast<size_t>(n)),
                                     [&](std::string_view body) { on_body(i, body, now); });
      if (!ok) give_up(fmt::format("follower {}: {}", who, f.conn.error()));
      if (!was_greeted && f.conn.greeted()) --connecting_;
    }
  } else if (events & (EPOLLERR | EPOLLHUP)) {
    give_up(fmt::format("follower {}: the connection failed (is the group listening?)", who));
  }
  if (events & EPOLLOUT && !f.conn.flush())
    give_up(fmt::format("follower {}: {}", who, f.conn.error()));
  watch(i, f.conn.wants_write());
}

void FollowerProcess::on_body(size_t i, std::string_view body, int64_t now) {
  Follower& f = followers_[i];
  if (is_push(body)) {
    on_push(f, push_seq(body), now);
    return;
  }
  if (body.find("\"SUCCESS\"") == std::string_view::npos)
    give_up(fmt::format("follower {}: {} refused: {}", config_.first + i,
                        f.stage == Follower::Stage::kJoining ? "joinGroup" : "follow",
                        std::string(body.substr(0, 200))));
  switch (f.stage) {
    case Follower::Stage::kJoining:
      f.stage = Follower::Stage::kFollowing;
      f.conn.send(f.follow, true);
      break;
    case Follower::Stage::kFollowing:
      f.stage = Follower::Stage::kFollowed;
      f.last_seq = std::max<int64_t>(0, int_field(body, "\"last_seq\":"));
      if (++followed_ == followers_.size())
        say(fmt::format("ready {} {}", followed_, own_cpu_ms()));
      break;
    case Follower::Stage::kFollowed:
      break;  // a renewal's reply
  }
}

void FollowerProcess::on_push(Follower& f, int64_t seq, int64_t now) {
  if (seq <= f.last_seq) return;  // not newer: a server bug, not a receipt
  // Seqs in between were skipped for this follower: they will not come.
  for (int64_t gap = f.last_seq + 1; gap < seq; ++gap) {
    SeqState& g = seqs_[gap];
    ++g.skipped;
    settle(gap, g);
  }
  f.last_seq = seq;
  SeqState& s = seqs_[seq];
  ++s.received;
  s.last_ns = std::max(s.last_ns, now);
  if (s.has_t0)
    receipts_.add(static_cast<double>(std::max<int64_t>(0, now - s.t0_ns)) / 1000.0);
  else if (!s.forgotten)
    s.times.push_back(now);
  settle(seq, s);
}

void FollowerProcess::settle(int64_t seq, SeqState& s) {
  if (s.reported || s.received + s.skipped < followers_.size()) return;
  s.reported = true;
  say(fmt::format("done {} {} {}", seq, s.received, s.last_ns));
}

void FollowerProcess::renew_due(int64_t now) {
  const int64_t period = int64_t{gc::kFollowRenewMs} * 1'000'000;
  if (now - cycle_start_ns_ >= 2 * period) {  // fell behind by a whole period: start afresh
    cycle_start_ns_ = now;
    renew_next_ = 0;
  }
  const size_t n = followers_.size();
  const auto due = static_cast<size_t>(std::min<int64_t>(
      static_cast<int64_t>(n), (now - cycle_start_ns_) * static_cast<int64_t>(n) / period));
  for (; renew_next_ < due; ++renew_next_) {
    Follower& f = followers_[renew_next_];
    if (f.stage != Follower::Stage::kFollowed) continue;
    f.conn.send(f.follow, true);
    if (!f.conn.error().empty())
      give_up(fmt::format("follower {}: {}", config_.first + renew_next_, f.conn.error()));
    watch(renew_next_, f.conn.wants_write());
  }
  if (renew_next_ >= n && now - cycle_start_ns_ >= period) {
    cycle_start_ns_ += period;
    renew_next_ = 0;
  }
}

bool FollowerProcess::read_commands() {
  char buf[4096];
  for (;;) {
    const ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n == 0) return false;  // the parent is done with us
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return false;
    }
    stdin_buf_.append(buf, static_cast<size_t>(n));
  }
  size_t start = 0;
  for (size_t nl; (nl = stdin_buf_.find('\n', start)) != std::string::npos; start = nl + 1)
    command(stdin_buf_.substr(start, nl - start));
  stdin_buf_.erase(0, start);
  return true;
}

void FollowerProcess::fold_times(SeqState& s) {
  if (s.has_t0)
    for (int64_t t : s.times)
      receipts_.add(static_cast<double>(std::max<int64_t>(0, t - s.t0_ns)) / 1000.0);
  s.times.clear();
  s.times.shrink_to_fit();
}

void FollowerProcess::command(const std::string& line) {
  std::istringstream in(line);
  std::string verb;
  int64_t a = 0, b = 0;
  in >> verb >> a;
  if (verb == "t0" && in >> b) {
    SeqState& s = seqs_[a];
    s.has_t0 = true;
    s.t0_ns = b;
    fold_times(s);
  } else if (verb == "forget" && in >> b) {
    for (int64_t seq = a; seq <= b; ++seq) {
      SeqState& s = seqs_[seq];
      s.forgotten = true;
      fold_times(s);
    }
  } else if (verb.empty()) {
    return;
  } else if (verb == "ask") {
    const SeqState& s = seqs_[a];
    say(fmt::format("have {} {} {}", a, s.received, s.last_ns));
  } else if (verb == "tally" && in >> b) {
    size_t missed = 0;
    for (int64_t seq = a; seq <= b; ++seq) {
      auto it = seqs_.find(seq);
      missed += followers_.size() - (it == seqs_.end() ? 0 : it->second.received);
    }
    say(fmt::format("tally {} {} {}", missed, own_cpu_ms(), receipts_.encode()));
  } else {
    give_up("unknown command: " + line);
  }
}

void raise_descriptor_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &lim);
  }
}

}  // namespace

int follower_process_main(int argc, char** argv) {
  if (argc != 5) give_up("usage: --follower-process HOST PORT FIRST COUNT USER_PREFIX");
  Config config;
  try {
    config.host = argv[0];
    config.port = static_cast<uint16_t>(std::stoul(argv[1]));
    config.first = std::stoul(argv[2]);
    config.count = std::stoul(argv[3]);
    config.user_prefix = argv[4];
  } catch (const std::exception&) {
    give_up("bad arguments: HOST PORT FIRST COUNT USER_PREFIX");
  }
  // Ctrl-C reaches the whole process group; the parent ends us by closing our input.
  signal(SIGINT, SIG_IGN);
  raise_descriptor_limit();
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < config.count + 16)
    give_up(fmt::format("the descriptor limit is {}; {} followers need {}", lim.rlim_cur,
                        config.count, config.count + 16));
  return FollowerProcess(std::move(config)).run();
}

}  // namespace bench
