#pragma once
// metrics.h5: the metrics of one run (layout in datasets/README.md).
//   /<table>/<column>   1-D float64, one per column of each MetricsLog table
//                       ("train/episodes" -> group /train/episodes)
//   root attributes     config (effective INI text), seed, git_commit, linklab_version,
//                       created, and whatever else the caller adds
// Files are written to a temporary name and renamed: never half-written.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/metrics.h"

namespace linklab::datasets {

struct Attributes {
  std::vector<std::pair<std::string, std::string>> text;
  std::vector<std::pair<std::string, int64_t>> ints;
};

// A file kind: its `kind` attribute and layout version. Readers refuse other kinds and
// versions with an error naming the file.
struct FileKind {
  std::string name;
  int64_t version;
};
extern const FileKind kMetricsFile;  // metrics.h5 of a run
extern const FileKind kDatasetFile;  // LinkSample recordings and imported traces

// Tables (MetricsLog) to and from HDF5, atomically, for any file kind.
void WriteTables(const std::string& path, const FileKind& kind, const core::MetricsLog& log,
                 const Attributes& attrs);
core::MetricsLog ReadTables(const std::string& path, const FileKind& kind,
                            Attributes* attrs = nullptr);

void WriteMetrics(const std::string& path, const core::MetricsLog& log, const Attributes& attrs);
// Reads every table back; throws std::runtime_error naming the file when it is not a metrics
// file of this layout.
core::MetricsLog ReadMetrics(const std::string& path, Attributes* attrs = nullptr);

}  // namespace linklab::datasets
