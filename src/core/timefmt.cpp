#include "core/timefmt.hpp"

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace gc {

namespace {

// The "YYYY-MM-DDTHH:MM:SS." part of the newest second formatted, so that a
// page of messages from the same second costs one localtime_r, not one each.
// Keyed also by the zone tzset() last loaded, so a changed TZ is honoured.
struct SecondCache {
  int64_t secs = INT64_MIN;
  long zone_offset = 0;
  const char* zone_name = nullptr;
  char prefix[32] = {};
  size_t length = 0;
};

void put2(char* p, int v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

const SecondCache& local_second(int64_t secs) {
  thread_local SecondCache cache;
  if (cache.secs == secs && cache.zone_offset == ::timezone && cache.zone_name == ::tzname[0])
    return cache;
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  localtime_r(&t, &tm);
  int year = tm.tm_year + 1900;
  if (year >= 0 && year <= 9999) {
    char* p = cache.prefix;
    put2(p, year / 100);
    put2(p + 2, year % 100);
    p[4] = '-';
    put2(p + 5, tm.tm_mon + 1);
    p[7] = '-';
    put2(p + 8, tm.tm_mday);
    p[10] = 'T';
    put2(p + 11, tm.tm_hour);
    p[13] = ':';
    put2(p + 14, tm.tm_min);
    p[16] = ':';
    put2(p + 17, tm.tm_sec);
    p[19] = '.';
    cache.length = 20;
  } else {
    int n = std::snprintf(cache.prefix, sizeof cache.prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", year,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cache.length = n > 0 ? std::min(static_cast<size_t>(n), sizeof cache.prefix - 1) : 0;
  }
  cache.secs = secs;
  cache.zone_offset = ::timezone;
  cache.zone_name = ::tzname[0];
  return cache;
}

}  // namespace

void append_local_iso(std::string& out, int64_t epoch_us) {
  int64_t secs = epoch_us / 1000000;
  int64_t micros = epoch_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    secs -= 1;
  }
  const SecondCache& second = local_second(secs);
  char buf[sizeof second.prefix + 6];
  std::memcpy(buf, second.prefix, second.length);
  char* p = buf + second.length;
  for (int i = 5; i >= 0; --i) {
    p[i] = static_cast<char>('0' + micros % 10);
    micros /= 10;
  }
  out.append(buf, second.length + 6);
}

std::string format_local_iso(int64_t epoch_us) {
  std::string out;
  append_local_iso(out, epoch_us);
  return out;
}

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// Parses "HH:MM:SS[.f]" at pos up to end.
bool parse_clock(std::string_view s, size_t pos, size_t end, int& h, int& m, int& sec,
                 int64_t& micros) {
  s = s.substr(0, end);
  if (!digits(s, pos, 2, h) || pos + 2 >= s.size() || s[pos + 2] != ':' ||
      !digits(s, pos + 3, 2, m) || pos + 5 >= s.size() || s[pos + 5] != ':' ||
      !digits(s, pos + 6, 2, sec))
    return false;
  if (h > 23 || m > 59 || sec > 60) return false;
  size_t p = pos + 8;
  micros = 0;
  if (p == s.size()) return true;
  if ((s[p] != '.' && s[p] != ',') || p + 1 == s.size()) return false;
  ++p;
  size_t nd = s.size() - p;
  if (nd > 9) return false;
  int64_t scale = 100000;
  for (size_t i = 0; i < nd; ++i) {
    char c = s[p + i];
    if (c < '0' || c > '9') return false;
    if (i < 6) {
      micros += (c - '0') * scale;
      scale /= 10;
    }
  }
  return true;
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar.
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int days_in_month(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// A zone suffix at the end of a date-time (from `from` on): "Z", "+HH:MM",
// "+HHMM" or "+HH" (or "-"). Sets `start` to where it begins and `offset_s`
// to seconds east of UTC; false when there is none or it is malformed
// (`malformed` then tells which).
bool zone_suffix(std::string_view s, size_t from, size_t& start, int64_t& offset_s,
                 bool& malformed) {
  malformed = false;
  if (s.size() > from && (s.back() == 'Z' || s.back() == 'z')) {
    start = s.size() - 1;
    offset_s = 0;
    return true;
  }
  const size_t sign = s.find_first_of("+-", from);
  if (sign == std::string_view::npos) return false;
  malformed = true;
  const std::string_view z = s.substr(sign + 1);
  int hh = 0, mm = 0;
  if (z.size() == 2) {
    if (!digits(z, 0, 2, hh)) return false;
  } else if (z.size() == 4) {
    if (!digits(z, 0, 2, hh) || !digits(z, 2, 2, mm)) return false;
  } else if (z.size() == 5 && z[2] == ':') {
    if (!digits(z, 0, 2, hh) || !digits(z, 3, 2, mm)) return false;
  } else {
    return false;
  }
  if (hh > 23 || mm > 59) return false;
  malformed = false;
  start = sign;
  offset_s = (s[sign] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
  return true;
}

}  // namespace

Result<int64_t> parse_since(std::string_view text, int64_t now_epoch_us) {
  auto fail = [&]() {
    return Result<int64_t>::error(
        "cannot parse timestamp '" + std::string(text.substr(0, 64)) +
        "': use HH:MM:SS, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD HH:MM:SS, with optional "
        "fractional seconds, and for an exact instant Z or an offset (+09:00) at the end");
  };
  struct tm tm {};
  int h = 0, m = 0, sec = 0;
  int64_t micros = 0;
  if (text.size() >= 8 && text.size() <= 18 && text[2] == ':') {
    if (!parse_clock(text, 0, text.size(), h, m, sec, micros)) return fail();
    time_t now = static_cast<time_t>(now_epoch_us / 1000000);
    localtime_r(&now, &tm);
  } else if (text.size() >= 10 && text[4] == '-' && text[7] == '-' &&
             (text.size() == 10 || text[10] == 'T' || text[10] == 't' || text[10] == ' ')) {
    int y = 0, mo = 0, d = 0;
    if (!digits(text, 0, 4, y) || !digits(text, 5, 2, mo) || !digits(text, 8, 2, d)) return fail();
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return fail();
    size_t clock_end = text.size();
    size_t zone_start = 0;
    int64_t offset_s = 0;
    bool malformed = false;
    const bool zoned = text.size() > 19 && zone_suffix(text, 19, zone_start, offset_s, malformed);
    if (malformed) return fail();
    if (zoned) clock_end = zone_start;
    if (text.size() > 10 && !parse_clock(text, 11, clock_end, h, m, sec, micros)) return fail();
    if (zoned) {
      const int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + m * 60 + sec - offset_s;
      return secs * 1000000 + micros;
    }
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
  } else {
    return fail();
  }
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;
  time_t t = mktime(&tm);
  if (t == static_cast<time_t>(-1)) return fail();
  return static_cast<int64_t>(t) * 1000000 + micros;
}

Result<int64_t> parse_instant(std::string_view text) {
  size_t start = 0;
  int64_t offset_s = 0;
  bool malformed = false;
  Result<int64_t> r = Result<int64_t>::error("");
  if (text.size() > 19 && zone_suffix(text, 19, start, offset_s, malformed))
    r = parse_since(text, 0);
  if (r) return r;
  return Result<int64_t>::error(
      "cannot parse since_time '" + std::string(text.substr(0, 64)) +
      "': use an ISO 8601 instant with Z or an offset, e.g. 2026-11-22T08:00:00.5+09:00");
}

std::string format_instant(int64_t epoch_us) {
  int64_t secs = epoch_us / 1000000;
  int64_t micros = epoch_us % 1000000;
  if (micros < 0) {
    micros += 1000000;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  localtime_r(&t, &tm);
  const long off = tm.tm_gmtoff;
  const long abs_off = off < 0 ? -off : off;
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06d%c%02ld:%02ld",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                        tm.tm_sec, static_cast<int>(micros), off < 0 ? '-' : '+', abs_off / 3600,
                        (abs_off / 60) % 60);
  return std::string(buf, n > 0 ? std::min(static_cast<size_t>(n), sizeof buf - 1) : 0);
}

std::string format_local_seconds(int64_t epoch_us) {
  int64_t secs = epoch_us / 1000000;
  if (epoch_us % 1000000 < 0) secs -= 1;  // floored
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  localtime_r(&t, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf, n);
}

}  // namespace gc
