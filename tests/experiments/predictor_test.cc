// linklab predictor train and eval end to end: a trained recurrent predictor beats the
// classical baselines on a series they cannot follow, the run folder holds what eval needs,
// the same seed repeats, and bad input is named.

#include "experiments/predictor.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/files.h"
#include "core/json.h"
#include "datasets/recording.h"
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
  EXPECT_EQ(core::ReadJsonFile(again + "/summary.json")["best_val_loss_scaled"],
            summary["best_val_loss_scaled"]);

  PredictorEvalOptions o;
  o.traces = {held_out};
  o.format = "mahimahi";
  o.horizon_s = 1;
  o.models = {run};
  o.json_path = dir + "/figures.json";
  const core::Json figures = RunPredictorEval(o);
  const double learned = figures[run]["mae_mbps"].get<double>();
  const double last = figures["last"]["mae_mbps"].get<double>();
  EXPECT_EQ(figures[run]["kind"], "model");
  EXPECT_EQ(figures[run]["samples"], figures["last"]["samples"]);  // the same samples
  EXPECT_GT(last, 1.0);  // 8 Mbit/s wrong at one sample in four
  EXPECT_LT(learned, 0.5 * last);
  // The boosted trees, fitted on the same windows, see the switches coming too.
  ASSERT_TRUE(figures.contains("boosted_trees"));
  EXPECT_LT(figures["boosted_trees"]["mae_mbps"].get<double>(), 0.5 * last);
  // Every predictor's confidence bins hold all its predictions.
  for (const char* name : {run.c_str(), "boosted_trees", "last"}) {
    int64_t binned = 0;
    for (const auto& b : figures[name]["calibration"]["bins"]) {
      binned += b["predictions"].get<int64_t>();
    }
    EXPECT_EQ(binned, figures[name]["samples"].get<int64_t>()) << name;
  }

  // Predicting the change from the last value, added back: as good here.
  o.models = {RunPredictorTrain(config, {"data.target=change"})};
  const core::Json change = RunPredictorEval(o);
  EXPECT_LT(change[o.models[0]]["mae_mbps"].get<double>(), 0.5 * last);
  EXPECT_EQ(core::ReadJsonFile(o.models[0] + "/scaler.json")["target"], "change");
  // Both together, and combined: pba_v3's mode detector and hybrid.
  o.models = {run, o.models[0]};
  o.ensemble = "both";
  const core::Json both = RunPredictorEval(o);
  for (const char* name : {"mode", "hybrid"}) {
    EXPECT_EQ(both[name]["kind"], "ensemble") << name;
    EXPECT_LT(both[name]["mae_mbps"].get<double>(), 0.5 * last) << name;
  }
  EXPECT_TRUE(both.contains("boosted_trees:" + run));
  o.models = {run};
  EXPECT_NE(ErrorOf([&] { RunPredictorEval(o); }).find("needs two or more --model"),
            std::string::npos);
  o.ensemble = "";

  // Bad input, named.
  o.horizon_s = 2;
  EXPECT_NE(ErrorOf([&] { RunPredictorEval(o); }).find("trained for a horizon of 1 s"),
            std::string::npos);
  o.horizon_s = 1;
  o.models = {dir};
  EXPECT_NE(ErrorOf([&] { RunPredictorEval(o); }).find("not a predictor run folder"),
            std::string::npos);
  // A trace too short for the model's window of 10 and the horizon.
  o.models = {run};
  o.traces = {SquareTrace(dir + "/six.down", 6)};
  const std::string short_error = ErrorOf([&] { RunPredictorEval(o); });
  EXPECT_NE(short_error.find("six.down: 6 samples"), std::string::npos) << short_error;
  EXPECT_NE(short_error.find("a warm-up of 10"), std::string::npos) << short_error;
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
  EXPECT_NE(ErrorOf([&] {
              RunPredictorTrain(config, {"data.horizon_s=[1,x]"});
            }).find("horizon_s item = 'x': not a number"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] {
              RunPredictorTrain(config, {"data.features=[bandwidth,colour]"});
            }).find("'colour' is not one of bandwidth, latency"),
            std::string::npos);
}

// Training stopped after two epochs and resumed to four repeats four epochs in one go.
TEST(Predictor, AResumedRunRepeatsTheUninterruptedOne) {
  models::RegisterSequenceModels(models::ModelRegistry());
  const std::string dir = ::testing::TempDir() + "/predictor_resume";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string config = WriteConfig(dir, SquareTrace(dir + "/train.down", 600));
  const std::vector<std::string> quick = {"train.epochs=4", "trees.rounds=0", "model.dropout=0.3"};
  const std::string whole = RunPredictorTrain(config, quick);
  std::vector<std::string> first = quick;
  first.push_back("train.epochs=2");
  const std::string part = RunPredictorTrain(config, first);
  EXPECT_EQ(core::ReadJsonFile(part + "/summary.json")["epochs_run"], 2);
  EXPECT_EQ(ResumePredictorTrain(part, {"train.epochs=4"}), part);
  const core::Json a = core::ReadJsonFile(whole + "/summary.json");
  const core::Json b = core::ReadJsonFile(part + "/summary.json");
  EXPECT_EQ(b["epochs_run"], 4);
  EXPECT_EQ(a["best_epoch"], b["best_epoch"]);
  EXPECT_EQ(a["best_val_loss_scaled"], b["best_val_loss_scaled"]);
  // Only [train] keys change on resume; a folder without a checkpoint is named.
  EXPECT_NE(ErrorOf([&] { ResumePredictorTrain(part, {"data.horizon_s=2"}); }).find("data"),
            std::string::npos);
  EXPECT_NE(ErrorOf([&] { ResumePredictorTrain(dir, {}); }).find("not a predictor run folder"),
            std::string::npos);
  EXPECT_TRUE(IsPredictorConfig(config));
  EXPECT_TRUE(IsPredictorRun(part));
}

