#include "client/group_names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "client/commands.hpp"
#include "core/endpoint.hpp"
#include "core/visible_text.hpp"

namespace gc {

bool is_group_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == text.size()) return false;
  return std::all_of(text.begin() + static_cast<std::ptrdiff_t>(colon) + 1, text.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

CallResult<std::vector<ListedGroup>> list_named_groups(Transport& transport,
                                                       const std::string& registry) {
  using R = CallResult<std::vector<ListedGroup>>;
  // The registry is not a member: it gets a fresh random id for its log.
  RegistryClient client(transport, registry, generate_uuid_v4());
  std::vector<ListedGroup> out;
  if (transport.registry_is_curve()) {
    auto r = client.list_groups();
    if (!r.ok()) return R::failure(r.status(), r.error());
    transport.note_listed_groups(r.value());
    for (auto& g : r.value()) out.push_back({std::move(g.name), std::move(g.address)});
    return out;
  }
  auto r = client.get_group_list();
  if (!r.ok()) return R::failure(r.status(), r.error());
  for (const auto& entry : r.value()) {
    // The address never holds " - "; a name may.
    const auto sep = entry.rfind(" - ");
    if (sep == std::string::npos) continue;
    out.push_back({entry.substr(0, sep), entry.substr(sep + 3)});
  }
  return out;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Levenshtein distance, given up once it is over `limit` (then limit + 1).
size_t edit_distance(std::string_view a, std::string_view b, size_t limit) {
  if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) > limit) return limit + 1;
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    size_t row_min = cur[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit) return limit + 1;
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::vector<std::string> close_names(const std::vector<ListedGroup>& groups, std::string_view name,
                                     size_t max) {
  constexpr size_t kMaxEdits = 2;
  const std::string wanted = lower(name);
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& g : groups) {
    const std::string have = lower(g.name);
    size_t score;
    if (have == wanted)
      score = 0;
    else if (!wanted.empty() && (have.rfind(wanted, 0) == 0 || wanted.rfind(have, 0) == 0))
      score = 1;
    else if (size_t d = edit_distance(have, wanted, kMaxEdits); d <= kMaxEdits)
      score = 1 + d;
    else
      continue;
    scored.emplace_back(score, g.name);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (auto& [score, n] : scored) {
    if (out.size() == max) break;
    out.push_back(std::move(n));
  }
  return out;
}

GroupTarget find_group(Transport& transport, const std::string& registry, std::string_view text) {
  GroupTarget t;
  if (is_group_address(text)) {
    auto ep = parse_connect_endpoint(text);
    if (!ep) {
      t.error = ep.error();
      t.exit_code = kExitUsage;
      return t;
    }
    t.address = ep->ip_port();
    return t;
  }
  auto list = list_named_groups(transport, registry);
  if (!list.ok()) {
    std::string why = list.error();
    if (list.status() == CallStatus::refused) why = describe_refusal(registry, why);
    t.error = fmt::format("cannot look up the group '{}' at the registry {}: {}",
                          visible_text(text), registry, why);
    t.exit_code = list.status() == CallStatus::refused    ? kExitRefused
                  : list.status() == CallStatus::insecure ? kExitInsecure
                                                          : kExitUnreachable;
    return t;
  }
  for (const auto& g : list.value()) {
    if (g.name == text) {
      t.address = g.address;
      t.name = g.name;
      return t;
    }
  }
  t.error =
      fmt::format("no live group named '{}' at the registry {}", visible_text(text), registry);
  auto close = close_names(list.value(), text);
  if (!close.empty()) {
    t.error += "; did you mean";
    for (size_t i = 0; i < close.size(); ++i)
      t.error += (i ? ", '" : " '") + visible_text(close[i]) + "'";
    t.error += "?";
  } else if (list.value().empty()) {
    t.error += " (it lists no live group)";
  } else {
    t.error +=
        fmt::format(" (none of its {} is close)",
                    list.value().size() == 1 ? std::string("1 live group")
                                             : fmt::format("{} live groups", list.value().size()));
  }
  t.exit_code = kExitUsage;
  return t;
}

}  // namespace gc
