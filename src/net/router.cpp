#include "net/router.hpp"

#include <fmt/format.h>

namespace gc {

bool receive_routed(zmq::socket_t& router, RoutedRequest& out, size_t max_body_bytes) {
  out.envelope.clear();
  out.body.clear();
  out.framing_error.clear();
  out.peer_address.clear();
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
  // Frames that came off the wire carry the sender's address; the identity
  // frame, which the ROUTER makes up, does not.
  for (auto& frame : frames) {
    if (const char* peer = zmq_msg_gets(frame.handle(), "Peer-Address")) {
      out.peer_address = peer;
      break;
    }
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

std::vector<std::string> envelope_strings(const std::vector<zmq::message_t>& envelope) {
  std::vector<std::string> out;
  out.reserve(envelope.size());
  for (const auto& frame : envelope) out.push_back(frame.to_string());
  return out;
}

std::string envelope_key(const std::vector<std::string>& envelope) {
  std::string key;
  for (const auto& frame : envelope) {
    key += std::to_string(frame.size());
    key += ':';
    key += frame;
  }
  return key;
}

}  // namespace gc
