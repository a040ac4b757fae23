#pragma once
// A blocking request/reply client that never hangs and survives a slow
// network. One REQ socket per server, kept across requests that get their
// replies and across the retries of one request (ZMQ_REQ_RELAXED: a request
// may be sent again on the same socket), so a retry does not pay for a new
// connection's handshake, which costs several round trips. A request that
// gets no reply closes the socket (its late reply must not answer the next). A request has one time
// budget, connection set-up included; within it the request is sent again only when its connection
// dropped while the reply was awaited (the request or its reply may have been lost with it), or,
// when resend_ms is set, after that long without a reply. The error at the end says what was seen:
// nothing accepted a connection, a connection was made but its handshake did not finish, or the
// server was reached and did not answer in time.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "core/result.hpp"
#include "net/curve.hpp"
#include "net/link_monitor.hpp"

namespace gc {

struct RequestOptions {
  // The budget of one request, from its first send to giving up, connection
  // set-up and every resend included (request() may be given a nearer
  // deadline).
  int timeout_ms = 10000;
  // Sends of one request at most (the first and the resends).
  int tries = 3;
  // Names the program expected at the address, for the error message
  // ("... is group_server running there?").
  std::string peer_kind = "the server";
  // ZMQ_MAXMSGSIZE: a larger reply makes libzmq drop the connection; the try
  // ends there (a socket monitor sees the drop) and the error after the last
  // try says so. -1: no limit.
  int64_t max_reply_bytes = -1;
  // CURVE: connect as a CURVE client with these keys, expecting the server
  // to prove its key. Absent: the NULL mechanism (open, as the reference).
  std::optional<CurveClientKeys> curve = std::nullopt;
  // Also send again after this many ms without a reply on a live connection;
  // 0: only after the connection dropped (a slow reply is waited for).
  int resend_ms = 0;
};

// What became of a request that got no reply, for the caller's words.
enum class RequestFailure {
  none,             // it got a reply
  not_connected,    // no connection was made: the request never left this host
  no_handshake,     // a connection was made but its handshake did not finish
  no_reply,         // the server was reached; no reply came in time
  connection_lost,  // connections closed while the reply was awaited
  handshake,        // the handshake failed (see LinkProblem): security
  other,            // a multi-frame reply, a ZeroMQ error
};

class RequestClient {
 public:
  // endpoint: "host:port" or "tcp://host:port", what libzmq connects to.
  // shown: the address for messages (empty: endpoint as given).
  RequestClient(zmq::context_t& ctx, std::string endpoint, RequestOptions options = {},
                std::string shown = {});
  ~RequestClient();
  RequestClient(const RequestClient&) = delete;
  RequestClient& operator=(const RequestClient&) = delete;

  // Sends one frame and waits for a one-frame reply until the budget (or
  // deadline_ms, a mono_ms() instant, when nearer) is spent. A multi-frame
  // reply is an error. A handshake that failed (see LinkProblem) ends the
  // request at once: last_link() then says which way.
  Result<std::string> request(std::string_view body, int64_t deadline_ms = -1);
  // What the socket monitor saw during the last request.
  const LinkEvents& last_link() const { return last_link_; }
  RequestFailure last_failure() const { return last_failure_; }
  // True when the last failed request may have reached the server (it was
  // sent on a connection that was made): it may have been acted on.
  bool last_may_have_arrived() const {
    return last_failure_ == RequestFailure::no_reply ||
           last_failure_ == RequestFailure::connection_lost ||
           last_failure_ == RequestFailure::other;
  }

 private:
  void reconnect();
  void close();
  Result<std::string> fail(RequestFailure why, std::string text);

  zmq::context_t& ctx_;
  std::string endpoint_;  // for messages
  std::string zmq_endpoint_;
  RequestOptions options_;
  std::unique_ptr<zmq::socket_t> socket_;
  // socket_'s connection events; declared after socket_: destroyed first
  std::unique_ptr<LinkMonitor> monitor_;
  LinkEvents last_link_;
  RequestFailure last_failure_ = RequestFailure::none;
};

}  // namespace gc
