#include "groupchat/group_server.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "groupchat/timefmt.hpp"

namespace gc {

namespace {

int g_stop_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int) {
  int saved = errno;
  if (g_stop_pipe[1] >= 0) (void)!write(g_stop_pipe[1], "x", 1);
  errno = saved;
}

}  // namespace

int install_stop_signals() {
  if (g_stop_pipe[0] >= 0) return g_stop_pipe[0];
  if (pipe2(g_stop_pipe, O_NONBLOCK | O_CLOEXEC) != 0) return -1;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return g_stop_pipe[0];
}

GroupServer::GroupServer(zmq::context_t& ctx, GroupStore& store, GroupServerOptions options)
    : ctx_(ctx),
      store_(store),
      options_(std::move(options)),
      group_(store_, GroupConfig{options_.max_message_bytes}),
      router_(ctx_, zmq::socket_type::router) {
  pending_.resize(kMaxBatch);
  stdout_buf_.reserve(64 * 1024);
}

GroupServer::~GroupServer() = default;

Status GroupServer::bind() {
  try {
    // A reply to a peer that has gone fails at once instead of vanishing silently.
    router_.set(zmq::sockopt::router_mandatory, 1);
    router_.set(zmq::sockopt::maxmsgsize, kMaxFrameBytes);
    router_.set(zmq::sockopt::linger, 200);
    router_.bind(options_.endpoint.zmq());
  } catch (const zmq::error_t& e) {
    return Status::error(fmt::format("cannot bind {}: {}", options_.endpoint.zmq(), e.what()));
  }
  return Status::ok();
}

Status GroupServer::register_group(int stop_fd) {
  RegistryLinkOptions lo;
  lo.registry = options_.registry;
  lo.group_name = options_.name;
  lo.ip_port = options_.endpoint.ip_port();
  link_ = std::make_unique<RegistryLink>(ctx_, lo);
  auto s = link_->register_blocking(stop_fd);
  if (s && !link_->heartbeating())
    spdlog::info("the registry at {} is a reference one: no heartbeats", options_.registry);
  return s;
}

int GroupServer::run(int stop_fd) {
  while (true) {
    int64_t now = mono_ms();
    long timeout = link_ ? link_->timeout_ms(now) : -1;
    zmq::socket_t* hb = link_ ? link_->socket() : nullptr;
    zmq::pollitem_t items[3] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                                {nullptr, stop_fd, ZMQ_POLLIN, 0},
                                {hb ? hb->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
    int n = hb ? 3 : 2;
    try {
      zmq::poll(items, static_cast<size_t>(n), std::chrono::milliseconds(timeout));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) {
        spdlog::error("poll failed: {}", e.what());
        return 1;
      }
      continue;
    }
    if (items[1].revents & ZMQ_POLLIN) break;
    if (items[0].revents & ZMQ_POLLIN) serve_batch();
    if (link_) {
      now = mono_ms();
      if (hb && (items[2].revents & ZMQ_POLLIN)) link_->on_readable(now);
      link_->on_timer(now);
    }
  }
  spdlog::info("stopping");
  if (link_) link_->unregister();
  return 0;
}

void GroupServer::serve_batch() {
  const size_t max_body = options_.max_message_bytes + kRequestOverheadBytes;
  Status begun = store_.begin_batch();
  bool store_failed = !begun;
  std::string store_error = begun ? std::string() : begun.message();
  size_t n = 0;
  for (; n < kMaxBatch; ++n) {
    Pending& p = pending_[n];
    if (!receive_routed(router_, p.request, max_body)) break;
    p.reached_store = false;
    if (!p.request.framing_error.empty()) {
      p.outcome.clear();
      encode_failed(p.outcome.reply, p.request.framing_error);
      continue;
    }
    if (store_failed) {
      p.outcome.clear();
      p.reached_store = true;
      continue;
    }
    group_.handle_body(p.request.body, now_us(), p.outcome);
    // A handler ran (its print line is set): it read or wrote the store.
    p.reached_store = !p.outcome.stdout_line.empty();
    if (p.outcome.store_failed) {
      store_failed = true;
      store_error = p.outcome.store_error;
    }
  }
  if (n == 0) {
    store_.rollback_batch();
    return;
  }
  if (!store_failed) {
    if (auto s = store_.commit_batch(); !s) {
      store_failed = true;
      store_error = s.message();
    }
  } else {
    store_.rollback_batch();
  }
  if (store_failed) {
    spdlog::error("storage failed; {} request(s) answered FAILED: {}", n, store_error);
    std::string reply;
    encode_failed(reply, "storage error, nothing was stored: " + store_error);
    for (size_t i = 0; i < n; ++i) {
      if (pending_[i].reached_store) {
        pending_[i].outcome.reply = reply;
        pending_[i].outcome.events.clear();
      }
    }
  }
  stdout_buf_.clear();
  for (size_t i = 0; i < n; ++i) {
    Pending& p = pending_[i];
    if (!send_routed(router_, p.request.envelope, p.outcome.reply))
      spdlog::debug("reply dropped: the client has gone");
    if (!options_.quiet && !p.outcome.stdout_line.empty()) {
      stdout_buf_ += p.outcome.stdout_line;
      stdout_buf_ += '\n';
    }
  }
  if (!stdout_buf_.empty()) {
    std::fwrite(stdout_buf_.data(), 1, stdout_buf_.size(), stdout);
    std::fflush(stdout);
  }
}

}  // namespace gc
