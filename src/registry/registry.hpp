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
// back. A watched group dropped that way (it had been connected: a process
// that is paused, or whose host went away, may serve again) is kept
// "rewatched": unlisted, its watch still connecting, for rewatch_ms at most
// (at most max_rewatched of them, the oldest forgotten first), and listed
// again in its place as soon as its endpoint answers. A rewatched entry
// holds neither its name nor its address: any registration that needs them
// takes them, and it yields its slot to any new group at max_groups. Every
// deadline is a monotonic time in milliseconds.
//
// Trust. Every address is read into one canonical form (a dotted quad and a
// decimal port) before it is compared, listed or watched, so no spelling of
// an address is a second entry. A group must register from the host it
// advertises (or any address of this host from this host), never at the
// registry's own address. A live entry keeps its name and the peer address
// that registered it: only that peer may register it again, heartbeat it or
// unregister it, and a watched entry stays watched (heartbeats never turn a
// group that has a live connection into one that expires without them).
// Only an entry whose watched connection was lost (its process is gone) is
// taken over by another registration at its address.
//
// Keys (curve mode, RegistryConfig::curve). Every request comes with the key
// its connection was authenticated with (the ZAP handler's User-Id). A group
// name is bound to the first key that registered it (bindings(): the server
// keeps them on disk); only that key may register, heartbeat or unregister
// it. With an allow list (set_allowed), only the listed (key, name) pairs may
// register. A group registered as "curve" is listed only once the registry
// has completed a CURVE handshake with its address, the registered key as
// the server key (a watch with server_key set; the proof): whoever registers
// a curve group must be serving it.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/limits.hpp"
#include "protocol/registry_protocol.hpp"

namespace gc {

// A dropped watched group is watched for its return this long, at most this many.
inline constexpr int64_t kDefaultRewatchMs = 3'600'000;
inline constexpr size_t kDefaultMaxRewatched = 256;

struct RegistryConfig {
  int64_t heartbeat_ms = 1000;      // interval told to heartbeating groups
  int64_t expiry_ms = 3500;         // a heartbeating group is dropped this long after its last one
  int64_t watch_connect_ms = 5000;  // a watched group must be reachable this soon after register
  // A watched group that lost its connection may come back this soon.
  int64_t watch_reconnect_ms = 1000;
  // A dropped watched group is watched this long for its return (0: forgotten at once).
  int64_t rewatch_ms = kDefaultRewatchMs;
  size_t max_rewatched = kDefaultMaxRewatched;  // rewatched entries at most; the oldest go first
  // Caps on what registrations may hold (docs/PROTOCOL.md, "Registry registrations").
  size_t max_groups = kDefaultMaxGroups;                      // in total
  size_t max_groups_per_source = kDefaultMaxGroupsPerSource;  // registered from one peer address
  // Accept a registration whose address is not of the host it comes from.
  bool allow_any_registrant = false;
  size_t max_bound_names = kDefaultMaxBoundNames;  // curve mode: names bound to keys
  // Curve mode: requests carry their key; names are bound to keys; curve
  // groups are proven before they are listed.
  bool curve = false;
};

// name -> the key (Z85) it is bound to.
using NameBindings = std::map<std::string, std::string>;
// (key, name) pairs an allow list admits.
using AllowedNames = std::set<std::pair<std::string, std::string>>;

// What the registry knows of its own host: where it listens, so that no
// spelling of that address can be registered (the registry would watch
// itself), and which addresses are this host's, so that a process of this
// host may register any of them. The server loop fills it in.
struct RegistryHost {
  uint16_t port = 0;                    // the registry's port; 0: not known (nothing refused)
  std::optional<uint32_t> bound_ip;     // nullopt: bound to every address of the host
  std::vector<uint32_t> interface_ips;  // the host's IPv4 addresses besides 127.0.0.0/8

  // Loopback or one of interface_ips.
  bool is_local(uint32_t ip) const;
  // Would a connection to ip:port reach the registry itself?
  bool is_registry(uint32_t ip, uint16_t port) const;
};

enum class WatchChange { start, stop };

struct WatchCommand {
  WatchChange change;
  std::string address;  // IP:PORT in its canonical form (a dotted quad, a decimal port)
  // start: empty for a plain connection; else connect as a CURVE client that
  // completes its handshake only with the holder of this key (Z85).
  std::string server_key;
  bool operator==(const WatchCommand&) const = default;
};

enum class WatchEvent { connected, disconnected };

// What the server loop must do after one call into the Registry.
struct RegistryOutput {
  std::string reply;                      // body of the reply frame (empty for tick/watch events)
  std::vector<std::string> stdout_lines;  // the reference's print lines, in order
  std::vector<WatchCommand> watch;        // carried out in order
  std::vector<std::string> notes;         // diagnostics for the log (stderr)
  bool bindings_changed = false;          // bindings() has a new entry: save it
};

class Registry {
 public:
  explicit Registry(RegistryConfig config = {});

  // One request frame body (UTF-8 JSON) from the peer at peer_address (as
  // libzmq gives it: "10.0.0.7"; empty when not known). key: the Z85 key the
  // request's connection was authenticated with (curve mode; empty in open
  // mode). Always yields a reply.
  RegistryOutput handle(std::string_view body, int64_t now_ms, std::string_view peer_address,
                        std::string_view key = {});

