#include "experiments/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/test_util.h"

namespace linklab::experiments {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

using linklab::testing::ErrorOf;

TEST(Ini, ParsesSectionsCommentsAndLines) {
  const auto entries = ParseIni(
      "# comment\n[experiment]\nname = demo  # trailing\n\n; other\n[env]\nid=CartPole-v1\n",
      "x.ini");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].section, "experiment");
  EXPECT_EQ(entries[0].value, "demo");
  EXPECT_EQ(entries[0].line, 3);
  EXPECT_EQ(entries[1].key, "id");
  EXPECT_EQ(entries[1].line, 7);
}

TEST(Ini, ByteOrderMarkIsNotPartOfTheFirstLine) {
  const auto entries = ParseIni("\xEF\xBB\xBF[experiment]\nname = bom\n", "x.ini");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].section, "experiment");
  EXPECT_EQ(entries[0].line, 2);
  // Elsewhere the same bytes are text, shown as they are.
  EXPECT_EQ(ErrorOf([] { ParseIni("[experiment]\n\xEF\xBB\xBFname\n", "x.ini"); }),
            "x.ini:2: '\xEF\xBB\xBFname' is not 'key = value'");
}

TEST(Ini, BinaryBytesInErrorsAreEscapedAndShortened) {
  EXPECT_EQ(ErrorOf([] { ParseIni("[train]\n\x01\x02\xff\n", "x.ini"); }),
            "x.ini:2: '\\x01\\x02\\xff' is not 'key = value'");
  const std::string long_line(500, 'z');
  EXPECT_EQ(ErrorOf([&] { ParseIni("[train]\n" + long_line + "\n", "x.ini"); }),
            "x.ini:2: '" + std::string(60, 'z') + "...' is not 'key = value'");
}

TEST(Ini, MalformedFilesNameTheLine) {
  EXPECT_EQ(ErrorOf([] { ParseIni("[experiment]\nname\n", "x.ini"); }),
            "x.ini:2: 'name' is not 'key = value'");
  EXPECT_EQ(ErrorOf([] { ParseIni("[nope]\n", "x.ini"); }),
            "x.ini:1: unknown section [nope]; sections are [experiment], [env], [agent], "
            "[train], [eval]");
  EXPECT_EQ(ErrorOf([] { ParseIni("seed = 1\n", "x.ini"); }),
            "x.ini:1: 'seed = 1' comes before any [section]");
  EXPECT_EQ(ErrorOf([] { ParseIni("[train]\ntotal_steps=1\ntotal_steps=2\n", "x.ini"); }),
            "x.ini:3: [train] total_steps = '2' repeats the key set on line 2");
  EXPECT_THROW(ReadIni("/nonexistent/config.ini"), std::runtime_error);
}

TEST(ExperimentConfig, BadValuesNameFileLineKeyAndValue) {
  const std::string path =
      WriteTemp("bad_value.ini", "[experiment]\nname = x\n[train]\ntotal_steps = lots\n");
  EXPECT_EQ(ErrorOf([&] { LoadExperiment(path); }),
            path + ":4: [train] total_steps = 'lots': not an integer");
  const std::string range = WriteTemp("bad_range.ini", "[env]\nid = Pendulum-v1\ng = -3\n");
  EXPECT_EQ(ErrorOf([&] { LoadExperiment(range); }),
            range + ":3: [env] g = '-3': out of range [0, 100]");
  const std::string key = WriteTemp("bad_key.ini", "[agent]\nalgo = random\nlr = 0.1\n");
  EXPECT_EQ(ErrorOf([&] { LoadExperiment(key); }),
            key + ":3: [agent] unknown key 'lr' (value '0.1'); known keys: algo");
  const std::string env = WriteTemp("bad_env.ini", "[env]\nid = CartPole-v9\n");
  EXPECT_EQ(ErrorOf([&] { LoadExperiment(env); }).substr(0, env.size() + 45),
            env + ":2: [env] id = 'CartPole-v9': unknown env 'Ca");
}

TEST(ExperimentConfig, OverridesWinAndAreNamedInErrors) {
  const std::string path = WriteTemp("ok.ini", "[experiment]\nseed = 3\n[train]\ntotal_steps=10\n");
  const ExperimentConfig c = LoadExperiment(path, {"experiment.seed=9", "env.num_envs=4"});
  EXPECT_EQ(c.seed(), 9u);
  EXPECT_EQ(c.env.Int("num_envs"), 4);
  EXPECT_EQ(c.train.Int("total_steps"), 10);
  EXPECT_EQ(
      ErrorOf([&] { LoadExperiment(path, {"train.total_steps=-1"}); }),
      "--set train.total_steps=-1: [train] total_steps = '-1': out of range [1, 1000000000000]");
  EXPECT_EQ(ErrorOf([&] { LoadExperiment(path, {"trainer.x=1"}); }).substr(0, 44),
            "--set trainer.x=1: unknown section [trainer]");
  EXPECT_NE(ErrorOf([&] { LoadExperiment(path, {"novalue"}); }), "");
}

TEST(ExperimentConfig, EffectiveConfigReadsBackToTheSameConfig) {
  const ExperimentConfig c = ResolveExperiment(
      {}, {"env.id=Pendulum-v1", "env.g=9.81", "experiment.description=a test run"}, "");
  const std::string ini = c.ToIni();
  EXPECT_NE(ini.find("g = 9.81"), std::string::npos);
  EXPECT_NE(ini.find("max_episode_steps = 200"), std::string::npos);
  EXPECT_NE(ini.find("total_steps = 100000"), std::string::npos);
  const std::string path = WriteTemp("effective.ini", ini);
  const ExperimentConfig back = LoadExperiment(path);
  EXPECT_EQ(back.ToIni().substr(back.ToIni().find('\n')), ini.substr(ini.find('\n')));
}

}  // namespace
}  // namespace linklab::experiments
