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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/registry_protocol.hpp"

namespace gc {

struct RegistryConfig {
  int64_t heartbeat_ms = 1000;      // interval told to heartbeating groups
  int64_t expiry_ms = 3500;         // a heartbeating group is dropped this long after its last one
  int64_t watch_connect_ms = 5000;  // a watched group must be reachable this soon after register
  // A watched group that lost its connection may come back this soon.
  int64_t watch_reconnect_ms = 1000;
};

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

  // Drops every group whose deadline is at or before now_ms.
  RegistryOutput tick(int64_t now_ms);
  // A watched endpoint's connection came up or went down.
  RegistryOutput on_watch_event(std::string_view address, WatchEvent event, int64_t now_ms);

  // The earliest time tick() has work to do; nullopt when nothing can expire.
  std::optional<int64_t> next_deadline() const;

  // "NAME - IP:PORT" for every live group, in registration order.
  std::vector<std::string> group_list() const;
  size_t size() const { return groups_.size(); }

 private:
  struct Group {
    std::string address;
    std::string name;
    bool heartbeat = false;  // true: expires without heartbeats; false: watched endpoint
    bool connected = false;  // watched groups only
    std::optional<int64_t> deadline_ms;
  };
  // The action table: which handler serves each (decoded, checked) request.
  using Handler = void (Registry::*)(const RegistryRequest&, int64_t, RegistryOutput&);
  struct Command {
    RegistryAction action;
    Handler handler;
  };
  static const Command kCommands[];

  void on_register(const RegistryRequest& req, int64_t now_ms, RegistryOutput& out);
  void on_heartbeat(const RegistryRequest& req, int64_t now_ms, RegistryOutput& out);
  void on_unregister(const RegistryRequest& req, int64_t now_ms, RegistryOutput& out);
  void on_get_group_list(const RegistryRequest& req, int64_t now_ms, RegistryOutput& out);

  Group* find_address(std::string_view address);
  const Group* find_name(std::string_view name) const;
  void remove(std::string_view address, RegistryOutput& out);

  RegistryConfig config_;
  std::vector<Group> groups_;  // registration order; small, so linear search is fine
};

}  // namespace gc
