// user_client: the groupchat user program. One-shot subcommands for scripts,
// and the reference's interactive shell (the default).
// Exit codes: 0 success, 1 refused by the server, 2 bad usage, 3 no reply
// (no connection, no answer in time, a name that does not resolve), 4 the
// connection's security failed.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "client/chat_client.hpp"
#include "client/commands.hpp"
#include "client/group_names.hpp"
#include "client/security.hpp"
#include "client/user_files.hpp"
#include "core/clock.hpp"
#include "core/endpoint.hpp"
#include "core/stop_signal.hpp"
#include "core/version.hpp"
#include "core/visible_text.hpp"
#include "net/request_client.hpp"
#include "protocol/limits.hpp"

namespace {

int usage_error(const std::string& what) {
  std::cerr << "error: " << what << "\n";
  return gc::kExitUsage;
}

// A subcommand's --help lists only its own options: its footer lists the
// global ones too (they may come before or after the subcommand's name).
std::string global_options_help(const CLI::App& app) {
  std::vector<const CLI::Option*> globals;
  for (const CLI::Option* opt : app.get_options())
    if (opt->nonpositional() && opt->get_name() != "--help") globals.push_back(opt);
  CLI::Formatter formatter;
  formatter.column_width(30);
  return formatter.make_group("Global options (before or after the subcommand)", false, globals);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"groupchat user client: list groups, join, leave, send and read messages"};
  app.set_version_flag("--version", std::string("user_client ") + gc::kVersion);

  std::string server = gc::kDefaultRegistryAddress;
  std::string user_id, name;
  int timeout_ms = 0, tries = gc::RequestOptions{}.tries;
  double timeout_s = gc::RequestOptions{}.timeout_ms / 1000.0;
  app.add_option("--server", server, "message_server address HOST:PORT")
      ->envname("GROUPCHAT_SERVER")
      ->capture_default_str();
  auto* user_id_opt =
      app.add_option("--user-id", user_id, "use this user id instead of the stored identity");
  auto* name_opt = app.add_option("--name", name, "display name (stored with the identity)");
  auto* timeout_opt =
      app.add_option("--timeout", timeout_s,
                     "how long a command waits for answers in all, name lookups, connecting and "
                     "retries included; starts again at each answer")
          ->envname("GROUPCHAT_TIMEOUT")
          ->check(CLI::Range(0.1, 3600.0))
          ->type_name("SECONDS")
          ->capture_default_str();
  auto* timeout_ms_opt =
      app.add_option("--timeout-ms", timeout_ms,
                     "also send a request again after this many ms without a reply; without "
                     "--timeout, a command then waits this times --tries in all")
          ->check(CLI::Range(1, 600000));
  app.add_option("--tries", tries,
                 "sends of one request at most (again after a dropped connection)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  std::string server_key, group_key;
  auto* server_key_opt = app.add_option(
      "--server-key", server_key,
      "the registry's CURVE public key (env GROUPCHAT_SERVER_KEY): reach it over CURVE; "
      "remembered per registry in known_registries");
  auto* group_key_opt =
      app.add_option("--group-key", group_key,
                     "the group's CURVE public key, for a group reached without a "
                     "curve registry (join, leave, send, get, follow, whoami)");
  app.require_subcommand(0, 1);

  std::string group;
  std::vector<std::string> words;
  std::string since;
  int64_t since_seq = -1;
  int limit = 0;
  int last = 0;
  bool json_out = false;

  auto* groups_cmd = app.add_subcommand("groups", "list the live groups");
  auto* join_cmd = app.add_subcommand("join", "join a group");
  const std::string group_help = "the group: IP:PORT, or its name as the registry lists it";
  join_cmd->add_option("group", group, group_help)->required();
  auto* leave_cmd = app.add_subcommand("leave", "leave a group");
  leave_cmd->add_option("group", group, group_help)->required();
  auto* send_cmd = app.add_subcommand("send", "send a message (TEXT '-' reads it from stdin)");
  send_cmd->add_option("group", group, group_help)->required();
  send_cmd->add_option("text", words, "message text, or - for stdin")->required();
  auto* get_cmd = app.add_subcommand("get", "print messages, oldest first");
  get_cmd->add_option("group", group, group_help)->required();
  get_cmd->add_option("--since", since,
                      "messages at or after TIME, your local time unless it ends in Z or an "
                      "offset (HH:MM:SS, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS[.f][Z|+HH:MM], "
                      "YYYY-MM-DD HH:MM:SS)");
  get_cmd->add_option("--since-seq", since_seq, "messages after this seq")
      ->check(CLI::NonNegativeNumber);
  get_cmd->add_option("--limit", limit, "at most N messages (one page)")
      ->check(CLI::Range(1, static_cast<int>(gc::kMaxGetLimit)));
  get_cmd
      ->add_option("--last", last, "only the newest N messages (of those the other options select)")
      ->check(CLI::Range(1, static_cast<int>(gc::kMaxGetLimit)))
      ->excludes("--limit");
  get_cmd->add_flag("--json", json_out, "one JSON object per message");
  auto* follow_cmd = app.add_subcommand(
      "follow", "print the group's messages as they arrive, until SIGINT/SIGTERM (like tail -f)");
  follow_cmd->add_option("group", group, group_help)->required();
  follow_cmd->add_option("--since-seq", since_seq, "first print the stored messages after this seq")
      ->check(CLI::NonNegativeNumber);
  follow_cmd->add_flag("--json", json_out, "one JSON object per message");
  auto* whoami_cmd = app.add_subcommand(
      "whoami", "print your public key; with a group, also your public id there");
  whoami_cmd->add_option("group", group, group_help);
  whoami_cmd->add_flag("--json", json_out, "print one JSON object");
  auto* shell_cmd = app.add_subcommand("shell", "interactive shell (the default)");
  auto* help_cmd = app.add_subcommand("help", "print this help (as --help) and exit");
  // Global flags may also follow the subcommand name.
  for (auto* sub :
       {groups_cmd, join_cmd, leave_cmd, send_cmd, get_cmd, follow_cmd, whoami_cmd, shell_cmd}) {
    sub->fallthrough();
    sub->footer([&app] { return global_options_help(app); });
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? gc::kExitOk : gc::kExitUsage;
  }
  if (*help_cmd) {
    std::cout << app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal);
    return gc::kExitOk;
  }

