#pragma once
// The registry's files of (key, group name) lines, in curve mode
// (docs/PROTOCOL.md, "Registry", "Keys"):
//   - group-keys: which key each name is bound to (the registry writes it);
//   - the groups file (--groups-file): the keys that may register, each with
//     its names (the operator writes it).
// One `KEY NAME` per line: a Z85 key (40 characters), blanks, the name (to
// the end of the line, trailing blanks dropped); blank lines and lines
// starting with '#' are ignored.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace gc {

using KeyNameLines = std::vector<std::pair<std::string, std::string>>;  // (key, name)

// Reads the file. A missing file is an error unless missing_is_empty.
Result<KeyNameLines> load_key_names(const std::filesystem::path& file, bool missing_is_empty);
// Writes the file atomically (a temporary file beside it, then rename),
// with `header` as its leading comment lines; directories are made as needed.
Status save_key_names(const std::filesystem::path& file, const std::string& header,
                      const KeyNameLines& lines);

}  // namespace gc
