// The linklab binary as a user meets it: exit codes and one-line errors.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/files.h"
#include "tests/test_util.h"

namespace {

using linklab::testing::RunCli;
using Output = linklab::testing::CliOutput;

int Lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(Cli, ListShowsEveryClassicControlEnvWithParameters) {
  const Output o = RunCli("list");
  EXPECT_EQ(o.code, 0);
  for (const char* name : {"CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1", "tethered",
                           "internet", "datacenter", "trace (string, default",
                           "max_episode_steps (int, default 500", "g (float, default 10"}) {
    EXPECT_NE(o.text.find(name), std::string::npos) << name;
  }
}

TEST(Cli, ListKindsComeFromTheRegistries) {
  const Output models = RunCli("list models");
  EXPECT_EQ(models.code, 0);
  for (const char* name : {"pba_v1", "pba_v3_datacenter", "pba_v3_internet", "traffic_v1", "rnn"}) {
    EXPECT_NE(models.text.find("\n  " + std::string(name) + "\n"), std::string::npos) << name;
  }
  const Output all = RunCli("list");
  for (const char* title : {"envs\n", "agents\n", "models\n", "scenarios\n"}) {
    EXPECT_NE(all.text.find(title), std::string::npos) << title;
  }
  const Output bad = RunCli("list widgets");
  EXPECT_EQ(bad.text,
            "linklab: error: unknown kind 'widgets' for list; kinds: envs, agents, models, "
            "scenarios\n");
  EXPECT_NE(RunCli("help").text.find("list [envs|agents|models|scenarios]"), std::string::npos);
}

TEST(Cli, BadConfigIsOneLineWithExitCode2) {
  const std::string path = ::testing::TempDir() + "/cli_bad.ini";
  std::ofstream(path) << "[agent]\nalgo = random\n[train]\ntotal_steps = 1x\n";
  const Output o = RunCli("run " + path);
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text, "linklab: error: " + path + ":4: [train] total_steps = '1x': not an integer\n");
}

TEST(Cli, MissingFileUnknownCommandAndBadOptions) {
  Output o = RunCli("run /nonexistent/x.ini");
  EXPECT_NE(o.code, 0);
  EXPECT_EQ(Lines(o.text), 1);
  EXPECT_NE(o.text.find("/nonexistent/x.ini"), std::string::npos);
  o = RunCli("frobnicate");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text,
            "linklab: unknown command 'frobnicate'; commands: run, eval, sweep, repro, list, "
            "bench, simulate, "
            "dataset, predictor, export, version, help\n");
  o = RunCli("bench envs --seconds abc");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(Lines(o.text), 1);
  o = RunCli("bench warp");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text,
            "linklab: error: unknown bench area 'warp'; areas: envs, agents, sim, htb, models, "
            "runtime, live\n");
  o = RunCli("bench live --duration-s 1");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text, "linklab: error: bench live --duration-s = 1: must be in [5, 3600]\n");
  o = RunCli("list widgets");
  EXPECT_EQ(o.code, 2);
  o = RunCli("run --set experiment.seed=-4");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text,
            "linklab: error: --set experiment.seed=-4: [experiment] seed = '-4': out "
            "of range [0, inf]\n");
}

TEST(Cli, BenchModelsWritesTrainingRateAndLatency) {
  const std::string path = ::testing::TempDir() + "/bench_models.json";
  const Output o = RunCli("bench models --seconds 0.05 --only traffic_v1 --json " + path);
  ASSERT_EQ(o.code, 0) << o.text;
  const std::string text = linklab::core::ReadFile(path);
  for (const char* key : {"\"model\": \"traffic_v1\"", "\"train_samples_per_second\"",
                          "\"inference_us_per_sample\"", "\"machine\""}) {
    EXPECT_NE(text.find(key), std::string::npos) << key;
  }
  EXPECT_EQ(text.find("pba_v1"), std::string::npos);  // --only
}

TEST(Cli, BenchEnvsWritesJson) {
  const std::string path = ::testing::TempDir() + "/bench_envs.json";
  const Output o = RunCli("bench envs --seconds 0.05 --only CartPole --json " + path);
  ASSERT_EQ(o.code, 0) << o.text;
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"steps_per_second\""), std::string::npos);
  EXPECT_NE(text.find("\"mode\": \"process\""), std::string::npos);
  EXPECT_NE(text.find("\"machine\""), std::string::npos);
}

}  // namespace

