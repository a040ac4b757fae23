#include "groupchat/router_envelope.hpp"

#include <fmt/format.h>

namespace gc {

bool receive_routed(zmq::socket_t& router, RoutedRequest& out, size_t max_body_bytes) {
  out.envelope.clear();
  out.body.clear();
  out.framing_error.clear();
  std::vector<zmq::message_t> frames;
  zmq::message_t first;
  if (!router.recv(first, zmq::recv_flags::dontwait)) return false;
  bool more = first.more();
  frames.push_back(std::move(first));
  while (more) {
    zmq::message_t part;
    (void)router.recv(part, zmq::recv_flags::none);
    more = part.more();
    frames.push_back(std::move(part));
  }
  // The envelope ends at the first empty frame (REQ) or after the identity (DEALER).
  size_t body_start = 1;
  for (size_t i = 1; i < frames.size(); ++i) {
    if (frames[i].size() == 0) {
      body_start = i + 1;
      break;
    }
  }
  for (size_t i = 0; i < body_start && i < frames.size(); ++i)
    out.envelope.push_back(std::move(frames[i]));
  size_t body_frames = frames.size() > body_start ? frames.size() - body_start : 0;
  if (body_frames == 0) {
    out.framing_error = "empty request: send one frame of JSON";
  } else if (body_frames > 1) {
    out.framing_error = fmt::format("request has {} frames: send one frame of JSON", body_frames);
  } else if (frames[body_start].size() == 0) {
    out.framing_error = "empty frame: send one frame of JSON";
  } else if (frames[body_start].size() > max_body_bytes) {
    out.framing_error = fmt::format("request of {} bytes is over the limit of {} bytes",
                                    frames[body_start].size(), max_body_bytes);
  } else {
    out.body = frames[body_start].to_string();
  }
  return true;
}

bool send_routed(zmq::socket_t& router, const std::vector<zmq::message_t>& envelope,
                 std::string_view body) {
  try {
    for (const auto& frame : envelope) {
      zmq::message_t copy(frame.data(), frame.size());
      if (!router.send(copy, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
    }
    zmq::message_t msg(body.data(), body.size());
    return router.send(msg, zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t&) {
    // EHOSTUNREACH with ROUTER_MANDATORY: the peer has gone.
    return false;
  }
}

}  // namespace gc