  // Curve mode: the names bound to keys (as read from disk), and the allow
  // list (nullopt: any key may register names not bound to another). A live
  // group whose name is now bound to another key, or that the allow list no
  // longer admits, is dropped; a live group whose name is not bound is bound
  // again to its key (bindings_changed).
  RegistryOutput set_bindings(NameBindings bindings);
  RegistryOutput set_allowed(std::optional<AllowedNames> allowed);
  const NameBindings& bindings() const { return bindings_; }

  // Where the registry listens and the host's addresses (see RegistryHost).
  void set_host(RegistryHost host) { host_ = std::move(host); }
  const RegistryHost& host() const { return host_; }

  // Drops every group whose deadline is at or before now_ms.
  RegistryOutput tick(int64_t now_ms);
  // A watched endpoint's connection came up or went down.
  RegistryOutput on_watch_event(std::string_view address, WatchEvent event, int64_t now_ms);

  // The earliest time tick() has work to do; nullopt when nothing can expire.
  std::optional<int64_t> next_deadline() const;

  // "NAME - IP:PORT" for every live group, in registration order, IP:PORT canonical.
  std::vector<std::string> group_list() const;
  // Every live group as list_groups describes it, in registration order.
  std::vector<GroupEntry> group_entries() const;
  // The address of every entry, listed, not yet proven or rewatched, in registration order.
  std::vector<std::string> addresses() const;
  // Live entries (listed or not yet proven); rewatched ones are not counted.
  size_t size() const;
  // Dropped watched groups still watched for their return.
  size_t rewatched() const;

 private:
  // A watched group's connection: not yet up since it registered, up, lost
  // after having been up (its process is gone or hung), or rewatched: lost
  // for longer than watch_reconnect_ms, so unlisted, and watched for its
  // return until deadline_ms.
  enum class Watch { pending, connected, lost, rewatched };
  struct Group {
    std::string address;  // canonical IP:PORT
    std::string name;
    bool heartbeat = false;        // true: expires without heartbeats; false: watched endpoint
    Watch watch = Watch::pending;  // watched groups only
    std::optional<int64_t> deadline_ms;
    uint32_t registrant = 0;  // the peer address its registration came from
    std::string key;          // curve mode: the key it registered with
    bool curve = false;       // registered as "security": "curve"
    bool proven = true;       // false: a curve group whose handshake has not succeeded yet
    std::optional<int64_t> proof_deadline_ms;  // unproven: dropped at this time
    bool watching = false;                     // a watch was started for it and not stopped
  };
  // The request's fields that the handlers use, checked and canonical.
  struct Request {
    const RegistryRequest& decoded;
    std::string address;  // canonical IP:PORT (register, heartbeat, unregister)
    uint32_t ip = 0;
    uint16_t port = 0;
    std::optional<uint32_t> peer;  // the sender's IPv4 address, when known
    std::string_view key;          // the authenticated key (curve mode)
  };
  // The action table: which handler serves each (decoded, checked) request.
  using Handler = void (Registry::*)(const Request&, int64_t, RegistryOutput&);
  struct Command {
    RegistryAction action;
    Handler handler;
  };
  static const Command kCommands[];

  void on_register(const Request& req, int64_t now_ms, RegistryOutput& out);
  void on_heartbeat(const Request& req, int64_t now_ms, RegistryOutput& out);
  void on_unregister(const Request& req, int64_t now_ms, RegistryOutput& out);
  void on_get_group_list(const Request& req, int64_t now_ms, RegistryOutput& out);
  void on_list_groups(const Request& req, int64_t now_ms, RegistryOutput& out);

  // Why a registration of req may not be accepted from its peer; empty when it may.
  std::string check_registration(const Request& req) const;
  // The ms after which a stopped group of either kind is gone at the latest.
  int64_t drop_bound_ms() const;
  // A watched entry dropped from the list and watched for its return.
  static bool is_rewatched(const Group& g) { return g.watch == Watch::rewatched; }
  // Turns a lost watched group into a rewatched one (or forgets it, with
  // rewatch_ms 0), making room under max_rewatched.
  void rewatch(std::string_view address, int64_t now_ms, RegistryOutput& out);
  // Forgets the rewatched entry that would be forgotten first (the earliest deadline).
  void forget_oldest_rewatched(RegistryOutput& out, std::string_view why);

  Group* find_address(std::string_view address);
  const Group* find_name(std::string_view name) const;
  void remove(std::string_view address, RegistryOutput& out);
  void start_watch(Group& group, RegistryOutput& out);
  void stop_watch(Group& group, RegistryOutput& out);
  // Curve mode: why req's key may not act on the group named `name`; empty when it may.
  std::string check_key(const Request& req, std::string_view name) const;
  // Drops live groups the bindings or the allow list no longer admit.
  void enforce_keys(RegistryOutput& out);

  RegistryConfig config_;
  RegistryHost host_;
  std::vector<Group> groups_;  // registration order; small, so linear search is fine
  NameBindings bindings_;
  std::optional<AllowedNames> allowed_;
};

}  // namespace gc