TEST(Cli, SimulatePrintsSamplesAndRefusesBadScenarios) {
  const Output o =
      RunCli("simulate 'tethered(capacity=constant,constant_mbps=5,workload=bulk)' --duration 2");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("down  bulk"), std::string::npos) << o.text;
  const Output bad = RunCli("simulate 'tethered(workload=bulk+ftp)'");
  EXPECT_EQ(bad.code, 2);
  EXPECT_EQ(Lines(bad.text), 1);
  EXPECT_NE(bad.text.find("'ftp'"), std::string::npos) << bad.text;
}

TEST(Cli, DatasetTraceWritesEachLinksCapacityAsAMahimahiTrace) {
  const std::string prefix = ::testing::TempDir() + "/cli_traces/c12";
  std::filesystem::remove_all(::testing::TempDir() + "/cli_traces");
  const Output o = RunCli(
      "dataset trace --scenario 'tethered(capacity=constant,constant_mbps=12,backend=fluid)' "
      "--duration 2s -o " +
      prefix);
  ASSERT_EQ(o.code, 0) << o.text;
  // 12 Mbit/s is one 1500-byte opportunity per millisecond; the uplink runs at half of it.
  EXPECT_EQ(Lines(linklab::core::ReadFile(prefix + ".down")), 2000);
  EXPECT_EQ(Lines(linklab::core::ReadFile(prefix + ".up")), 1000);
  const Output none = RunCli("dataset trace --scenario 'datacenter(backend=fluid)' -o " + prefix);
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.text.find("no link with a capacity process"), std::string::npos) << none.text;
  EXPECT_EQ(RunCli("dataset trace -o " + prefix).code, 2);
}

TEST(Cli, PredictorEvalWritesATableAndJsonPerPredictor) {
  const std::string dir = ::testing::TempDir() + "/cli_predictor";
  std::filesystem::remove_all(dir);
  ASSERT_EQ(RunCli("dataset trace --scenario 'tethered(capacity=markov,backend=fluid)' "
                   "--duration 60s -o " +
                   dir + "/m")
                .code,
            0);
  const Output o = RunCli("predictor eval --traces " + dir +
                          " --format mahimahi --horizon-s 2 -o " + dir + "/figures.json");
  ASSERT_EQ(o.code, 0) << o.text;
  EXPECT_NE(o.text.find("| harmonic_mean |"), std::string::npos) << o.text;
  const std::string json = linklab::core::ReadFile(dir + "/figures.json");
  for (const char* key : {"\"last\"", "\"ewma\"", "\"harmonic_mean\"", "\"mae_mbps\"",
                          "\"per_trace\"", "\"m.down\"", "\"m.up\"", "\"horizon_s\": 2"}) {
    EXPECT_NE(json.find(key), std::string::npos) << key;
  }
  const Output half =
      RunCli("predictor eval --traces " + dir + " --format mahimahi --horizon-s 1.5");
  EXPECT_EQ(half.code, 2);
  EXPECT_NE(half.text.find("whole number of intervals"), std::string::npos) << half.text;
  const Output model =
      RunCli("predictor eval --traces " + dir + " --format mahimahi --model " + dir);
  EXPECT_EQ(model.code, 2);
  EXPECT_NE(model.text.find("not a predictor run folder"), std::string::npos) << model.text;
}

// `linklab run` trains a predictor config (one with a [model] section) and resumes its folder;
// `predictor eval --model` then reads it.
TEST(Cli, RunTrainsAndResumesAPredictorConfig) {
  const std::string dir = ::testing::TempDir() + "/cli_predictor_run";
  std::filesystem::remove_all(dir);
  ASSERT_EQ(RunCli("dataset trace --scenario 'tethered(capacity=markov,backend=fluid)' "
                   "--duration 120s -o " +
                   dir + "/m")
                .code,
            0);
  linklab::core::WriteFileAtomic(
      dir + "/p.ini", "[experiment]\nname = p\noutput = " + dir + "/runs\n[data]\ntraces = [" +
                          dir + "/m.down]\n[model]\nname = rnn\nunits = 8\ncells = gru\n" +
                          "window = 4\n[train]\nepochs = 1\n[trees]\nrounds = 5\n");
  const Output run = RunCli("run " + dir + "/p.ini");
  ASSERT_EQ(run.code, 0) << run.text;
  EXPECT_NE(run.text.find("[train] epoch 1/1"), std::string::npos) << run.text;
  std::string folder;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/runs/p")) folder = e.path();
  const Output resumed = RunCli("run --resume " + folder + " --set train.epochs=2");
  ASSERT_EQ(resumed.code, 0) << resumed.text;
  EXPECT_NE(resumed.text.find("resumed after epoch 1"), std::string::npos) << resumed.text;
  EXPECT_NE(resumed.text.find("[train] epoch 2/2"), std::string::npos) << resumed.text;
  const Output eval = RunCli("predictor eval --traces " + dir + "/m.up --format mahimahi --model " +
                             folder + " --predictions " + dir + "/p.csv");
  ASSERT_EQ(eval.code, 0) << eval.text;
  EXPECT_NE(eval.text.find("| boosted_trees |"), std::string::npos) << eval.text;
  EXPECT_TRUE(std::filesystem::exists(dir + "/p.csv"));
  const Output bad = RunCli("run " + dir + "/p.ini --set data.features=[bandwidth,latency]");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.text.find("m.down: no feature 'latency'"), std::string::npos) << bad.text;
}

