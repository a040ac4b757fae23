#pragma once
// One event of libzmq's socket monitor (zmq_socket_monitor): a first frame of
// six bytes, the event kind (uint16) then its value (uint32, a descriptor, an
// error or a status), in the machine's byte order; then a frame with the
// endpoint's address.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <zmq.hpp>

namespace gc {

struct MonitorEvent {
  uint16_t kind = 0;  // ZMQ_EVENT_...
  uint32_t value = 0;
  std::string address;
};

// Reads the kind and value of an event's first frame (the address is left
// empty); nullopt when the frame is shorter than six bytes. Bytes after the
// sixth are ignored.
std::optional<MonitorEvent> decode_monitor_event(std::string_view first_frame);

// Receives one waiting event from a monitor's PAIR socket without blocking,
// with the rest of its message (the second frame is the address; an event
// without one keeps an empty address). Returns false when nothing was waiting;
// `event` is nullopt when the first frame could not be decoded (the event is
// consumed and skipped).
bool receive_monitor_event(zmq::socket_t& monitor, std::optional<MonitorEvent>& event);

}  // namespace gc
