#pragma once
// Groups by the name the registry lists them under: a group argument is either
// an address (HOST:PORT, it ends in ":PORT") or a name that the registry's list
// turns into an address.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "client/chat_client.hpp"

namespace gc {

// True when text is meant as an address: it ends in ':' and digits
// ("127.0.0.1:5560", "localhost:5555", "tcp://10.0.0.7:6000"). Anything else
// is a group's name.
bool is_group_address(std::string_view text);

struct ListedGroup {
  std::string name;     // as the registry sent it (peer text: shown through visible_text)
  std::string address;  // IP:PORT
};

// The registry's live groups with their names: list_groups at a curve
// registry, else get_group_list (the reference's "NAME - IP:PORT" strings,
// split at the last " - "; an entry without one is skipped).
CallResult<std::vector<ListedGroup>> list_named_groups(Transport& transport,
                                                       const std::string& registry);

// Up to `max` listed names close to `name`: the same but for case, one
// beginning with the other, or at most 2 edits away; closest first.
std::vector<std::string> close_names(const std::vector<ListedGroup>& groups, std::string_view name,
                                     size_t max = 3);

// A group argument made an address.
struct GroupTarget {
  std::string address;  // IP:PORT, as the group's server is reached
  std::string name;     // the name it was given by; empty when given by address
  // When address is empty: what went wrong, and the user_client exit code it
  // maps to (2 a bad address or an unknown name; 1, 3 or 4 the registry
  // refused, did not answer, or its connection's security failed).
  std::string error;
  int exit_code = 0;
  bool ok() const { return !address.empty(); }
};
// An address is checked (parse_connect_endpoint); a name is looked up in the
// registry's list ("no live group named 'N' at the registry R", with close
// names when there are some).
GroupTarget find_group(Transport& transport, const std::string& registry, std::string_view text);

}  // namespace gc
