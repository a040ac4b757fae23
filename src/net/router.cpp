#include "net/router.hpp"

#include <fmt/format.h>

#include "net/backlog.hpp"
#include "net/curve.hpp"

namespace gc {

bool receive_routed(zmq::socket_t& router, RoutedRequest& out, size_t max_body_bytes, bool curve) {
  out.envelope.clear();
  // The body's buffer is reused for the next request, unless a large one left
  // it big: 256 requests of a batch keep at most 16 KiB each.
  if (out.body.capacity() > (size_t{16} << 10))
    std::string().swap(out.body);
  else
    out.body.clear();
  out.framing_error.clear();
  out.framing_violation.clear();
  out.source_fd = -1;
  out.peer_address.clear();
  out.user_id.clear();
  out.wire_bytes = 0;
  // Kept from call to call, with its capacity: a request costs no allocation
  // for its list of frames.
  thread_local std::vector<zmq::message_t> frames;
  frames.clear();
  zmq::message_t first;
  if (!router.recv(first, zmq::recv_flags::dontwait)) return false;
  bool more = first.more();
  frames.push_back(std::move(first));
  // libzmq has the whole message in memory already; frames past the limit
  // are read and let go at once.
  size_t extra_frames = 0;
  zmq::message_t extra;
  while (more) {
    zmq::message_t& part = frames.size() < kMaxEnvelopeFrames + 1 ? frames.emplace_back() : extra;
    (void)router.recv(part, zmq::recv_flags::none);
    more = part.more();
    if (&part == &extra) ++extra_frames;
    out.wire_bytes +=
        curve ? curve_frame_wire_bytes(part.size()) : zmtp_frame_wire_bytes(part.size());
  }
  // The routing id frame carries no connection properties; the others do.
  zmq::message_t& last = extra_frames ? extra : frames.back();
  if (frames.size() > 1 || extra_frames) {
    out.source_fd = zmq_msg_get(last.handle(), ZMQ_SRCFD);
    if (const char* address = zmq_msg_gets(last.handle(), "Peer-Address"))
      out.peer_address = address;
    if (curve) out.user_id = message_user_id(last);
  }
  if (extra_frames) {
    out.envelope.push_back(std::move(frames[0]));
    out.framing_violation = fmt::format("a message of {} frames (at most {} routing frames)",
                                        frames.size() + extra_frames, kMaxEnvelopeFrames);
    return true;
  }
  // The envelope ends at the first empty frame (REQ) or after the identity (DEALER).
  size_t body_start = 1;
  for (size_t i = 1; i < frames.size(); ++i) {
    if (frames[i].size() == 0) {
      body_start = i + 1;
      break;
    }
  }
  for (size_t i = 0; i < body_start && i < frames.size(); ++i) {
    if (frames[i].size() > kMaxEnvelopeFrameBytes && out.framing_violation.empty())
      out.framing_violation = fmt::format("a routing frame of {} bytes (at most {})",
                                          frames[i].size(), kMaxEnvelopeFrameBytes);
    out.envelope.push_back(std::move(frames[i]));
  }
  if (!out.framing_violation.empty()) {
    out.envelope.resize(1);
    return true;
  }
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
    out.body.assign(static_cast<const char*>(frames[body_start].data()), frames[body_start].size());
  }
  return true;
}

size_t RoutedRequest::held_bytes() const {
  size_t n = body.capacity() + sizeof(RoutedRequest);
  for (const auto& frame : envelope) n += frame.size() + kQueuedFrameOverheadBytes;
  return n;
}

std::vector<std::string> envelope_strings(const std::vector<zmq::message_t>& envelope) {
  std::vector<std::string> out;
  out.reserve(envelope.size());
  for (const auto& frame : envelope) out.push_back(frame.to_string());
  return out;
}

}  // namespace gc