  auto registry = gc::parse_connect_endpoint(server);
  if (!registry) return usage_error("--server: " + registry.error());
  if (user_id_opt->count() > 0) {
    if (auto bad = gc::check_user_id(user_id)) return usage_error("--user-id: " + *bad);
  }
  // A group by address is checked now; one by name is looked up once the
  // registry can be asked.
  std::optional<gc::Endpoint> group_ep;
  const bool group_by_name = !group.empty() && !gc::is_group_address(group);
  if (!group.empty() && !group_by_name) {
    auto ep = gc::parse_connect_endpoint(group);
    if (!ep) return usage_error(ep.error());
    group_ep = *ep;
  }
  std::optional<gc::SinceTime> since_wire;
  if (!since.empty()) {
    auto w = gc::since_for_wire(since, gc::now_us());
    if (!w) return usage_error("--since: " + w.error());
    since_wire = *w;
  }

  gc::IdentityOptions id_opts;
  if (user_id_opt->count() > 0) id_opts.user_id = user_id;
  if (name_opt->count() > 0) id_opts.name = name;

  // Curve mode: the registry's key (given, or remembered), a group's key.
  const std::string registry_address = gc::canonical_address(*registry);
  std::optional<std::string> given_key;
  std::string given_what = "--server-key";
  if (server_key_opt->count() > 0) {
    given_key = server_key;
  } else if (const char* env = std::getenv("GROUPCHAT_SERVER_KEY"); env && env[0] != '\0') {
    given_key = env;
    given_what = "GROUPCHAT_SERVER_KEY";
  }
  const auto known_file = gc::known_registries_file(id_opts);
  auto trust = gc::resolve_registry_trust(known_file, registry_address, given_key, given_what);
  if (!trust) return usage_error(trust.error());
  std::optional<std::string> group_key_checked;
  if (group_key_opt->count() > 0) {
    if (group.empty())
      return usage_error(
          "--group-key needs a group address or name (join, leave, send, get, follow or whoami "
          "GROUP)");
    auto k = gc::parse_public_key(group_key, "--group-key");
    if (!k) return usage_error(k.error());
    group_key_checked = *k;
  }

  gc::Identity me = gc::load_identity(id_opts);
  for (const auto& w : me.warnings) std::cerr << "warning: " << w << "\n";

  // The user's key pair: only when a connection needs CURVE (or whoami asks).
  std::optional<gc::CurveKeyPair> my_keys;
  if (trust->key || group_key_checked || *whoami_cmd) {
    const auto key_file = gc::user_key_file(id_opts);
    if (!key_file)
      return usage_error(
          "there is no place for your key pair: set HOME (or an absolute XDG_CONFIG_HOME)");
    bool created = false;
    auto keys = gc::load_or_create_key_file(*key_file, &created);
    if (!keys) return usage_error(keys.error());
    if (created)
      std::cerr << "note: made your key pair in " << key_file->string() << " (public key "
                << keys->public_key << ")\n";
    my_keys = *keys;
  }

  const auto groups_file = gc::joined_groups_file_for(me, id_opts);
  const auto remember = gc::remember_memberships(groups_file, me.user_uuid, std::cerr);

