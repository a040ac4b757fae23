#pragma once
// A blocking request/reply client with a timeout and retries on a fresh
// socket: the ZeroMQ guide's Lazy Pirate pattern. A REQ socket that lost its
// reply is stuck forever, so on a timeout we throw the socket away, open a new
// one and resend, and after the last try we give up with an error naming the
// address. The caller never hangs.
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
  int timeout_ms = 1500;  // per try
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
};

class RequestClient {
 public:
  // endpoint: "host:port" or "tcp://host:port".
  RequestClient(zmq::context_t& ctx, std::string endpoint, RequestOptions options = {});
  ~RequestClient();
  RequestClient(const RequestClient&) = delete;
  RequestClient& operator=(const RequestClient&) = delete;

  // Sends one frame and waits for a one-frame reply. Retries on a new socket
  // after each timeout; the error after the last try names the address and
  // the number of tries. A multi-frame reply is an error. A handshake that
  // failed (see LinkProblem) ends the request at once: a fresh connection
  // would fail the same way; last_link() then says which way.
  Result<std::string> request(std::string_view body);
  // What the socket monitor saw during the last request.
  const LinkEvents& last_link() const { return last_link_; }

 private:
  void reconnect();
  void close();

  zmq::context_t& ctx_;
  std::string endpoint_;  // as given by the user, for messages
  std::string zmq_endpoint_;
  RequestOptions options_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<LinkMonitor> monitor_;  // socket_'s connection events
  LinkEvents last_link_;
};

}  // namespace gc
