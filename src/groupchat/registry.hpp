#pragma once
// The registry's protocol state machine (sans-IO): it knows the live groups,
// answers requests and decides when a group is gone. It never touches a
// socket; the server loop feeds it request bodies, watch events and the
// clock, and carries out what it asks (send the reply, print the lines,
// start or stop watching an endpoint).
//
// Liveness. A group that registers with "heartbeat": true must send a
// heartbeat within expiry_ms of its last register/heartbeat. A group that
// does not (the reference's group.py) is watched through its own endpoint:
// the server keeps a connection to it and reports connected/disconnected;
// the group must be connected within watch_connect_ms of registering and is
// dropped watch_reconnect_ms after its connection is lost unless it comes
// back. Every deadline is a monotonic time in milliseconds.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gc {

struct RegistryConfig {
  int64_t heartbeat_ms = 1000;      // interval told to heartbeating groups
  int64_t expiry_ms = 3500;         // a heartbeating group is dropped this long after its last one
  int64_t watch_connect_ms = 5000;  // a watched group must be reachable this soon after register
  int64_t watch_reconnect_ms =
      1000;  // a watched group that lost its connection may come back this soon
};

// Limits on request fields; longer or malformed values are refused.
inline constexpr size_t kMaxGroupNameBytes = 128;
inline constexpr size_t kMaxUserUuidBytes = 128;
inline constexpr size_t kMaxIpPortBytes = 255;

enum class WatchChange { start, stop };

struct WatchCommand {
  WatchChange change;
  std::string address;  // IP:PORT as the group registered it
  bool operator==(const WatchCommand&) const = default;
};

enum class WatchEvent { connected, disconnected };

// What the server loop must do after one call into the Registry.
struct RegistryOutput {
  std::string reply;                      // body of the reply frame (empty for tick/watch events)
  std::vector<std::string> stdout_lines;  // the reference's print lines, in order
  std::vector<WatchCommand> watch;        // carried out in order
  std::vector<std::string> notes;         // diagnostics for the log (stderr)
};

class Registry {
 public:
  explicit Registry(RegistryConfig config = {});

  // One request frame body (UTF-8 JSON). Always yields a reply.
  RegistryOutput handle(std::string_view body, int64_t now_ms);
  // An already decoded request (any JSON value). Always yields a reply.
  RegistryOutput handle_request(const nlohmann::json& request, int64_t now_ms);

  // Drops every group whose deadline is at or before now_ms.
  RegistryOutput tick(int64_t now_ms);
  // A watched endpoint's connection came up or went down.
  RegistryOutput on_watch_event(std::string_view address, WatchEvent event, int64_t now_ms);

  // The earliest time tick() has work to do; nullopt when nothing can expire.
  std::optional<int64_t> next_deadline() const;

  // "NAME - IP:PORT" for every live group, in registration order.
  std::vector<std::string> group_list() const;
  size_t size() const { return groups_.size(); }
  const RegistryConfig& config() const { return config_; }

  // {"response":"FAILED","error":error} — also used by the server for framing errors.
  static std::string failed_reply(std::string_view error);

 private:
  struct Group {
    std::string address;
    std::string name;
    bool heartbeat = false;  // true: expires without heartbeats; false: watched endpoint
    bool connected = false;  // watched groups only
    std::optional<int64_t> deadline_ms;
  };
  using Handler = void (Registry::*)(const nlohmann::json&, int64_t, RegistryOutput&);
  struct Command {
    std::string_view action;
    Handler handler;
    std::vector<std::string_view>
        fields;  // required string fields, checked before the handler runs
  };
  static const std::vector<Command>& commands();

  void on_register(const nlohmann::json& req, int64_t now_ms, RegistryOutput& out);
  void on_heartbeat(const nlohmann::json& req, int64_t now_ms, RegistryOutput& out);
  void on_unregister(const nlohmann::json& req, int64_t now_ms, RegistryOutput& out);
  void on_get_group_list(const nlohmann::json& req, int64_t now_ms, RegistryOutput& out);

  Group* find_address(std::string_view address);
  const Group* find_name(std::string_view name) const;
  void remove(std::string_view address, RegistryOutput& out);

  RegistryConfig config_;
  std::vector<Group> groups_;  // registration order; small, so linear search is fine
};

}  // namespace gc
