#include "core/metrics.h"

#include <cmath>
#include <stdexcept>

namespace linklab::core {

const std::vector<double>& MetricsLog::Table::Column(const std::string& name) const {
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c] == name) return data[c];
  }
  throw std::out_of_range("metrics table has no column '" + name + "'");
}

void MetricsLog::Add(const std::string& name, const Row& row) {
  Table& t = tables_[name];
  for (const auto& [key, value] : row) {
    size_t c = 0;
    while (c < t.columns.size() && t.columns[c] != key) ++c;
    if (c == t.columns.size()) {
      t.columns.push_back(key);
      t.data.emplace_back(t.rows, std::nan(""));
    }
  }
  for (auto& col : t.data) col.push_back(std::nan(""));
  for (const auto& [key, value] : row) {
    for (size_t c = 0; c < t.columns.size(); ++c) {
      if (t.columns[c] == key) t.data[c].back() = value;
    }
  }
  ++t.rows;
}

const MetricsLog::Table& MetricsLog::Get(const std::string& name) const {
  auto it = tables_.find(name);
  if (it == tables_.end()) throw std::out_of_range("no metrics table '" + name + "'");
  return it->second;
}

void MetricsLog::TruncateAfter(const std::string& column, double limit) {
  for (auto& [name, t] : tables_) {
    size_t c = 0;
    while (c < t.columns.size() && t.columns[c] != column) ++c;
    if (c == t.columns.size()) continue;
    size_t keep = 0;
    while (keep < t.rows && t.data[c][keep] <= limit) ++keep;
    for (auto& col : t.data) col.resize(keep);
    t.rows = keep;
  }
}

}  // namespace linklab::core