  // The budget: --timeout (or GROUPCHAT_TIMEOUT); else with --timeout-ms,
  // tries of that long each, as before there was a budget; else the default.
  int budget_ms = static_cast<int>(timeout_s * 1000.0 + 0.5);
  if (timeout_opt->count() == 0 && timeout_ms_opt->count() > 0) budget_ms = timeout_ms * tries;
  // A name service that does not answer takes no more than the budget either.
  gc::set_resolve_timeout_ms(budget_ms);
  gc::ZmqTransport transport(budget_ms, tries, timeout_ms);
  gc::TransportSecurity sec;
  {
    sec.registry = registry_address;
    sec.registry_key = trust->key;
    sec.registry_key_source = trust->remembered
                                  ? gc::KeySource::of(gc::KeySource::Kind::known_registries)
                                  : gc::KeySource::given(given_what);
    if (known_file) sec.known_registries = *known_file;
    if (group_key_checked && group_ep)
      sec.group_keys[gc::canonical_address(*group_ep)] = *group_key_checked;
    if (my_keys) sec.my_keys = [my_keys] { return gc::Result<gc::CurveKeyPair>(*my_keys); };
    if (trust->remember) {
      sec.on_registry_proved = [file = *known_file, registry_address, key = *trust->key] {
        if (auto e = gc::remember_registry_key(file, registry_address, key))
          std::cerr << "warning: " << *e << "; the registry's key is not remembered\n";
        else
          std::cerr << "note: remembered the registry at " << registry_address << " with the key "
                    << key << " in " << file.string() << "\n";
      };
    }
    transport.secure(sec);
  }
  if (group_by_name) {
    gc::GroupTarget t = gc::find_group(transport, registry->ip_port(), group);
    if (!t.ok()) {
      std::cerr << "error: " << t.error << "\n";
      return t.exit_code;
    }
    auto ep = gc::parse_connect_endpoint(t.address);
    if (!ep) {
      std::cerr << "error: the registry lists '" << gc::visible_text(group)
                << "' at an unusable address: " << gc::visible_text(ep.error()) << "\n";
      return gc::kExitUnreachable;
    }
    group_ep = *ep;
    if (group_key_checked) {
      // The key given is the named group's: the transport learns it now.
      sec.group_keys[gc::canonical_address(*group_ep)] = *group_key_checked;
      transport.secure(sec);
    }
  }

  // How a followed group is reached: as the transport reaches it.
  gc::FollowLinkSource link_for = [&transport](const std::string& address) {
    using R = gc::Result<gc::FollowLink>;
    auto route = transport.route(address);
    if (!route) return R::error(route.error());
    gc::FollowLink link;
    link.curve = route->curve;
    link.describe = [&transport, address, r = *route](const gc::LinkEvents& events) {
      return transport.describe(address, r, events);
    };
    return R(std::move(link));
  };

  // A one-shot command's requests share one budget; the shell's each have one.
  if (*groups_cmd || group_ep) transport.begin_command();

  if (*whoami_cmd) {
    gc::WhoAmIOptions wo;
    wo.public_key = my_keys->public_key;
    wo.json = json_out;
    if (group_ep) {
      gc::GroupClient g(transport, group_ep->ip_port(), me.user_uuid, me.name);
      return gc::run_whoami(wo, &g, std::cout, std::cerr);
    }
    return gc::run_whoami(wo, nullptr, std::cout, std::cerr);
  }

  if (*follow_cmd) {
    gc::FollowCommandOptions fo;
    fo.address = group_ep->ip_port();
    fo.user_uuid = me.user_uuid;
    if (since_seq >= 0) fo.since_seq = since_seq;
    fo.json = json_out;
    fo.timing.connect_timeout_ms = budget_ms;
    if (timeout_ms_opt->count() > 0)
      fo.timing.reply_timeout_ms = timeout_ms;
    else if (timeout_opt->count() > 0)
      fo.timing.reply_timeout_ms = budget_ms;
    auto link = link_for(fo.address);
    if (!link) {
      std::cerr << "error: " << link.error() << "\n";
      return transport.last_failure_was_security() ? gc::kExitInsecure : gc::kExitUnreachable;
    }
    fo.link = std::move(*link);
    int stop_fd = gc::watch_stop_signals();
    zmq::context_t ctx;
    return gc::run_follow(ctx, fo, stop_fd, std::cout, std::cerr);
  }

  if (*groups_cmd) {
    // The registry is not a member: it gets a fresh random id for its log,
    // never the identity that acts in open groups.
    gc::RegistryClient reg(transport, registry->ip_port(), gc::generate_uuid_v4());
    return gc::run_groups(reg, transport.registry_is_curve(), std::cout, std::cerr);
  }
  if (group_ep) {
    gc::GroupClient g(transport, group_ep->ip_port(), me.user_uuid, me.name);
    if (*join_cmd || *leave_cmd)
      return gc::run_membership(g, static_cast<bool>(*join_cmd), remember, std::cout, std::cerr);
    if (*send_cmd) return gc::run_send(g, words, std::cin, std::cout, std::cerr);
    gc::MessageQuery q;
    if (since_wire) since_wire->apply(q);
    if (since_seq >= 0) q.since_seq = since_seq;
    if (limit > 0) q.limit = limit;
    if (last > 0) q.last = last;
    return gc::run_get(g, q, json_out, std::cout, std::cerr);
  }

  // The shell: the default without a subcommand.
  return gc::run_shell(transport, {registry->ip_port(), me.user_uuid, me.name}, groups_file,
                       remember, std::cin, std::cout, std::cerr, link_for);
}
