#include "headline.hpp"

#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <fstream>

namespace bench {

const std::vector<HeadlineKey>& headline_keys() {
  static const std::vector<HeadlineKey> keys = {
      {"fanout_10000_last_p50_us", "fanout.f10000.last.p50_us"},
      {"fanout_10000_last_p99_us", "fanout.f10000.last.p99_us"},
      {"fanout_10000_missed", "fanout.f10000.missed"},
      {"fanout_10000_rss_mib", "fanout.f10000.idle_rss_mib"},
      {"ingest_msgs_per_s", "pipelined.groupchat.per_s"},
      {"ingest_ratio_vs_redis", "pipelined.groupchat.per_s", "redis.xadd.per_s"},
      {"ingest_ratio_vs_bare", "pipelined.groupchat.per_s", "pipelined.bare.per_s"},
      {"sequential_ratio_vs_bare", "sequential.groupchat.p50_us", "sequential.bare.p50_us"},
      {"curve_sequential_ratio_vs_open", "sequential.groupchat_curve.p50_us",
       "sequential.groupchat.p50_us"},
      {"curve_ingest_ratio_vs_open", "pipelined.groupchat_curve.per_s",
       "pipelined.groupchat.per_s"},
      {"reference_sequential_ratio", "sequential.groupchat.p50_us", "reference.sequential.p50_us"},
      {"reference_ingest_ratio", "pipelined.groupchat.per_s", "reference.pipelined.per_s"},
  };
  return keys;
}

namespace {

// Why `key` has no value: its note, its scenario's failure, or not run.
std::string why_missing(const Figures& figures, const std::string& key) {
  if (const Figure* f = figures.find(key))
    return f->note.empty() ? key + " is missing" : key + " is missing: " + f->note;
  const std::string scenario = key.substr(0, key.find('.'));
  if (figures.find(scenario + ".failed"))
    return key + " is missing: scenario " + scenario + " failed";
  return key + " is missing: its scenario did not run";
}

}  // namespace

nlohmann::json headline(const Figures& figures, std::vector<std::string>* why) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& k : headline_keys()) {
    std::string reason;
    const auto top = figures.value(k.figure);
    if (!top) {
      reason = why_missing(figures, k.figure);
    } else if (k.per_figure.empty()) {
      out[k.name] = *top;
      continue;
    } else if (const auto bottom = figures.value(k.per_figure); !bottom) {
      reason = why_missing(figures, k.per_figure);
    } else if (*bottom == 0) {
      reason = k.per_figure + " is 0";
    } else {
      out[k.name] = *top / *bottom;
      continue;
    }
    out[k.name] = nullptr;
    if (why) why->push_back("headline " + k.name + ": " + reason);
  }
  return out;
}

nlohmann::json machine_description() {
  nlohmann::json m;
  m["cores"] = sysconf(_SC_NPROCESSORS_ONLN);
  std::string model;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; model.empty() && std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon != std::string::npos) model = line.substr(line.find_first_not_of(" \t", colon + 1));
  }
  m["cpu_model"] = model.empty() ? nlohmann::json(nullptr) : nlohmann::json(model);
  struct utsname u {};
  if (uname(&u) == 0) m["kernel"] = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
  return m;
}

std::string utc_date_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string with_headline(const std::string& json, const Figures& figures,
                          const std::string& date) {
  nlohmann::json doc = nlohmann::json::parse(json);
  std::vector<std::string> why;
  doc["headline"] = headline(figures, &why);
  for (const auto& line : why) fmt::print(stderr, "{}\n", line);
  doc["machine"] = machine_description();
  doc["date"] = date;
  return doc.dump(2) + "\n";
}

}  // namespace bench