// ---------------------------------------------------------------------------------------------
// Bad input: one line naming the file, key or option and the value, a non-zero exit, and no
// output left behind.

namespace {

namespace fs = std::filesystem;

// A fresh, empty folder for one test.
std::string FreshDir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "/cli_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

bool IsEmptyDir(const std::string& dir) { return fs::is_empty(dir); }

TEST(CliBadInput, DirectoryOrEmptyConfigIsRefused) {
  const std::string dir = FreshDir("config_kinds");
  Output o = RunCli("run " + dir + " --set experiment.output=" + dir);
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text, "linklab: error: config file '" + dir + "' is a directory, not an INI file\n");
  const std::string empty = dir + "/empty.ini";
  std::ofstream(empty) << "# nothing but a comment\n\n";
  o = RunCli("run " + empty + " --set experiment.output=" + dir);
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text, "linklab: error: config file '" + empty +
                        "' sets no key (run without CONFIG for the built-in defaults)\n");
  fs::remove(empty);
  EXPECT_TRUE(IsEmptyDir(dir));
}

TEST(CliBadInput, ByteOrderMarkIsAcceptedAndBinaryIsShownEscaped) {
  const std::string dir = FreshDir("config_bytes");
  const std::string bom = dir + "/bom.ini";
  std::ofstream(bom)
      << "\xEF\xBB\xBF[experiment]\nname = bom\noutput = " << dir
      << "/out\n[train]\ntotal_steps = 200\nprogress = false\n[eval]\nepisodes = 0\n";
  Output o = RunCli("run " + bom);
  EXPECT_EQ(o.code, 0) << o.text;
  EXPECT_TRUE(fs::exists(dir + "/out/bom"));

  const std::string garbage = dir + "/garbage.ini";
  std::string bytes = "\x89\x01\x02\xff\xfe";
  for (int i = 0; i < 200; ++i) bytes += static_cast<char>(0x80 + i % 64);
  std::ofstream(garbage, std::ios::binary) << bytes << "\n";
  o = RunCli("run " + garbage + " --set experiment.output=" + dir + "/out2");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(Lines(o.text), 1);
  EXPECT_EQ(o.text.rfind("linklab: error: " + garbage + ":1: '\\x89\\x01\\x02\\xff\\xfe", 0), 0u)
      << o.text;
  EXPECT_NE(o.text.find("...' is not 'key = value'"), std::string::npos) << o.text;
  EXPECT_LT(o.text.size(), 200u) << o.text;

  const std::string binary = dir + "/nul.ini";
  std::ofstream(binary, std::ios::binary) << std::string("[train]\0\0\x7f", 10);
  o = RunCli("run " + binary + " --set experiment.output=" + dir + "/out2");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text, "linklab: error: config file '" + binary +
                        "' is not a text file (a NUL byte at offset 7)\n");
  EXPECT_FALSE(fs::exists(dir + "/out2"));
}

TEST(CliBadInput, DurationsIntervalsAndStepCountsAreBounded) {
  const std::string dir = FreshDir("bounds");
  Output o = RunCli("simulate tethered --duration 1e300");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text,
            "linklab: error: simulate --duration = 1e+300 s: longer than the limit of 10 years "
            "(3.15576e+08 s)\n");
  o = RunCli("simulate tethered --duration 10 --interval 1e-9");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text,
            "linklab: error: simulate --interval = 1e-09 s: 1e+10 intervals over 10 s, more than "
            "the limit of 1e+08; use a longer interval or a shorter duration\n");
  const std::string out = dir + "/never.h5";
  o = RunCli("dataset generate --scenario 'tethered(backend=fluid)' --duration 1e300s -o " + out);
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text,
            "linklab: error: dataset --duration = 1e+300 s: longer than the limit of 10 years "
            "(3.15576e+08 s)\n");
  o = RunCli(
      "dataset generate --scenario 'tethered(backend=fluid)' --duration 1h --interval "
      "1e-9s -o " +
      out);
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.text.find("dataset --interval = 1e-09 s: 3.6e+12 intervals"), std::string::npos)
      << o.text;
  o = RunCli("run --set train.total_steps=9223372036854775000 --set experiment.output=" + dir);
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text,
            "linklab: error: --set train.total_steps=9223372036854775000: [train] total_steps = "
            "'9223372036854775000': out of range [1, 1000000000000]\n");
  o = RunCli("bench envs --seconds 1e300");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(Lines(o.text), 1);
  EXPECT_TRUE(IsEmptyDir(dir));
}

