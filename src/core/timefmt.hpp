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
//   YYYY-MM-DD               (midnight)
//   YYYY-MM-DDTHH:MM:SS
//   YYYY-MM-DD HH:MM:SS
// the clock forms with optional fractional seconds (.f or ,f up to 9 digits;
// kept to microseconds). A date and time may end in a zone, "Z" or an offset
// ("+09:00", "-0800", "+05"): it is then an exact instant, whatever the local
// zone. Returns epoch microseconds, or an error naming the accepted forms.
Result<int64_t> parse_since(std::string_view text, int64_t now_epoch_us);

// Only the zoned forms of parse_since (an exact instant); an error otherwise.
Result<int64_t> parse_instant(std::string_view text);
// An exact instant in ISO 8601 with the local zone's offset and microseconds:
// "2026-11-22T17:09:41.123456+09:00". parse_since reads it back exactly.
std::string format_instant(int64_t epoch_us);
// Local time floored to the second, "YYYY-MM-DDTHH:MM:SS": the one form the
// reference group parses (%Y-%m-%dT%H:%M:%S).
std::string format_local_seconds(int64_t epoch_us);

}  // namespace gc
