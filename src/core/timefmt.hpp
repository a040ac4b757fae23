#pragma once
// Time as the wire sees it: the reference stamps messages with the group
// server's local time in ISO 8601 without a zone, with microseconds
// ("2026-11-21T18:09:41.123456"). Internally we keep microseconds since the
// Unix epoch (UTC), which sort and index cleanly.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gc {

// Formats epoch microseconds as local time "YYYY-MM-DDTHH:MM:SS.ffffff".
std::string format_local_iso(int64_t epoch_us);
// The same, appended to `out`. Cheap for runs of times within one second
// (a page of messages): the date and clock part is computed once per second.
void append_local_iso(std::string& out, int64_t epoch_us);

// Parses the "since" forms a user may give, as local time:
//   HH:MM:SS                 (today, by the local date of now_epoch_us)
//   YYYY-MM-DDTHH:MM:SS
//   YYYY-MM-DD HH:MM:SS
// each with optional fractional seconds (.f up to 9 digits; kept to microseconds).
// Returns epoch microseconds, or an error naming the accepted forms.
Result<int64_t> parse_since(std::string_view text, int64_t now_epoch_us);

}  // namespace gc
