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

// Parses "HH:MM:SS[.f]" at pos to the end of s.
bool parse_clock(std::string_view s, size_t pos, int& h, int& m, int& sec, int64_t& micros) {
  if (!digits(s, pos, 2, h) || pos + 2 >= s.size() || s[pos + 2] != ':' ||
      !digits(s, pos + 3, 2, m) || pos + 5 >= s.size() || s[pos + 5] != ':' ||
      !digits(s, pos + 6, 2, sec))
    return false;
  if (h > 23 || m > 59 || sec > 60) return false;
  size_t p = pos + 8;
  micros = 0;
  if (p == s.size()) return true;
  if (s[p] != '.' || p + 1 == s.size()) return false;
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

}  // namespace

Result<int64_t> parse_since(std::string_view text, int64_t now_epoch_us) {
  auto fail = [&]() {
    return Result<int64_t>::error(
        "cannot parse timestamp '" + std::string(text.substr(0, 64)) +
        "': use HH:MM:SS, YYYY-MM-DDTHH:MM:SS or YYYY-MM-DD HH:MM:SS, with optional fractional "
        "seconds");
  };
  struct tm tm {};
  int h = 0, m = 0, sec = 0;
  int64_t micros = 0;
  if (text.size() >= 8 && text.size() <= 18 && text[2] == ':') {
    if (!parse_clock(text, 0, h, m, sec, micros)) return fail();
    time_t now = static_cast<time_t>(now_epoch_us / 1000000);
    localtime_r(&now, &tm);
  } else if (text.size() >= 19 && text[4] == '-' && text[7] == '-' &&
             (text[10] == 'T' || text[10] == ' ')) {
    int y = 0, mo = 0, d = 0;
    if (!digits(text, 0, 4, y) || !digits(text, 5, 2, mo) || !digits(text, 8, 2, d)) return fail();
    if (mo < 1 || mo > 12 || d < 1 || d > 31) return fail();
    if (!parse_clock(text, 11, h, m, sec, micros)) return fail();
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

}  // namespace gc