TEST(CliBadInput, BenchOnlyMatchingNoCaseIsAnError) {
  const std::string dir = FreshDir("bench_only");
  const Output o = RunCli("bench sim --only nosuchcase --json " + dir + "/report.json");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text.rfind("linklab: error: bench sim --only = 'nosuchcase': no case matches; "
                         "cases: datacenter, internet, tethered, fluid, calibration,",
                         0),
            0u)
      << o.text;
  EXPECT_EQ(Lines(o.text), 1);
  EXPECT_TRUE(IsEmptyDir(dir));
}

TEST(CliBadInput, AgentBuffersBeyondThisMachineAreRefusedBeforeTheRunFolder) {
  const std::string dir = FreshDir("memory");
  // Sizes far beyond any machine's memory (tens of TB and more).
  const struct {
    const char* sets;
    const char* message;
  } cases[] = {
      {"--set agent.algo=ppo --set agent.num_steps=1e12",
       "[agent] num_steps = 1000000000000: the rollout (num_envs = 1) needs 80 TB"},
      {"--set agent.algo=dqn --set agent.buffer_size=1e12",
       "[agent] buffer_size = 1000000000000: the replay buffer needs 48 TB"},
      {"--set agent.algo=dqn --set agent.batch_size=1e12",
       "[agent] batch_size = 1000000000000: one batch needs"},
  };
  for (const auto& c : cases) {
    const Output o = RunCli(std::string("run ") + c.sets + " --set experiment.output=" + dir);
    EXPECT_EQ(o.code, 2) << c.sets;
    EXPECT_EQ(Lines(o.text), 1) << o.text;
    EXPECT_EQ(o.text.rfind(std::string("linklab: error: ") + c.message, 0), 0u) << o.text;
    EXPECT_NE(o.text.find(", this machine has "), std::string::npos) << o.text;
  }
  EXPECT_TRUE(IsEmptyDir(dir));
}

TEST(CliBadInput, TruncatedCheckpointFilesAreNamed) {
  const std::string dir = FreshDir("truncated");
  Output o = RunCli(
      "run --set agent.algo=ppo --set train.total_steps=1024 --set "
      "train.progress=false --set eval.episodes=0 --set experiment.output=" +
      dir);
  ASSERT_EQ(o.code, 0) << o.text;
  std::string checkpoint;
  for (const auto& run : fs::directory_iterator(dir + "/experiment")) {
    checkpoint = run.path().string() + "/checkpoints/step_1024";
  }
  ASSERT_TRUE(fs::exists(checkpoint + "/trainer_state.bin")) << checkpoint;
  for (const char* file : {"ppo_optimizer.pt", "ppo_params.pt", "env_state.bin"}) {
    const std::string copy = dir + "/copy";
    fs::remove_all(copy);
    fs::copy(checkpoint, copy);
    fs::resize_file(copy + "/" + file, 10);
    o = RunCli("run --resume " + copy);
    EXPECT_EQ(o.code, 1) << file;
    EXPECT_EQ(Lines(o.text), 1) << o.text;
    EXPECT_NE(o.text.find(copy + "/" + file), std::string::npos) << o.text;
  }
}

TEST(CliBadInput, TracesThatAreFoldersOrHdf5FilesAreNamedSo) {
  const std::string dir = FreshDir("traces");
  Output o = RunCli("simulate 'tethered(capacity=trace,trace=" + dir + ")'");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text, "linklab: error: trace '" + dir + "' is a directory, not a trace file\n");
  o = RunCli("simulate 'tethered(capacity=trace,trace=" + dir + "/missing.down)'");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text, "linklab: error: trace '" + dir + "/missing.down' not found\n");
  const std::string h5 = dir + "/data.h5";
  o = RunCli(
      "dataset generate --scenario 'tethered(backend=fluid)' --duration 2m --interval 60s "
      "-o " +
      h5);
  ASSERT_EQ(o.code, 0) << o.text;
  o = RunCli("dataset import --format mahimahi " + h5 + " --interval 1s -o " + dir + "/out.h5");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text, "linklab: error: " + h5 + ": not a text trace (an HDF5 file)\n");
  EXPECT_FALSE(fs::exists(dir + "/out.h5"));
}

}  // namespace
