#pragma once
// What happened to a connecting socket's connections, as libzmq's socket
// monitor tells it: whether anything accepted the TCP connection, whether the
// ZMTP handshake succeeded, and if not, why (the server did not prove the
// CURVE key we expect, the two ends speak different mechanisms, or the
// server's ZAP handler refused our key). A client uses it to say which of
// these went wrong instead of a bare "no reply".
#include <cstdint>
#include <memory>
#include <string>
#include <zmq.hpp>

namespace gc {

// The last thing the monitor said about the connection, in the order a
// connection goes through them.
enum class LinkProblem {
  none,                // nothing seen yet, or the handshake succeeded
  nothing_listens,     // connection attempts failed; none was accepted
  handshake_failed,    // accepted, then the handshake failed without detail: for a
                       // CURVE client, the server did not prove the expected key
  mechanism_mismatch,  // one end speaks CURVE, the other not
  key_refused,         // the server's ZAP handler refused our key
};

struct LinkEvents {
  bool connected = false;       // a TCP connection was made
  bool handshake_ok = false;    // a ZMTP handshake succeeded
  int disconnections = 0;       // established connections that closed
  int connects = 0;             // TCP connections made
  int handshakes = 0;           // ZMTP handshakes that succeeded
  bool connect_failed = false;  // an attempt found nothing listening
  LinkProblem problem = LinkProblem::none;
  int zap_status = 0;  // key_refused: the ZAP status code (400, ...)
};

class LinkMonitor {
 public:
  // Starts monitoring `watched` (before it connects); `tag` makes the inproc
  // endpoint unique in the context.
  LinkMonitor(zmq::context_t& ctx, zmq::socket_t& watched, const std::string& tag);
  // Stops the monitoring, then closes this end. Destroy it before the watched
  // socket: libzmq sends each event with a blocking send, so an event of a
  // socket still monitored (its disconnection, its closing) sent after this
  // end is gone blocks the context's I/O thread for good, and every
  // connection of the context with it.
  ~LinkMonitor();
  LinkMonitor(const LinkMonitor&) = delete;
  LinkMonitor& operator=(const LinkMonitor&) = delete;

  // For a poll: readable when events wait.
  zmq::socket_t* socket() { return monitor_.get(); }
  // Reads the waiting events into events(); returns true when any was read.
  bool drain();
  const LinkEvents& events() const { return events_; }
  // Forgets what was seen (the next request starts afresh).
  void clear() { events_ = {}; }
  // Ends the monitoring of the watched socket (the destructor does it too):
  // after it, libzmq sends no more events to this end.
  void stop();

 private:
  void* watched_ = nullptr;                 // the watched socket's handle while monitored
  std::unique_ptr<zmq::socket_t> monitor_;  // PAIR, null when monitoring failed
  LinkEvents events_;
};

// The definitive problems: retrying on a fresh connection cannot help.
inline bool is_handshake_problem(LinkProblem p) {
  return p == LinkProblem::handshake_failed || p == LinkProblem::mechanism_mismatch ||
         p == LinkProblem::key_refused;
}
// The same for a client that connects with CURVE (curve) or openly. A
// handshake that failed without detail is a connection closed before its
// handshake ended: for a CURVE client the server's way of refusing a HELLO
// it cannot read (it holds another key); for an open client only a link that
// broke (a partition, a peer that stopped, a proxy), since a curve server
// answers an open client with a mechanism mismatch. libzmq connects again;
// the caller waits.
inline bool is_definitive_handshake_problem(LinkProblem p, bool curve) {
  if (p == LinkProblem::handshake_failed) return curve;
  return is_handshake_problem(p);
}

}  // namespace gc