// A data set recorded on the fluid backend: several features in, bandwidth and latency out,
// three horizons from one multi-horizon model; the evaluation covers every target and each
// horizon, and refuses series without the features.
TEST(Predictor, LearnsSeveralTargetsAtSeveralHorizonsFromARecording) {
  models::RegisterSequenceModels(models::ModelRegistry());
  const std::string dir = ::testing::TempDir() + "/predictor_features";
  fs::remove_all(dir);
  fs::create_directories(dir);
  datasets::RecordOptions rec;
  rec.scenario = "tethered(backend=fluid)";
  rec.duration_s = 4 * 3600;
  rec.interval_s = 60;
  rec.progress = false;
  datasets::GenerateDataset(rec, dir + "/week.h5");
  const std::string config = dir + "/multi.ini";
  core::WriteFileAtomic(
      config,
      "[experiment]\nname = multi\noutput = " + dir + "/runs\n" + "[data]\ntraces = [" + dir +
          "/week.h5]\nformat = h5\n" + "interval_s = 60\nhorizon_s = [60, 120, 180]\n" +
          "features = [bandwidth, latency, loss, hour]\n" + "targets = [bandwidth, latency]\n" +
          "[model]\nname = multi_horizon\nwindow = 4\n" +
          "[train]\nepochs = 2\nprogress = false\n" + "[trees]\nrounds = 20\n");
  const std::string run = RunPredictorTrain(config, {});
  const core::Json scaler = core::ReadJsonFile(run + "/scaler.json");
  EXPECT_EQ(scaler["features"].size(), 4u);
  EXPECT_TRUE(scaler["calibration"].contains("model/latency/120"));
  PredictorEvalOptions o;
  o.traces = {dir + "/week.h5"};
  o.format = "h5";
  o.interval_s = 60;
  o.horizon_s = 120;
  o.models = {run};
  o.predictions_path = dir + "/predictions.csv";
  const core::Json figures = RunPredictorEval(o);
  EXPECT_EQ(figures["evaluation"]["targets"], (core::Json{"bandwidth", "latency"}));
  for (const char* name : {run.c_str(), "boosted_trees", "last", "ewma"}) {
    ASSERT_TRUE(figures[name]["targets"].contains("latency")) << name;
    EXPECT_GT(figures[name]["targets"]["latency"]["samples"].get<int64_t>(), 0) << name;
    EXPECT_TRUE(std::isfinite(figures[name]["mae_mbps"].get<double>())) << name;
  }
  const std::string csv = core::ReadFile(o.predictions_path);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "series,time_s,target,actual,model,boosted_trees,last,ewma,harmonic_mean,"
            "model_confidence");
  EXPECT_NE(csv.find(",latency,"), std::string::npos);
  // A horizon it was not trained for; series without latency (an imported trace).
  o.horizon_s = 240;
  EXPECT_NE(ErrorOf([&] { RunPredictorEval(o); }).find("horizon of 60, 120, 180 s"),
            std::string::npos);
  o.horizon_s = 60;
  SquareTrace(dir + "/square.down", 3600);
  datasets::ImportTraces({dir + "/square.down"}, "mahimahi", 60, 0, dir + "/square.h5");
  o.traces = {dir + "/square.h5"};
  const std::string e = ErrorOf([&] { RunPredictorEval(o); });
  EXPECT_NE(e.find("square.h5:square.down: no feature 'latency'"), std::string::npos) << e;
  // Three branches need three horizons.
  EXPECT_NE(ErrorOf([&] {
              RunPredictorTrain(config, {"data.horizon_s=[60,120]"});
            }).find("3 branches, one per horizon, for 2 horizons"),
            std::string::npos);
  // A model file of another kind: the run folder's model is not what its config says.
  const std::string other = dir + "/other";
  fs::copy(run, other, fs::copy_options::recursive);
  std::string text = core::ReadFile(other + "/config.ini");
  text.replace(text.find("name = multi_horizon"), 20, "name = pba_v1");
  core::WriteFileAtomic(other + "/config.ini", text);
  o.models = {other};
  EXPECT_NE(ErrorOf([&] { RunPredictorEval(o); }).find("config.ini names model pba_v1"),
            std::string::npos);
}

}  // namespace
}  // namespace linklab::experiments
