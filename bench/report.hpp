#pragma once
// Figures measured during a run, and the table (and JSON) that sets each
// groupchat figure beside its baseline as a ratio against a target.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bench {

// One measured number, or the reason there is none.
struct Figure {
  std::optional<double> value;
  std::string note;  // why it is missing, or a remark (e.g. "size reached 412,000 of 1,000,000")
};

class Figures {
 public:
  void set(const std::string& key, double value, std::string note = {});
  void missing(const std::string& key, std::string why);
  const Figure* find(const std::string& key) const;
  std::optional<double> value(const std::string& key) const;
  const std::map<std::string, Figure>& all() const { return figures_; }

 private:
  std::map<std::string, Figure> figures_;
};

enum class Unit { kMicros, kPerSecond, kMiB, kCpuMillis, kMillis, kCount };

enum class Target {
  kNone,          // for reading only
  kRatioAtMost,   // groupchat / baseline <= bound
  kRatioAtLeast,  // groupchat / baseline >= bound
  kValueAtMost,   // groupchat value <= bound (in the row's unit); no baseline needed
};

// One line of the table, written with designated initializers. A row without
// a baseline or a target leaves those fields out; label and groupchat_key have
// no default, so that the compiler warns about a row missing one.
struct Row {
  std::string label;  // what is measured, at what size: the first column
  Unit unit = Unit::kMicros;
  std::string groupchat_key;    // the figure shown in the groupchat column
  std::string baseline_key{};   // empty: no baseline
  std::string baseline_name{};  // what the baseline is, shown in the table
  Target target = Target::kNone;
  double bound = 0;  // a ratio, or a value in the row's unit (kValueAtMost)
};

struct RowResult {
  const Row* row = nullptr;
  std::optional<double> groupchat;
  std::optional<double> baseline;
  std::optional<double> ratio;
  std::optional<bool> met;
  std::string groupchat_text, baseline_text, ratio_text, target_text;
};

std::vector<RowResult> evaluate(const std::vector<Row>& rows, const Figures& figures);
// The table as text (columns: scenario | groupchat | baseline | ratio | target).
std::string format_table(const std::vector<RowResult>& results);
// The same figures as JSON text.
std::string format_json(const std::vector<RowResult>& results, const Figures& figures,
                        const std::string& mode);

std::string format_count(double n);  // 1000000 -> "1,000,000"
std::string unit_name(Unit unit);

}  // namespace bench
