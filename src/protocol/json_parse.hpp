#pragma once
// The one way JSON from a peer (or from a file a user may have edited) is
// parsed into a tree: any bytes in, a value or an error out. No exception
// leaves it, nesting deeper than kMaxJsonDepth is refused before the parser
// runs (so nothing built from it recurses without bound), and a number the
// parser cannot represent (1e400, a 400-digit integer) is an error, not a throw.
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "protocol/limits.hpp"

namespace gc {

// Errors, without a prefix: "nesting deeper than 32 levels", or the parser's
// text ("syntax error while parsing value - ...", "number overflow parsing
// '1e400'"), cut to kMaxQuotedErrorBytes. Callers say "malformed JSON: " + it.
Result<nlohmann::json> parse_untrusted_json(std::string_view text);

}  // namespace gc
