#pragma once
// `linklab repro`: short versions of the reference experiments, run again and held to the
// committed references. A suite file (experiments/repro/suite.ini):
//
//   [repro]    reference (the folder of committed tables; relative to the suite file),
//              cases (sweep files, relative to the suite file)
//   [prepare]  PATH = linklab arguments: made first (when PATH is missing) by running linklab
//              with those arguments; the cases' relative paths start in the output folder
//
// Each case is a sweep (experiments/sweep.h) over seeds whose [tolerance] section says how far
// the mean over seeds of each figure may be from the reference's. The report (report.md,
// report.json in the output folder) gives per case, config point and figure: the reference,
// the reproduced value, their difference, the tolerance and whether it holds, with the
// machine, the commit and ATEN_CPU_CAPABILITY. `update` makes the references instead: every
// case's collected table goes to <reference>/<case>/.

#include <string>
#include <vector>

#include "core/json.h"

namespace linklab::experiments {

struct ReproOptions {
  std::string suite;              // the suite file
  std::string out;                // "" for results/repro/<UTC time>
  std::vector<std::string> only;  // case names to run (empty: all)
  int64_t processes = 0;          // local runs at once (0: the cores)
  bool update = false;            // write the references instead of comparing
};

// Runs the suite; returns the report (report.json's content), whose "failed" counts the
// figures out of tolerance and the cases that did not finish. Throws std::invalid_argument,
// before anything runs, for a bad suite or case file, a case without [tolerance], or a missing
// reference.
core::Json RunRepro(const ReproOptions& options);

}  // namespace linklab::experiments
