#pragma once
// Metrics gathered during a run, as named tables of double columns ("train/episodes":
// step, return, length). Rows may add columns; earlier rows read NaN there. Written to
// metrics.h5 by datasets::WriteMetrics.

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace linklab::core {

using Row = std::vector<std::pair<std::string, double>>;

class MetricsLog {
 public:
  struct Table {
    std::vector<std::string> columns;
    std::vector<std::vector<double>> data;  // data[c][row]
    size_t rows = 0;
    const std::vector<double>& Column(const std::string& name) const;  // throws when missing
  };

  void Add(const std::string& table, const Row& row);
  const std::map<std::string, Table>& tables() const { return tables_; }
  bool Has(const std::string& table) const { return tables_.count(table) > 0; }
  const Table& Get(const std::string& table) const;  // throws when missing
  // Keeps only rows whose `column` value is <= `limit` (used when a run resumes).
  void TruncateAfter(const std::string& column, double limit);
  void Clear() { tables_.clear(); }
  // Replaces a whole table (reading metrics back from a file).
  void SetTable(const std::string& name, Table table) { tables_[name] = std::move(table); }

 private:
  std::map<std::string, Table> tables_;
};

}  // namespace linklab::core
