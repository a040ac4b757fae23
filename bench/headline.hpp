#pragma once
// The "headline" object of the JSON: a flat set of named numbers, each a
// figure of the run or the ratio of two, for dashboards and plots; and the
// machine and date the run was made on. The key -> figure mapping is here
// and only here.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "report.hpp"

namespace bench {

struct HeadlineKey {
  std::string name;          // the key in "headline"
  std::string figure;        // the figure, or the numerator of a ratio
  std::string per_figure{};  // the denominator of a ratio; empty: the figure itself
};

// Every key of "headline", in the order they are written.
const std::vector<HeadlineKey>& headline_keys();

// The headline: every key of headline_keys(), a number, or null when a figure
// is missing (or a denominator is zero); then `why` gets one line per null,
// "headline KEY: why".
nlohmann::json headline(const Figures& figures, std::vector<std::string>* why = nullptr);

// What the run was made on: cores, CPU model (from /proc/cpuinfo), kernel.
nlohmann::json machine_description();
// Now, in UTC, as 2026-11-22T10:30:00Z.
std::string utc_date_now();

// The JSON of format_json with "headline", "machine" and "date" added;
// prints the headline's null lines on stderr.
std::string with_headline(const std::string& json, const Figures& figures, const std::string& date);

}  // namespace bench
