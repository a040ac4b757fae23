#include "protocol/json_parse.hpp"

#include <fmt/format.h>

#include "core/json_text.hpp"

namespace gc {

namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] "; a person
// does not need that part. A long one (it may quote a 60 KB number) is cut.
std::string parser_error_text(const char* what) {
  std::string_view s(what);
  if (!s.empty() && s.front() == '[') {
    auto end = s.find("] ");
    if (end != std::string_view::npos) s.remove_prefix(end + 2);
  }
  if (s.size() > kMaxQuotedErrorBytes) {
    // Cut on a UTF-8 boundary: the text ends up in replies and on terminals.
    size_t cut = kMaxQuotedErrorBytes;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
    return std::string(s.substr(0, cut)) + "...";
  }
  return std::string(s);
}

}  // namespace

Result<nlohmann::json> parse_untrusted_json(std::string_view text) {
  using R = Result<nlohmann::json>;
  if (json_nesting_exceeds(text, kMaxJsonDepth))
    return R::error(fmt::format("nesting deeper than {} levels", kMaxJsonDepth));
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    // parse_error for bad syntax, out_of_range for a number too large.
    return R::error(parser_error_text(e.what()));
  } catch (const std::exception& e) {
    // std::bad_alloc and the like: still a value, never a throw.
    return R::error(fmt::format("cannot parse: {}", e.what()));
  }
}

}  // namespace gc
