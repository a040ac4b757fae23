// groupchat beside the reference group server it keeps the wire protocol of:
// the reference's group.py (from --reference-dir), run with python3
// (--reference-python; python3-zmq is what it needs) against
// a message_server on port 5555, where the reference expects its registry
// (tcp://localhost:5555, fixed in its code). The same sequential and
// pipelined sendMessage loads as ours; the table sets our figures beside its.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "measure.hpp"
#include "protocol/group_protocol.hpp"
#include "scenarios.hpp"

namespace bench {

namespace {

using namespace std::chrono_literals;

constexpr uint16_t kReferenceRegistryPort = 5555;
constexpr std::chrono::milliseconds kReferenceStartWait = 20s;

const std::vector<std::string> kReferenceKeys = {
    "reference.sequential.p50_us", "reference.sequential.p99_us", "reference.pipelined.per_s"};

void reference_missing(BenchRun& run, const std::string& why) {
  for (const auto& key : kReferenceKeys) run.figures.missing(key, why);
  fmt::print(stderr, "bench: reference: {}\n", why);
}

// Empty when a listener could bind 127.0.0.1:port now; else why not.
std::string port_taken(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string why;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 1) != 0)
    why = fmt::format("port {} is taken ({}): the reference's registry must be there", port,
                      std::strerror(errno));
  ::close(fd);
  return why;
}

// Sends one joinGroup and waits for its answer until `timeout`: the
// reference binds only after its registry answered, and prints no line of
// its own when it is ready. Empty when it answered SUCCESS; else why not.
std::string wait_until_answering(zmq::context_t& ctx, const std::string& endpoint,
                                 const std::string& user, std::chrono::milliseconds timeout) {
  zmq::socket_t req(ctx, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.connect(endpoint);
  req.send(zmq::buffer(gc::make_join_request(user, "")), zmq::send_flags::none);
  zmq::pollitem_t items[] = {{req.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::poll(items, 1, timeout);
  if (!(items[0].revents & ZMQ_POLLIN))
    return fmt::format("the reference group did not answer joinGroup within {} s",
                       timeout.count() / 1000);
  zmq::message_t reply;
  (void)req.recv(reply, zmq::recv_flags::none);
  if (reply.to_string_view().find(kSuccessMark) == std::string_view::npos)
    return "the reference group refused joinGroup: " + reply.to_string().substr(0, 200);
  return {};
}

}  // namespace

void reference_group(BenchRun& run) {
  const Sizes& z = run.sizes;
  if (run.reference_dir.empty()) return reference_missing(run, "no --reference-dir given");
  const auto script = run.reference_dir / "group.py";
  if (!std::filesystem::is_regular_file(script))
    return reference_missing(run, script.string() + " not found");
  if (std::string why = port_taken(kReferenceRegistryPort); !why.empty())
    return reference_missing(run, why);

  ChildProcess registry;
  const std::string registry_bind = fmt::format("127.0.0.1:{}", kReferenceRegistryPort);
  progress("  starting message_server on " + registry_bind + " for the reference");
  registry.start({(run.bin_dir / "message_server").string(), "--bind", registry_bind});
  registry.wait_for_line("serving on", 15s);

  const uint16_t port = free_loopback_port();
  const std::string address = fmt::format("127.0.0.1:{}", port);
  const std::string endpoint = "tcp://" + address;
  ChildProcess reference;
  progress(
      fmt::format("  starting {} {} bench-ref {}", run.reference_python, script.string(), address));
  // Its stdout (a line per request) goes to /dev/null; its stderr is kept
  // for the error message.
  reference.start({run.reference_python, script.string(), "bench-ref", address});
  if (std::string why =
          wait_until_answering(run.ctx, endpoint, client_user(0), kReferenceStartWait);
      !why.empty()) {
    const auto lines = reference.lines();
    reference.stop();
    registry.stop();
    return reference_missing(
        run, why + (lines.empty() ? "" : "; the last line it printed: " + lines.back()));
  }
  for (size_t i = 1; i < z.clients; ++i) join(run, endpoint, client_user(i));

  const std::string request = send_request(client_user(0), message_text(z.message_bytes));
  const RoundTripResult sequential = zmq_round_trips(
      run.ctx, endpoint, request, std::max<size_t>(1, z.warmup / kRounds), z.reference_sequential);
  const PipelineResult pipelined =
      zmq_pipelined(run.ctx, endpoint, send_requests(z), z.window, z.reference_pipelined, false);
  reference.stop();
  registry.stop();
  record_latency(run, "reference.sequential", sequential);
  record_rate(run, "reference.pipelined", pipelined);
}

}  // namespace bench
