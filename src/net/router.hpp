#pragma once
// Frames as a ROUTER socket sees them, and the one way both servers send
// through one. A REQ peer sends [identity, "", body]; a DEALER peer may send
// [identity, body]. We keep whatever came before the body as the envelope and
// send it back unchanged in front of the reply, so both kinds of peer get a
// well-formed answer.
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "net/peer_memory.hpp"

namespace gc {

// Requests a server reads per wake-up before it answers them and looks at its
// timers: the group's store transaction holds at most this many.
inline constexpr size_t kMaxBatchRequests = 256;

// Routing frames a peer may put in front of its body (the identity and up to
// kMaxEnvelopeFrames - 1 of its own, including the empty delimiter), and the
// size of each: a ZMTP routing id is at most 255 bytes. A request past either
// is not answered: its connection is closed (framing_violation).
inline constexpr size_t kMaxEnvelopeFrames = 8;
inline constexpr size_t kMaxEnvelopeFrameBytes = 255;

struct RoutedRequest {
  std::vector<zmq::message_t> envelope;  // identity frame(s) and the empty delimiter if any
  std::string body;                      // the single body frame
  // Set when the body was not exactly one frame: empty when all is well,
  // otherwise the error to reply with.
  std::string framing_error;
  // Set when the message broke a limit no reply can answer (too many or too
  // large routing frames): the connection is to be closed.
  std::string framing_violation;
  // The connection's descriptor in libzmq (ZMQ_SRCFD of the last frame), to
  // close it; -1 when unknown.
  int source_fd = -1;
  // The peer's IP address (the "Peer-Address" message property); empty when unknown.
  std::string peer_address;
  // The connection's User-Id from the ZAP handler (net/curve.hpp): in curve
  // mode the client's public key, which the request acts as. Read only when
  // receive_routed is told the socket is a CURVE server; empty otherwise.
  std::string user_id;
  // What the message took on the wire from its peer: every frame but the
  // routing id (which libzmq adds), with its ZMTP header (net/backlog.hpp).
  uint64_t wire_bytes = 0;

  // The routing id: the first envelope frame, which names the connection.
  std::string_view peer() const {
    return envelope.empty()
               ? std::string_view()
               : std::string_view(static_cast<const char*>(envelope[0].data()), envelope[0].size());
  }
  // Bytes of the request as held in memory.
  size_t held_bytes() const;
};

// Reads one whole multipart message from a ROUTER socket (non-blocking; the
// caller polled first). Returns false when nothing was waiting.
// A body larger than max_body_bytes is not copied; framing_error says so.
// curve: the socket is a CURVE server: fill RoutedRequest::user_id, and
// count wire bytes as CURVE frames (net/backlog.hpp).
bool receive_routed(zmq::socket_t& router, RoutedRequest& out, size_t max_body_bytes,
                    bool curve = false);

enum class SendResult {
  sent,
  full,  // the peer's queue is at its high-water mark; nothing of the message went out
  gone,  // the peer has disconnected (ROUTER_MANDATORY's EHOSTUNREACH)
};

// Sends the first `count` frames of `envelope` (routing frames), then the
// frames of `tail` in order, the last one ending the message. Never blocks:
// `full` when the peer's queue took nothing, `gone` when the peer has left.
template <typename Frames>
SendResult send_envelope_then(zmq::socket_t& router, const Frames& envelope, size_t count,
                              std::initializer_list<zmq::message_t*> tail) {
  try {
    for (size_t i = 0; i < count; ++i) {
      if (!router.send(zmq::buffer(envelope[i].data(), envelope[i].size()),
                       zmq::send_flags::sndmore | zmq::send_flags::dontwait))
        return SendResult::full;
    }
    size_t left = tail.size();
    for (zmq::message_t* frame : tail)
      (void)router.send(*frame, --left > 0 ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                           : zmq::send_flags::dontwait);
    return SendResult::sent;
  } catch (const zmq::error_t&) {
    return SendResult::gone;
  }
}

// Sends envelope + body, the body charged to `account` (net/peer_memory.hpp)
// until libzmq has sent or dropped it. Never blocks; a socket whose send
// high-water mark is lifted never reports `full`.
template <typename Frames>
SendResult send_accounted(zmq::socket_t& router, const Frames& envelope, std::string_view body,
                          const std::shared_ptr<PeerAccount>& account) {
  size_t envelope_bytes = 0;
  for (const auto& frame : envelope) envelope_bytes += frame.size();
  zmq::message_t msg = accounted_message(
      body, queued_charge(body.size(), envelope_bytes, envelope.size() + 1), account);
  return send_envelope_then(router, envelope, envelope.size(), {&msg});
}

// Sends envelope + a copy of `body` (a shared_message: the copy shares its
// buffer). The envelope must end with the empty delimiter, which goes out as
// an accounted_marker charging `account` `peer_charge` and the server's total
// `total_charge` until libzmq has sent or dropped it.
template <typename Frames>
SendResult send_shared(zmq::socket_t& router, const Frames& envelope, zmq::message_t& body,
                       size_t peer_charge, size_t total_charge,
                       const std::shared_ptr<PeerAccount>& account) {
  zmq::message_t marker = accounted_marker(peer_charge, total_charge, account);
  zmq::message_t copy;
  copy.copy(body);
  return send_envelope_then(router, envelope, envelope.empty() ? 0 : envelope.size() - 1,
                            {&marker, &copy});
}

// The routing frames as strings, to keep beyond the request that carried them.
std::vector<std::string> envelope_strings(const std::vector<zmq::message_t>& envelope);

}  // namespace gc
