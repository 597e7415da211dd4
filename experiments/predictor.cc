#include "experiments/predictor.h"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/files.h"
#include "core/machine.h"
#include "core/text.h"
#include "models/forecast.h"
#include "models/model.h"

namespace linklab::experiments {

namespace {

core::Json FiguresJson(const models::ForecastFigures& f) {
  core::Json j = core::Json::object();
  j["mae_mbps"] = f.mae;
  j["rmse_mbps"] = f.rmse;
  j["mape_pct"] = f.mape_pct;
  j["accuracy_20pct"] = f.accuracy;
  j["samples"] = f.samples;
  j["below_floor"] = f.below_floor;
  return j;
}

std::string Fixed(double x, int digits) {
  if (!std::isfinite(x)) return "–";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, x);
  return buf;
}

}  // namespace

core::Json RunPredictorEval(const PredictorEvalOptions& o) {
  if (!o.model.empty()) {
    models::ModelRegistry().Find(o.model);  // unknown: lists the known
    throw std::invalid_argument("predictor eval --model " + o.model +
                                ": evaluating a trained model is not there yet (no predictor "
                                "training pipeline); without --model the baselines run");
  }
  if (!(o.horizon_s > 0) || !std::isfinite(o.horizon_s)) {
    throw std::invalid_argument("--horizon-s " + core::FormatDouble(o.horizon_s) + ": must be > 0");
  }
  const double steps = o.horizon_s / o.interval_s;
  const auto horizon = static_cast<int>(std::llround(steps));
  if (horizon < 1 || std::fabs(steps - horizon) > 1e-6) {
    throw std::invalid_argument("--horizon-s " + core::FormatDouble(o.horizon_s) +
                                ": must be a whole number of intervals of " +
                                core::FormatDouble(o.interval_s) + " s");
  }
  const std::vector<models::Series> series = models::LoadSeries(o.traces, o.format, o.interval_s);
  const auto forecasters = models::ClassicalForecasters();
  const std::vector<models::ForecastResult> results =
      models::EvaluateForecasters(series, horizon, forecasters);

  // A top-level object per predictor (its figures overall, then per trace), and one
  // "evaluation" object with what was evaluated and how.
  core::Json out = core::Json::object();
  core::Json& meta = out["evaluation"];
  meta["horizon_s"] = o.horizon_s;
  meta["interval_s"] = o.interval_s;
  meta["format"] = o.format;
  meta["resampling"] =
      "traces: the bytes the trace could deliver in each interval of one period (a pensieve "
      "log's rate holds until its next sample); data sets: each link's 'all' capacity_mbps "
      "averaged over whole groups of samples";
  meta["floor_mbps"] = models::kMapeFloorMbps;
  meta["figures"] = "over the samples whose actual bandwidth is at least floor_mbps";
  core::Json names = core::Json::array();
  for (const auto& s : series) names.push_back(s.name);
  meta["traces"] = names;
  meta["git_commit"] = core::GitCommit();
  meta["created"] = core::UtcTimestamp();
  meta["machine"] = core::MachineInfo();
  for (const auto& r : results) {
    core::Json p = FiguresJson(r.overall);
    p["kind"] = "baseline";
    core::Json per = core::Json::object();
    for (size_t i = 0; i < series.size(); ++i) per[series[i].name] = FiguresJson(r.per_series[i]);
    p["per_trace"] = per;
    out[r.forecaster] = p;
  }

  std::cout << "Horizon " << core::FormatDouble(o.horizon_s) << " s, "
            << core::FormatDouble(o.interval_s) << " s intervals, " << series.size()
            << " series; every figure over the samples whose actual bandwidth is >= "
            << core::FormatDouble(models::kMapeFloorMbps) << " Mbit/s; accuracy: within +-20 %.\n\n"
            << "| predictor | MAE Mbit/s | RMSE Mbit/s | MAPE % | accuracy | samples |\n"
            << "|---|---|---|---|---|---|\n";
  for (const auto& r : results) {
    const models::ForecastFigures& f = r.overall;
    std::cout << "| " << r.forecaster << " | " << Fixed(f.mae, 3) << " | " << Fixed(f.rmse, 3)
              << " | " << Fixed(f.mape_pct, 1) << " | " << Fixed(f.accuracy, 3) << " | "
              << f.samples << " |\n";
  }
  if (!o.json_path.empty()) core::WriteFileAtomic(o.json_path, out.dump(2) + "\n");
  return out;
}

}  // namespace linklab::experiments
