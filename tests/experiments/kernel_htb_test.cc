// The sim's HTB against the real Linux kernel's (label `live`): two short cases of
// `linklab bench htb` on a veth pair between two network namespaces, one iperf3 Cubic flow per
// class. Needs root, network namespaces, sch_htb and iperf3; skipped, saying which is missing,
// elsewhere.

#include "experiments/kernel_htb.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "experiments/bench_htb.h"
#include "tests/test_util.h"

namespace linklab::experiments {
namespace {

// Within 10 % of the class's expected rate, as `linklab bench htb`'s target.
constexpr double kTolerance = 0.10;

std::vector<std::string> OurNamespaces() { return testing::OwnNamespaces("linklab-htb-"); }

class KernelHtb : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = KernelHtbMissing();
    if (!missing.empty()) GTEST_SKIP() << "the kernel HTB check cannot run here: " << missing;
  }

  // The kernel's figures for `c` (skips the test when the machine turns out unable).
  KernelHtbResult Kernel(const HtbBenchCase& c, KernelHtbOptions options = {}) {
    options.warmup_s = 2.0;
    options.measure_s = 6.0;
    try {
      return RunKernelHtb(c.config, c.flows, options);
    } catch (const KernelHtbUnavailable& e) {
      skipped_ = e.what();
      return {};
    }
  }

  // The kernel follows Linux HTB semantics, and both backends follow the kernel.
  void ExpectBackendsMatchKernel(const std::string& name) {
    const HtbBenchCase c = HtbBenchCaseNamed(name);
    const KernelHtbResult kernel = Kernel(c);
    if (!skipped_.empty()) GTEST_SKIP() << "the kernel HTB check cannot run here: " << skipped_;
    ASSERT_EQ(kernel.classes.size(), c.flows.size());
    const std::vector<double> expected = sim::HtbExpectedRates(c.config, c.flows);
    const std::vector<double> ns3 = SimHtbMbps(c, "ns3", 2.0, 6.0);
    const std::vector<double> fluid = SimHtbMbps(c, "fluid", 2.0, 6.0);
    for (size_t i = 0; i < c.flows.size(); ++i) {
      const KernelHtbClass& k = kernel.classes[i];
      const sim::HtbClassConfig& cfg = c.config.classes[i];  // the cases list flows in order
      ASSERT_EQ(cfg.app_class, c.flows[i]);
      const double want = expected[i] / 1e6, tolerance = kTolerance * want;
      SCOPED_TRACE(name + " class " + sim::AppClassName(k.app_class));
      EXPECT_EQ(k.tcp, "cubic");
      EXPECT_LE(k.packet_bytes, 1514.0 + 1e-9) << "the qdisc saw GSO super-packets";
      EXPECT_DOUBLE_EQ(k.quantum_bytes, sim::HtbQuantumBytes(cfg)) << "the kernel's quantum";
      EXPECT_NEAR(k.mbps, want, tolerance) << "the kernel against Linux HTB semantics";
      EXPECT_NEAR(ns3[i], k.mbps, tolerance) << "ns-3 against the kernel";
      EXPECT_NEAR(fluid[i], k.mbps, tolerance) << "fluid against the kernel";
    }
    EXPECT_TRUE(OurNamespaces().empty());
  }

  std::string skipped_;
};

TEST_F(KernelHtb, WhatIsLeftIsLentByTheDefaultQuanta) {
  ExpectBackendsMatchKernel("b_borrow_by_rate");
}

TEST_F(KernelHtb, PrioZeroTakesWhatIsLeft) { ExpectBackendsMatchKernel("e_two_prios"); }

TEST_F(KernelHtb, AnInterruptedRunRemovesWhatItMade) {
  // SIGINT while the flows run: the run throws, naming the signal, and leaves nothing behind.
  KernelHtbOptions options;
  options.progress = [](const std::string& line) {
    if (line.find("measuring") != std::string::npos) std::raise(SIGINT);
  };
  std::string error;
  ::testing::internal::CaptureStderr();
  try {
    Kernel(HtbBenchCaseNamed("a_no_borrowing"), options);
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  const std::string stderr_text = ::testing::internal::GetCapturedStderr();
  if (!skipped_.empty()) GTEST_SKIP() << "the kernel HTB check cannot run here: " << skipped_;
  EXPECT_NE(error.find("interrupted by signal"), std::string::npos) << error;
  EXPECT_EQ(stderr_text.find("could not remove"), std::string::npos) << stderr_text;
  EXPECT_TRUE(OurNamespaces().empty());
}

TEST_F(KernelHtb, AFailingStepNamesItsCommandAndErrorAndRemovesWhatItMade) {
  // A quantum above tc's 32 bits: `tc class add` refuses it after the namespaces exist.
  HtbBenchCase c = HtbBenchCaseNamed("b_borrow_by_rate");
  c.config.classes[1].quantum_bytes = 5e9;
  std::string error;
  try {
    Kernel(c);
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  if (!skipped_.empty()) GTEST_SKIP() << "the kernel HTB check cannot run here: " << skipped_;
  EXPECT_NE(error.find("`tc -n linklab-htb-"), std::string::npos) << error;
  EXPECT_NE(error.find("class add"), std::string::npos) << error;
  EXPECT_NE(error.find("quantum 5000000000"), std::string::npos) << error;
  EXPECT_NE(error.find("Illegal"), std::string::npos) << error;  // tc's own words
  EXPECT_TRUE(OurNamespaces().empty());
}

TEST(KernelHtbConfig, AMissingCongestionControlIsReportedAsUnavailable) {
  if (geteuid() != 0) GTEST_SKIP() << "not root";
  KernelHtbOptions options;
  options.tcp = "nosuchcc";
  const HtbBenchCase c = HtbBenchCaseNamed("b_borrow_by_rate");
  try {
    RunKernelHtb(c.config, c.flows, options);
    FAIL() << "no error";
  } catch (const KernelHtbUnavailable& e) {
    EXPECT_NE(std::string(e.what()).find("nosuchcc"), std::string::npos) << e.what();
  }
}

TEST(KernelHtbConfig, AFlowClassWithoutAnHtbClassIsAnError) {
  HtbBenchCase c = HtbBenchCaseNamed("b_borrow_by_rate");
  c.flows.push_back(sim::AppClass::kGaming);
  try {
    RunKernelHtb(c.config, c.flows, {});
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("gaming"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace linklab::experiments
