#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace bench {

void Figures::set(const std::string& key, double value, std::string note) {
  figures_[key] = Figure{value, std::move(note)};
}

void Figures::missing(const std::string& key, std::string why) {
  figures_[key] = Figure{std::nullopt, std::move(why)};
}

const Figure* Figures::find(const std::string& key) const {
  auto it = figures_.find(key);
  return it == figures_.end() ? nullptr : &it->second;
}

std::optional<double> Figures::value(const std::string& key) const {
  const Figure* f = find(key);
  return f ? f->value : std::nullopt;
}

std::string format_count(double n) {
  std::string digits = fmt::format("{:.0f}", n);
  std::string out;
  int since_sep = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (since_sep == 3 && *it != '-') {
      out.push_back(',');
      since_sep = 0;
    }
    out.push_back(*it);
    ++since_sep;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string unit_name(Unit unit) {
  switch (unit) {
    case Unit::kMicros:
      return "us";
    case Unit::kPerSecond:
      return "msg/s";
    case Unit::kMiB:
      return "MiB";
    case Unit::kCpuMillis:
      return "ms CPU";
    case Unit::kMillis:
      return "ms";
    case Unit::kCount:
      return "count";
  }
  return "";
}

namespace {

std::string format_value(double v, Unit unit) {
  switch (unit) {
    case Unit::kMicros:
      return v >= 100 ? fmt::format("{:.0f} us", v) : fmt::format("{:.1f} us", v);
    case Unit::kPerSecond:
      return format_count(v) + " msg/s";
    case Unit::kMiB:
      return fmt::format("{:.1f} MiB", v);
    case Unit::kCpuMillis:
      return fmt::format("{:.0f} ms CPU", v);
    case Unit::kMillis:
      return fmt::format("{:.1f} ms", v);
    case Unit::kCount:
      return format_count(v);
  }
  return fmt::format("{}", v);
}

// Why a figure is missing: its own note, or its scenario's failure.
std::string missing_text(const Figures& figures, const std::string& key, const Figure* f) {
  if (!f) {
    if (figures.find(key.substr(0, key.find('.')) + ".failed")) return "failed (see log)";
    return "not run";
  }
  return f->note.empty() ? "n/a" : f->note;
}

// Display width of UTF-8 text (counts code points, not bytes).
size_t width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

std::vector<RowResult> evaluate(const std::vector<Row>& rows, const Figures& figures) {
  std::vector<RowResult> out;
  for (const auto& row : rows) {
    RowResult r;
    r.row = &row;
    const Figure* g = figures.find(row.groupchat_key);
    r.groupchat = g ? g->value : std::nullopt;
    r.groupchat_text = r.groupchat ? format_value(*r.groupchat, row.unit)
                                   : missing_text(figures, row.groupchat_key, g);
    if (!row.baseline_key.empty()) {
      const Figure* b = figures.find(row.baseline_key);
      r.baseline = b ? b->value : std::nullopt;
      r.baseline_text = r.baseline
                            ? format_value(*r.baseline, row.unit) + " " + row.baseline_name
                            : row.baseline_name + ": " + missing_text(figures, row.baseline_key, b);
      if (r.groupchat && r.baseline && *r.baseline > 0) r.ratio = *r.groupchat / *r.baseline;
    } else {
      r.baseline_text = "-";
    }
    r.ratio_text = r.ratio ? fmt::format("{:.2f}x", *r.ratio) : "-";
    switch (row.target) {
      case Target::kNone:
        r.target_text = "(for reading)";
        break;
      case Target::kRatioAtMost:
        r.target_text = fmt::format("<= {:.2f}x", row.bound);
        if (r.ratio) r.met = *r.ratio <= row.bound;
        break;
      case Target::kRatioAtLeast:
        r.target_text = fmt::format(">= {:.2f}x", row.bound);
        if (r.ratio) r.met = *r.ratio >= row.bound;
        break;
      case Target::kValueAtMost:
        r.target_text = "<= " + format_value(row.bound, row.unit);
        if (r.groupchat) r.met = *r.groupchat <= row.bound;
        break;
    }
    if (r.met) r.target_text += *r.met ? "  met" : "  MISSED";
    out.push_back(std::move(r));
  }
  return out;
}

std::string format_table(const std::vector<RowResult>& results) {
  const std::vector<std::string> header = {"scenario", "groupchat", "baseline", "ratio", "target"};
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : results)
    cells.push_back({r.row->label, r.groupchat_text, r.baseline_text, r.ratio_text, r.target_text});
  std::vector<size_t> widths;
  for (const auto& h : header) widths.push_back(width(h));
  for (const auto& line : cells)
    for (size_t i = 0; i < line.size(); ++i) widths[i] = std::max(widths[i], width(line[i]));
  auto emit = [&](const std::vector<std::string>& line) {
    std::string s;
    for (size_t i = 0; i < line.size(); ++i) {
      s += (i == 0 ? "" : " | ") + line[i];
      if (i + 1 < line.size()) s += std::string(widths[i] - width(line[i]), ' ');
    }
    return s + "\n";
  };
  std::string out = emit(header);
  std::string rule;
  for (size_t i = 0; i < widths.size(); ++i)
    rule += (i == 0 ? "" : "-+-") + std::string(widths[i], '-');
  out += rule + "\n";
  for (const auto& line : cells) out += emit(line);
  return out;
}

std::string format_json(const std::vector<RowResult>& results, const Figures& figures,
                        const std::string& mode) {
  nlohmann::json doc;
  doc["mode"] = mode;
  auto& rows = doc["rows"] = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json j;
    j["scenario"] = r.row->label;
    j["unit"] = unit_name(r.row->unit);
    j["groupchat"] = r.groupchat ? nlohmann::json(*r.groupchat) : nlohmann::json(nullptr);
    j["groupchat_text"] = r.groupchat_text;
    j["baseline"] = r.baseline ? nlohmann::json(*r.baseline) : nlohmann::json(nullptr);
    j["baseline_name"] = r.row->baseline_name;
    j["baseline_text"] = r.baseline_text;
    j["ratio"] = r.ratio ? nlohmann::json(*r.ratio) : nlohmann::json(nullptr);
    j["target"] = r.target_text;
    j["met"] = r.met ? nlohmann::json(*r.met) : nlohmann::json(nullptr);
    rows.push_back(std::move(j));
  }
  auto& figs = doc["figures"] = nlohmann::json::object();
  for (const auto& [key, f] : figures.all()) {
    nlohmann::json j;
    j["value"] = f.value ? nlohmann::json(*f.value) : nlohmann::json(nullptr);
    if (!f.note.empty()) j["note"] = f.note;
    figs[key] = std::move(j);
  }
  return doc.dump(2) + "\n";
}

}  // namespace bench
