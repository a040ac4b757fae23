#pragma once
// Transport security, as ZeroMQ provides it: the CURVE mechanism (RFC 26:
// Curve25519 keys, every connection encrypted, the server proving its key
// and the client its own) and ZAP (RFC 27: a handler in the server's process
// that libzmq asks whether a client key may connect, and which names the
// connection's User-Id). No cryptography of our own: libzmq (with libsodium)
// does it all; this file only holds keys and sets socket options.
//
// Keys are written in Z85 (40 characters for 32 bytes), as libzmq takes them.
// A key file holds one key pair, readable by its owner only (docs/SECURITY.md).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "core/result.hpp"

namespace gc {

enum class SecurityMode { open, curve };
std::string_view security_name(SecurityMode mode);  // "open" or "curve"
std::optional<SecurityMode> parse_security(std::string_view text);

inline constexpr size_t kZ85KeyChars = 40;

struct CurveKeyPair {
  std::string public_key;  // Z85
  std::string secret_key;  // Z85; never logged, never sent
};

// True when text is 40 characters of the Z85 alphabet (a 32-byte key).
bool is_z85_key(std::string_view text);
// Checks a public key given by a person (a flag, a variable, a file): spaces
// around it are ignored. The error names `what` (e.g. "--server-key").
Result<std::string> parse_public_key(std::string_view text, std::string_view what);

// A fresh key pair from libzmq (zmq_curve_keypair).
Result<CurveKeyPair> generate_key_pair();

// A key file:
//     # groupchat CURVE key pair ...
//     public-key = <Z85>
//     secret-key = <Z85>
// Refused when its mode lets anyone but its owner read it (as ssh refuses a
// private key), when a key is malformed, or when the public key is not the
// secret key's.
Result<CurveKeyPair> load_key_file(const std::filesystem::path& file);
// Loads the file, or, when it does not exist, makes a key pair and writes it
// there (directories as needed, mode 0600 from the start, a temporary file
// renamed into place). *created says which.
Result<CurveKeyPair> load_or_create_key_file(const std::filesystem::path& file,
                                             bool* created = nullptr);

// The ZAP domain our servers use.
inline constexpr const char* kZapDomain = "groupchat";

// A socket that binds and accepts only CURVE clients, proving `keys`.
void make_curve_server(zmq::socket_t& socket, const CurveKeyPair& keys);
// A socket that connects as a CURVE client with `mine`, and completes a
// handshake only with a server holding the secret of server_public_key.
void make_curve_client(zmq::socket_t& socket, const CurveKeyPair& mine,
                       std::string_view server_public_key);

// What a CURVE client needs to reach one server.
struct CurveClientKeys {
  CurveKeyPair mine;
  std::string server_public_key;
};

// The User-Id the ZAP handler gave the connection a message came on (in
// curve mode, the client's public key in Z85); empty when there is none.
std::string_view message_user_id(const zmq::message_t& message);

// The ZAP handler of a process: a REP socket bound at inproc://zeromq.zap.01
// in the servers' context, polled by the server's own loop. For each CURVE
// client that completed its handshake it asks the policy, and answers 200
// with the client key (Z85) as User-Id, or 400 with the policy's reason (the
// client sees its handshake fail; the server logs the refusal, at most once
// a second). Make it before the server socket binds.
class ZapHandler {
 public:
  // nullopt: the key may connect; otherwise why not (for the log and the client).
  using Policy =
      std::function<std::optional<std::string>(std::string_view key, std::string_view address)>;
  ZapHandler(zmq::context_t& context, Policy policy);
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // For the loop's poll.
  zmq::socket_t& socket() { return socket_; }
  // Answers every waiting request (non-blocking).
  void on_readable();
  uint64_t allowed() const { return allowed_; }
  uint64_t refused() const { return refused_; }

 private:
  void answer_one(std::vector<zmq::message_t>& frames);

  zmq::socket_t socket_;
  Policy policy_;
  uint64_t allowed_ = 0;
  uint64_t refused_ = 0;
  int64_t last_log_ms_ = -1;
  uint64_t unlogged_ = 0;
};

}  // namespace gc
