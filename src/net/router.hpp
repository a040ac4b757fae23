#pragma once
// Frames as a ROUTER socket sees them, and the one way both servers send
// through one. A REQ peer sends [identity, "", body]; a DEALER peer may send
// [identity, body]. We keep whatever came before the body as the envelope and
// send it back unchanged in front of the reply, so both kinds of peer get a
// well-formed answer.
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

namespace gc {

// Requests a server reads per wake-up before it answers them and looks at its
// timers: the group's store transaction holds at most this many.
inline constexpr size_t kMaxBatchRequests = 256;

struct RoutedRequest {
  std::vector<zmq::message_t> envelope;  // identity frame(s) and the empty delimiter if any
  std::string body;                      // the single body frame
  // Set when the body was not exactly one frame: empty when all is well,
  // otherwise the error to reply with.
  std::string framing_error;
  // The sender's address as libzmq reports it (the "Peer-Address" property of
  // the frame: "10.0.0.7" for TCP); empty when the transport has none.
  std::string peer_address;
};

// Reads one whole multipart message from a ROUTER socket (non-blocking; the
// caller polled first). Returns false when nothing was waiting.
// A body larger than max_body_bytes is not copied; framing_error says so.
bool receive_routed(zmq::socket_t& router, RoutedRequest& out, size_t max_body_bytes);

enum class SendResult {
  sent,
  full,  // the peer's queue is at its high-water mark; nothing of the message went out
  gone,  // the peer has disconnected (ROUTER_MANDATORY's EHOSTUNREACH)
};

// Sends envelope + body without ever blocking. The frames are copied, so an
// envelope can answer a request and still be kept for pushes. `Frames` is a
// range of zmq::message_t or std::string. The socket must have
// ZMQ_ROUTER_MANDATORY set, so that a full or gone peer is told apart from a
// sent message.
template <typename Frames>
SendResult send_routed(zmq::socket_t& router, const Frames& envelope, std::string_view body) {
  try {
    for (const auto& frame : envelope) {
      if (!router.send(zmq::buffer(frame.data(), frame.size()),
                       zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return SendResult::full;
    }
    // Once the first frame is accepted, the rest of the message is too.
    (void)router.send(zmq::buffer(body.data(), body.size()), zmq::send_flags::dontwait);
    return SendResult::sent;
  } catch (const zmq::error_t&) {
    return SendResult::gone;
  }
}

// The routing frames as strings, to keep beyond the request that carried them.
std::vector<std::string> envelope_strings(const std::vector<zmq::message_t>& envelope);
// One string that names a connection: its envelope frames, length-prefixed
// so that different framings can never collide.
std::string envelope_key(const std::vector<std::string>& envelope);

}  // namespace gc
