#pragma once
// A curve group's members file (--members-file): the public keys that may
// join, one per line, like ssh's authorized_keys:
//
//     # the course's staff
//     rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7 alice's laptop
//
// A line is a key (40 characters of Z85) and, after a space, anything (a
// note for people); blank lines and lines whose first character is '#'
// followed by a space, or that are only '#', are comments. (A Z85 key may
// itself begin with '#', so a comment needs the space.) Anything else is an
// error naming the line: a file with a typo is never read as "fewer members".
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/result.hpp"

namespace gc {

using KeySet = std::unordered_set<std::string>;

// `name` is used in error texts ("FILE, line N: ...").
Result<KeySet> parse_members(std::string_view text, std::string_view name);
// Reads and parses the file (at most 16 MiB).
Result<KeySet> load_members_file(const std::filesystem::path& file);

}  // namespace gc
