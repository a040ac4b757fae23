#pragma once
// Frames as a ROUTER socket sees them. A REQ peer sends [identity, "", body];
// a DEALER peer may send [identity, body]. We keep whatever came before the
// body as the envelope and send it back unchanged in front of the reply, so
// both kinds of peer get a well-formed answer.
#include <string>
#include <vector>
#include <zmq.hpp>

namespace gc {

struct RoutedRequest {
  std::vector<zmq::message_t> envelope;  // identity frame(s) and the empty delimiter if any
  std::string body;                      // the single body frame
  // Set when the body was not exactly one frame: empty when all is well,
  // otherwise the error to reply with.
  std::string framing_error;
};

// Reads one whole multipart message from a ROUTER socket (non-blocking; the
// caller polled first). Returns false when nothing was waiting.
// A body larger than max_body_bytes is not copied; framing_error says so.
bool receive_routed(zmq::socket_t& router, RoutedRequest& out, size_t max_body_bytes);

// Sends envelope + body. The envelope is copied, so a request can be answered
// and still used for pushes. Returns false if the peer is gone or its queue is
// full (ZMQ_ROUTER_MANDATORY semantics); never blocks.
bool send_routed(zmq::socket_t& router, const std::vector<zmq::message_t>& envelope,
                 std::string_view body);

}  // namespace gc
