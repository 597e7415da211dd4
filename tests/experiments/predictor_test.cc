// linklab predictor train and eval end to end: a trained recurrent predictor beats the
// classical baselines on a series they cannot follow, the run folder holds what eval needs,
// the same seed repeats, and bad input is named.

#include "experiments/predictor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "core/json.h"
#include "models/model.h"
#include "models/sequence_model.h"
#include "sim/capacity.h"
#include "tests/test_util.h"

namespace linklab::experiments {
namespace {

namespace fs = std::filesystem;
using linklab::testing::ErrorOf;

// A square wave: 4 s at 4 Mbit/s, 4 s at 12, for `seconds` s. The last value misses every
// switch; a window of 10 s sees when the next one comes.
std::string SquareTrace(const std::string& path, int seconds) {
  std::vector<double> times, rates;
  for (int t = 0; t < seconds; t += 4) {
    times.push_back(t);
    rates.push_back((t / 4) % 2 ? 12.0 : 4.0);
  }
  auto process = sim::PiecewiseCapacity(times, rates, "square");
  sim::WriteMahimahiTrace(*process, seconds, path);
  return path;
}

std::string WriteConfig(const std::string& dir, const std::string& traces) {
  const std::string path = dir + "/predictor.ini";
  core::WriteFileAtomic(
      path, "[experiment]\nname = square\nseed = 3\noutput = " + dir + "/runs\n[data]\ntraces = [" +
                traces +
                "]\nhorizon_s = 1\n[model]\nname = rnn\ncells = lstm\nunits = 16\ndense = 8\n"
                "batchnorm = false\ndropout = 0\nlearning_rate = 0.01\n"
                "[train]\nepochs = 40\npatience = 10\nbatch_size = 32\n"
                "progress = false\n");
  return path;
}

TEST(Predictor, TrainedModelBeatsTheBaselinesWhereTheyCannotFollow) {
  models::RegisterSequenceModels(models::ModelRegistry());
  const std::string dir = ::testing::TempDir() + "/predictor_square";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string train_trace = SquareTrace(dir + "/train.down", 1200);
  const std::string held_out = SquareTrace(dir + "/test.down", 400);
  const std::string config = WriteConfig(dir, train_trace);
  const std::string run = RunPredictorTrain(config, {});
  for (const char* f : {"config.ini", "scaler.json", "summary.json", "metrics.h5"}) {
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  }
  const core::Json summary = core::ReadJsonFile(run + "/summary.json");
  EXPECT_GE(summary["best_epoch"].get<int64_t>(), 1);
  // The same seed repeats the run (a fresh folder).
  const std::string again = RunPredictorTrain(config, {});
  EXPECT_NE(again, run);
  EXPECT_EQ(core::ReadJsonFile(again + "/summary.json")["best_val_mse_scaled"],
            summary["best_val_mse_scaled"]);

  PredictorEvalOptions o;
  o.traces = {held_out};
  o.format = "mahimahi";
  o.horizon_s = 1;
  o.model = run;
  o.json_path = dir + "/figures.json";
  const core::Json figures = RunPredictorEval(o);
  const double learned = figures[run]["mae_mbps"].get<double>();
  const double last = figures["last"]["mae_mbps"].get<double>();
  EXPECT_EQ(figures[run]["kind"], "model");
  EXPECT_EQ(figures[run]["samples"], figures["last"]["samples"]);  // the same samples
  EXPECT_GT(last, 1.0);  // 8 Mbit/s wrong at one sample in four
  EXPECT_LT(learned, 0.5 * last);

  // Predicting the change from the last value, added back: as good here.
  o.model = RunPredictorTrain(config, {"data.target=change"});
  const core::Json change = RunPredictorEval(o);
  EXPECT_LT(change[o.model]["mae_mbps"].get<double>(), 0.5 * last);
  EXPECT_EQ(core::ReadJsonFile(o.model + "/scaler.json")["target"], "change");

  // Bad input, named.
  o.horizon_s = 2;
  EXPECT_NE(ErrorOf([&] { RunPredictorEval(o); }).find("trained for a horizon of 1 s"),
            std::string::npos);
  o.horizon_s = 1;
  o.model = dir;
  EXPECT_NE(ErrorOf([&] { RunPredictorEval(o); }).find("not a predictor run folder"),
            std::string::npos);
  const std::string tiny = SquareTrace(dir + "/tiny.down", 12);
  EXPECT_NE(ErrorOf([&] { RunPredictorTrain(WriteConfig(dir, tiny), {}); }).find("too short"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { RunPredictorTrain(config, {"model.name=lstm9"}); }).find("lstm9"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              RunPredictorTrain(config, {"data.horizon_s=1.5"});
            }).find("whole number of intervals"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { RunPredictorTrain(config, {"data.traces=[a,,b]"}); }).find("empty item"),
            std::string::npos);
}

}  // namespace
}  // namespace linklab::experiments
