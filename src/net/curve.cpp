#include "net/curve.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/atomic_file.hpp"

namespace gc {

namespace fs = std::filesystem;

std::string_view security_name(SecurityMode mode) {
  return mode == SecurityMode::curve ? "curve" : "open";
}

std::optional<SecurityMode> parse_security(std::string_view text) {
  if (text == "open") return SecurityMode::open;
  if (text == "curve") return SecurityMode::curve;
  return std::nullopt;
}

bool is_z85_key(std::string_view text) {
  if (text.size() != kZ85KeyChars) return false;
  char z85[kZ85KeyChars + 1];
  std::memcpy(z85, text.data(), kZ85KeyChars);
  z85[kZ85KeyChars] = '\0';
  uint8_t raw[32];
  return zmq_z85_decode(raw, z85) != nullptr;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<std::string> parse_public_key(std::string_view text, std::string_view what) {
  const std::string_view key = trim(text);
  if (key.empty()) return Result<std::string>::error(fmt::format("{} is empty", what));
  if (!is_z85_key(key))
    return Result<std::string>::error(fmt::format(
        "{}: '{}' is not a public key (40 characters of Z85, as printed by --public-key or "
        "whoami)",
        what, key.size() > 60 ? std::string(key.substr(0, 60)) + "..." : std::string(key)));
  return std::string(key);
}

Result<CurveKeyPair> generate_key_pair() {
  char pub[kZ85KeyChars + 1], sec[kZ85KeyChars + 1];
  if (zmq_curve_keypair(pub, sec) != 0)
    return Result<CurveKeyPair>::error(fmt::format(
        "cannot make a CURVE key pair: {} (is libzmq built with CURVE?)", zmq_strerror(errno)));
  CurveKeyPair keys{pub, sec};
  std::memset(sec, 0, sizeof sec);
  return keys;
}

Result<CurveKeyPair> load_key_file(const fs::path& file) {
  using R = Result<CurveKeyPair>;
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return R::error(
        fmt::format("cannot read the key file {}: {}", file.string(), std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    return R::error(fmt::format("the key file {} is not a regular file", file.string()));
  if (st.st_mode & 077)
    return R::error(
        fmt::format("the key file {} may be read by others (mode {:04o}); it holds a secret key: "
                    "chmod 600 {} (and make a new key if others may have read it)",
                    file.string(), st.st_mode & 07777, file.string()));
  if (st.st_size > 4096)
    return R::error(fmt::format("the key file {} is {} bytes, not a key file", file.string(),
                                static_cast<long long>(st.st_size)));
  std::ifstream in(file);
  if (!in)
    return R::error(
        fmt::format("cannot read the key file {}: {}", file.string(), std::strerror(errno)));
  CurveKeyPair keys;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    const auto eq = l.find('=');
    if (eq == std::string_view::npos)
      return R::error(
          fmt::format("the key file {}, line {}: expected 'public-key = KEY' or "
                      "'secret-key = KEY'",
                      file.string(), line_no));
    const std::string_view name = trim(l.substr(0, eq));
    const std::string_view value = trim(l.substr(eq + 1));
    std::string* slot = name == "public-key"   ? &keys.public_key
                        : name == "secret-key" ? &keys.secret_key
                                               : nullptr;
    if (!slot)
      return R::error(fmt::format("the key file {}, line {}: unknown entry '{}'", file.string(),
                                  line_no, name));
    if (!is_z85_key(value))
      return R::error(fmt::format("the key file {}, line {}: {} is not 40 characters of Z85",
                                  file.string(), line_no, name));
    *slot = std::string(value);
  }
  if (keys.secret_key.empty())
    return R::error(fmt::format("the key file {} has no secret-key", file.string()));
  char derived[kZ85KeyChars + 1];
  if (zmq_curve_public(derived, keys.secret_key.c_str()) != 0)
    return R::error(
        fmt::format("cannot use the key file {}: {}", file.string(), zmq_strerror(errno)));
  if (keys.public_key.empty()) keys.public_key = derived;
  if (keys.public_key != derived)
    return R::error(
        fmt::format("the key file {}: its public-key is not the secret-key's", file.string()));
  return keys;
}

Result<CurveKeyPair> load_or_create_key_file(const fs::path& file, bool* created) {
  using R = Result<CurveKeyPair>;
  if (created) *created = false;
  std::error_code ec;
  if (fs::exists(file, ec) || fs::is_symlink(file, ec)) return load_key_file(file);
  if (file.has_parent_path()) {
    fs::create_directories(file.parent_path(), ec);
    if (ec)
      return R::error(fmt::format("cannot create the directory of the key file {}: {}",
                                  file.string(), ec.message()));
  }
  auto keys = generate_key_pair();
  if (!keys) return keys;
  const std::string text = fmt::format(
      "# groupchat CURVE key pair. The secret key is who this program is to its peers:\n"
      "# keep this file readable by its owner only, and never share it. Share the\n"
      "# public key (printed by --public-key).\n"
      "public-key = {}\nsecret-key = {}\n",
      keys->public_key, keys->secret_key);
  // Made with link(2): if another process made the file meanwhile, theirs is kept.
  if (auto failure = write_file_atomically(
          file, text, {.mode = 0600, .exact_mode = true, .keep_existing = true})) {
    if (failure->err == EEXIST) return load_key_file(file);
    return R::error(fmt::format("cannot write the key file {}: {}", file.string(),
                                std::strerror(failure->err)));
  }
  if (created) *created = true;
  return keys;
}

void make_curve_server(zmq::socket_t& socket, const CurveKeyPair& keys) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
  socket.set(zmq::sockopt::zap_domain, kZapDomain);
}

void make_curve_client(zmq::socket_t& socket, const CurveKeyPair& mine,
                       std::string_view server_public_key) {
  socket.set(zmq::sockopt::curve_serverkey, std::string(server_public_key));
  socket.set(zmq::sockopt::curve_publickey, mine.public_key);
  socket.set(zmq::sockopt::curve_secretkey, mine.secret_key);
}

std::string_view message_user_id(const zmq::message_t& message) {
  const char* id = zmq_msg_gets(const_cast<zmq_msg_t*>(message.handle()), "User-Id");
  return id ? std::string_view(id) : std::string_view();
}

ZapHandler::ZapHandler(zmq::context_t& context, Policy policy)
    : socket_(context, zmq::socket_type::rep), policy_(std::move(policy)) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.bind("inproc://zeromq.zap.01");
}

ZapHandler::~ZapHandler() = default;

void ZapHandler::on_readable() {
  std::vector<zmq::message_t> frames;
  while (true) {
    frames.clear();
    zmq::message_t first;
    try {
      if (!socket_.recv(first, zmq::recv_flags::dontwait)) return;
      bool more = first.more();
      frames.push_back(std::move(first));
      while (more) {
        zmq::message_t& part = frames.emplace_back();
        (void)socket_.recv(part, zmq::recv_flags::none);
        more = part.more();
        if (frames.size() > 16) frames.pop_back();  // ZAP requests have 7 frames for CURVE
      }
    } catch (const zmq::error_t& e) {
      spdlog::error("ZAP handler: {}", e.what());
      return;
    }
    answer_one(frames);
  }
}

void ZapHandler::answer_one(std::vector<zmq::message_t>& frames) {
  // Request (RFC 27): version, request id, domain, address, routing id,
  // mechanism, credentials...; for CURVE one credential, the client's 32-byte key.
  std::string status = "400", text = "malformed ZAP request", user_id;
  std::string request_id = frames.size() > 1 ? frames[1].to_string() : std::string();
  if (frames.size() >= 6 && frames[0].to_string_view() == "1.0") {
    const std::string mechanism = frames[5].to_string();
    const std::string address = frames[3].to_string();
    if (mechanism != "CURVE" || frames.size() < 7 || frames[6].size() != 32) {
      text = fmt::format("mechanism {} is not accepted: use CURVE", mechanism);
    } else {
      char z85[kZ85KeyChars + 1];
      zmq_z85_encode(z85, static_cast<const uint8_t*>(frames[6].data()), 32);
      const std::string key = z85;
      if (auto refused = policy_ ? policy_(key, address) : std::nullopt) {
        text = *refused;
        ++refused_;
        const int64_t now = now_ms();
        if (last_log_ms_ < 0 || now - last_log_ms_ >= 1000) {
          spdlog::warn("refused the key {} from {}: {}{}", key, address, text,
                       unlogged_ ? fmt::format(" ({} more refusals since the last line)", unlogged_)
                                 : std::string());
          last_log_ms_ = now;
          unlogged_ = 0;
        } else {
          ++unlogged_;
        }
      } else {
        status = "200";
        text = "OK";
        user_id = key;
        ++allowed_;
      }
    }
  }
  try {
    socket_.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(status), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(text), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(user_id), zmq::send_flags::sndmore);
    socket_.send(zmq::str_buffer(""), zmq::send_flags::none);
  } catch (const zmq::error_t& e) {
    spdlog::error("ZAP handler: cannot answer: {}", e.what());
  }
}

}  // namespace gc
