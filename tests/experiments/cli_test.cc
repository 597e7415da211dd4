// The linklab binary as a user meets it: exit codes and one-line errors.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

namespace {

struct Output {
  int code;
  std::string text;  // stdout and stderr
};

Output RunCli(const std::string& args) {
  const std::string cmd = std::string(LINKLAB_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  Output out{-1, ""};
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.text.append(buf.data(), n);
  const int status = pclose(p);
  out.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

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
  EXPECT_EQ(models.text, "models\n  (none registered)\n\n");
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
            "linklab: unknown command 'frobnicate'; commands: run, list, bench, simulate, dataset, "
            "version, "
            "help\n");
  o = RunCli("bench envs --seconds abc");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(Lines(o.text), 1);
  o = RunCli("bench warp");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text, "linklab: error: unknown bench area 'warp'; areas: envs, agents, sim\n");
  o = RunCli("list widgets");
  EXPECT_EQ(o.code, 2);
  o = RunCli("run --set experiment.seed=-4");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.text,
            "linklab: error: --set experiment.seed=-4: [experiment] seed = '-4': out "
            "of range [0, inf]\n");
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
