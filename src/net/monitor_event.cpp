#include "net/monitor_event.hpp"

#include <cstring>

namespace gc {

std::optional<MonitorEvent> decode_monitor_event(std::string_view first_frame) {
  MonitorEvent event;
  if (first_frame.size() < sizeof event.kind + sizeof event.value) return std::nullopt;
  std::memcpy(&event.kind, first_frame.data(), sizeof event.kind);
  std::memcpy(&event.value, first_frame.data() + sizeof event.kind, sizeof event.value);
  return event;
}

bool receive_monitor_event(zmq::socket_t& monitor, std::optional<MonitorEvent>& event) {
  zmq::message_t frame;
  if (!monitor.recv(frame, zmq::recv_flags::dontwait)) return false;
  event = decode_monitor_event(frame.to_string_view());
  // The parts of a message arrive together: what follows is there already.
  if (frame.more() && monitor.recv(frame, zmq::recv_flags::dontwait) && event)
    event->address = frame.to_string();
  while (frame.more() && monitor.recv(frame, zmq::recv_flags::dontwait)) {
  }
  return true;
}

}  // namespace gc
