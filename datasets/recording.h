#pragma once
// Data sets of LinkSample series (layout in datasets/README.md, file kind "linklab-dataset"):
// recordings of a scenario (either backend) and real traces imported into the same layout.
// Files are written under a temporary name and renamed: a failed run leaves nothing behind.

#include <cstdint>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "datasets/metrics_file.h"

namespace linklab::datasets {

struct RecordOptions {
  std::string scenario;  // a scenario spec, e.g. "tethered(backend=fluid)"
  double duration_s = 3600.0;
  double interval_s = 60.0;
  uint64_t seed = 1;
  bool progress = true;
};

// Runs the scenario and records one LinkSample per link, class and interval.
void GenerateDataset(const RecordOptions& options, const std::string& out_path);

// Imports trace files ("mahimahi" or "pensieve") as capacity series, one link per file, over
// one period of each trace (or `duration_s` when > 0), in `interval_s` bins.
void ImportTraces(const std::vector<std::string>& files, const std::string& format,
                  double interval_s, double duration_s, const std::string& out_path);

// Reads a data set back: tables "links/<link>/<class>" with the LinkSample fields as columns.
core::MetricsLog ReadDataset(const std::string& path, Attributes* attrs = nullptr);
// The link of a data set's table name "links/<link>/all"; "" for any other table.
std::string AllTableLink(const std::string& table);

}  // namespace linklab::datasets
