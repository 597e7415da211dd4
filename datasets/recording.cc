#include "datasets/recording.h"

#include <cmath>
#include <stdexcept>

#include "core/limits.h"
#include "core/machine.h"
#include "core/progress.h"
#include "core/text.h"
#include "sim/capacity.h"
#include "sim/link_sample.h"
#include "sim/scenario.h"

namespace linklab::datasets {

namespace {

void AddSample(core::MetricsLog& log, const sim::LinkSample& s) {
  core::Row row;
  const auto& fields = sim::LinkSampleFields();
  const auto values = sim::LinkSampleValues(s);
  for (size_t i = 0; i < fields.size(); ++i) row.emplace_back(fields[i], values[i]);
  log.Add("links/" + s.link + "/" + s.app_class, row);
}

Attributes Provenance(const std::string& source, uint64_t seed, double interval_s) {
  Attributes a;
  a.text = {{"source", source},
            {"config", source},
            {"git_commit", core::GitCommit()},
            {"interval_s", core::FormatDouble(interval_s)}};
  a.ints = {{"seed", static_cast<int64_t>(seed)}};
  return a;
}

void CheckTiming(double duration_s, double interval_s) {
  if (!(interval_s > 0)) {
    throw std::invalid_argument("dataset --interval = " + core::FormatDouble(interval_s) +
                                ": must be > 0");
  }
  if (!(duration_s >= interval_s)) {
    throw std::invalid_argument("dataset --duration = " + core::FormatDouble(duration_s) +
                                ": must be at least one interval (" +
                                core::FormatDouble(interval_s) + " s)");
  }
  core::CheckSimulatedSpan(duration_s, interval_s, "dataset --duration", "dataset --interval");
}

// The samples of `intervals` intervals of `series` series are kept in memory until written.
void CheckSampleMemory(double intervals, double series, double duration_s) {
  core::CheckMemory(intervals * series * sim::LinkSampleFields().size() * sizeof(double),
                    "dataset --duration = " + core::FormatDouble(duration_s) + " s",
                    "keeping " + core::FormatDouble(intervals) + " intervals x " +
                        core::FormatDouble(series) + " series in memory");
}

}  // namespace

void GenerateDataset(const RecordOptions& o, const std::string& out_path) {
  CheckTiming(o.duration_s, o.interval_s);
  auto scenario = sim::MakeScenario(o.scenario);
  scenario->Start(o.seed);
  core::MetricsLog log;
  const int64_t steps = static_cast<int64_t>(std::floor(o.duration_s / o.interval_s + 1e-9));
  core::Progress progress("dataset", steps, "intervals", o.progress);
  for (int64_t k = 0; k < steps; ++k) {
    const std::vector<sim::LinkSample> samples = scenario->Advance(o.interval_s);
    if (k == 0) CheckSampleMemory(steps, samples.size(), o.duration_s);
    for (const sim::LinkSample& s : samples) AddSample(log, s);
    progress.Update(k + 1);
  }
  progress.Finish();
  WriteTables(out_path, kDatasetFile, log, Provenance(o.scenario, o.seed, o.interval_s));
}

void ImportTraces(const std::vector<std::string>& files, const std::string& format,
                  double interval_s, double duration_s, const std::string& out_path) {
  if (files.empty()) throw std::invalid_argument("dataset import: no trace files given");
  if (format != "mahimahi" && format != "pensieve") {
    throw std::invalid_argument("dataset import --format = '" + format +
                                "': must be mahimahi or pensieve");
  }
  core::MetricsLog log;
  for (const std::string& file : files) {
    auto capacity = sim::LoadTraceCapacity(file, format);
    const double span = duration_s > 0 ? duration_s : capacity->PeriodS();
    CheckTiming(span, interval_s);
    CheckSampleMemory(std::floor(span / interval_s), files.size(), span);
    const std::string name = file.substr(file.find_last_of('/') + 1);
    const double nan = std::nan("");
    const std::vector<double> rates = sim::IntervalRatesMbps(*capacity, span, interval_s);
    for (size_t k = 0; k < rates.size(); ++k) {
      sim::LinkSample s;
      s.time_s = static_cast<double>(k + 1) * interval_s;
      s.interval_s = interval_s;
      s.link = name;
      s.app_class = "all";
      const double bytes = rates[k] * 1e6 / 8.0 * interval_s;
      s.capacity_mbps = rates[k];
      s.bytes_delivered = static_cast<uint64_t>(std::llround(bytes));
      s.packets_delivered = static_cast<uint64_t>(std::llround(bytes / 1500.0));
      // A trace says only what the link could carry: everything else is unknown.
      s.loss_rate = s.backlog_bytes = s.backlog_packets = nan;
      s.delay_p50_ms = s.delay_p95_ms = s.jitter_ms = s.rtt_p50_ms = s.rtt_p95_ms = nan;
      s.goodput_mbps = s.video_bitrate_kbps = s.video_stall_s = s.video_buffer_s = nan;
      s.fct_ms = s.flows_done = s.game_loss_rate = s.hour_of_day = s.day_of_week = nan;
      AddSample(log, s);
    }
  }
  std::string source = "import " + format + ":";
  for (const auto& f : files) source += " " + f;
  WriteTables(out_path, kDatasetFile, log, Provenance(source, 0, interval_s));
}

core::MetricsLog ReadDataset(const std::string& path, Attributes* attrs) {
  return ReadTables(path, kDatasetFile, attrs);
}

std::string AllTableLink(const std::string& table) {
  const std::string head = "links/", tail = "/all";
  if (table.size() <= head.size() + tail.size() || !core::StartsWith(table, head) ||
      table.compare(table.size() - tail.size(), tail.size(), tail) != 0) {
    return "";
  }
  return table.substr(head.size(), table.size() - head.size() - tail.size());
}

}  // namespace linklab::datasets
