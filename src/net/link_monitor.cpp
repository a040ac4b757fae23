#include "net/link_monitor.hpp"

#include <fmt/format.h>

#include <atomic>

#include "net/monitor_event.hpp"

namespace gc {

namespace {

constexpr int kWatched = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_DISCONNECTED |
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;

std::atomic<uint64_t> monitors_made{0};

}  // namespace

LinkMonitor::LinkMonitor(zmq::context_t& ctx, zmq::socket_t& watched, const std::string& tag) {
  const std::string name = fmt::format("inproc://gc-link-monitor-{}-{}", tag, ++monitors_made);
  if (zmq_socket_monitor(watched.handle(), name.c_str(), kWatched) != 0) return;
  watched_ = watched.handle();
  monitor_ = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::pair);
  monitor_->set(zmq::sockopt::linger, 0);
  monitor_->connect(name);
}

LinkMonitor::~LinkMonitor() {
  stop();
}

void LinkMonitor::stop() {
  if (watched_) zmq_socket_monitor(watched_, nullptr, 0);
  watched_ = nullptr;
}

bool LinkMonitor::drain() {
  if (!monitor_) return false;
  bool any = false;
  std::optional<MonitorEvent> event;
  for (int i = 0; i < 1000 && receive_monitor_event(*monitor_, event); ++i) {
    any = true;
    if (event) {
      const uint32_t value = event->value;
      switch (event->kind) {
        case ZMQ_EVENT_CONNECTED:
          events_.connected = true;
          ++events_.connects;
          break;
        case ZMQ_EVENT_CONNECT_RETRIED:
          // Also after a failed handshake; it says nothing listens only
          // while no connection was ever made.
          if (!events_.connected) {
            events_.connect_failed = true;
            events_.problem = LinkProblem::nothing_listens;
          }
          break;
        case ZMQ_EVENT_DISCONNECTED:
          ++events_.disconnections;
          break;
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
          events_.handshake_ok = true;
          ++events_.handshakes;
          events_.problem = LinkProblem::none;
          break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
          // A later attempt may fail without the detail an earlier one gave
          // (the server closes it): keep the detail.
          if (!is_handshake_problem(events_.problem))
            events_.problem = LinkProblem::handshake_failed;
          break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
          if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
            events_.problem = LinkProblem::mechanism_mismatch;
          else if (!is_handshake_problem(events_.problem))
            events_.problem = LinkProblem::handshake_failed;
          break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
          events_.problem = LinkProblem::key_refused;
          events_.zap_status = static_cast<int>(value);
          break;
        default:
          break;
      }
    }
  }
  return any;
}

}  // namespace gc
