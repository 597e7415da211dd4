// Contract 2: a scenario started after others in the same process gives exactly the samples of
// a fresh process (a reset rebuilds the scenario in process, so nothing may leak from one
// simulation to the next: ns-3's random stream numbering, routing, counters, ...). Each case
// forks a child before anything has run to get the fresh-process samples.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/registry.h"
#include "sim/scenario.h"

namespace linklab::sim {
namespace {

// Small, quick versions of each family (a few simulated seconds or less).
struct Family {
  std::string spec;  // the backend is set per case
  double step_s;
  int steps;
};
const Family kFamilies[] = {
    {"tethered(workload=[bulk,video,gaming,web],markov_hold_s=0.5,loss=0.01)", 0.5, 4},
    {"internet(base_mbps=40,rtt_ms=60,cross_flows=2,cross_mbps=5,loss=0.001)", 0.5, 4},
    {"datacenter(scale=0.05,incast_kb=64,incast_period_s=0.01,shuffle_kb=32)", 0.01, 4},
};

std::string Spec(const Family& f, const std::string& backend) {
  return core::Spec::Parse(f.spec, "test spec").Set("backend", backend).Text();
}

// Every value of every sample of a short run, in order.
std::vector<double> Samples(const Family& f, const std::string& backend, uint64_t seed) {
  auto s = MakeScenario(Spec(f, backend));
  s->Start(seed);
  std::vector<double> out;
  for (int i = 0; i < f.steps; ++i) {
    for (const LinkSample& sample : s->Advance(f.step_s)) {
      const auto v = LinkSampleValues(sample);
      out.insert(out.end(), v.begin(), v.end());
    }
  }
  return out;
}

// Samples() in a child process that has run nothing before.
std::vector<double> RunInFreshProcess(const Family& f, const std::string& backend, uint64_t seed) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    const std::vector<double> v = Samples(f, backend, seed);
    const char* p = reinterpret_cast<const char*>(v.data());
    size_t left = v.size() * sizeof(double);
    while (left > 0) {
      const ssize_t n = write(fds[1], p, left);
      if (n <= 0) _exit(1);
      p += n;
      left -= static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string bytes;
  char buf[1 << 16];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) bytes.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("fresh-process run failed");
  }
  std::vector<double> v(bytes.size() / sizeof(double));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(double));
  return v;
}

// Runs `family` after every family on both backends (itself included, with another seed) and
// expects exactly the samples of a fresh process.
void ExpectSameAfterOthers(const Family& family, const std::string& backend) {
  const std::vector<double> fresh = RunInFreshProcess(family, backend, 5);
  for (const Family& other : kFamilies) {
    for (const char* b : {"ns3", "fluid"}) Samples(other, b, &other == &family ? 6 : 3);
  }
  const std::vector<double> after = Samples(family, backend, 5);
  ASSERT_EQ(fresh.size(), after.size());
  ASSERT_FALSE(fresh.empty());
  const size_t fields = LinkSampleFields().size();
  size_t differing = 0;
  for (size_t i = 0; i < fresh.size(); ++i) {
    const bool same = (std::isnan(fresh[i]) && std::isnan(after[i])) || fresh[i] == after[i];
    if (!same && differing++ < 5) {
      ADD_FAILURE() << "sample " << i / fields << " field " << LinkSampleFields()[i % fields]
                    << ": fresh process " << fresh[i] << ", after other scenarios " << after[i];
    }
  }
  EXPECT_EQ(differing, 0u);
}

class SameProcess : public ::testing::TestWithParam<std::tuple<int, std::string>> {};

TEST_P(SameProcess, ScenarioAfterOthersEqualsAFreshProcess) {
  ExpectSameAfterOthers(kFamilies[std::get<0>(GetParam())], std::get<1>(GetParam()));
}

// RED and PIE draw random numbers of their own (ns-3 only: the fluid backend has neither).
TEST(SameProcessQdiscs, RandomQueueDiscsAfterOthersEqualAFreshProcess) {
  ExpectSameAfterOthers({"tethered(qdisc=red,bottleneck_qdisc=pie,workload=[bulk,web],"
                         "capacity=constant,constant_mbps=5)",
                         0.5, 4},
                        "ns3");
}

std::string CaseName(const ::testing::TestParamInfo<SameProcess::ParamType>& info) {
  const char* const names[] = {"tethered", "internet", "datacenter"};
  return std::string(names[std::get<0>(info.param)]) + "_" + std::get<1>(info.param);
}

INSTANTIATE_TEST_SUITE_P(EveryFamilyAndBackend, SameProcess,
                         ::testing::Combine(::testing::Values(0, 1, 2),
                                            ::testing::Values("ns3", "fluid")),
                         CaseName);

}  // namespace
}  // namespace linklab::sim
