#pragma once
// `linklab bench htb`: the simulator's HTB, on both backends, against the real Linux kernel's
// (experiments/kernel_htb.h), on cases that each check one part of HTB's semantics. The same
// cases serve the `live` tests.

#include <string>
#include <vector>

#include "sim/shaping.h"

namespace linklab::experiments {

// An HTB config with one bulk TCP (Cubic) flow in each class of `flows`.
struct HtbBenchCase {
  std::string name;  // "b_borrow_by_rate"
  std::string what;  // the semantics it checks, one line
  sim::HtbConfig config;
  std::vector<sim::AppClass> flows;
};

// (a) rates below the root without borrowing, (b) what the root has left lent in proportion to
// the default quanta (rate / 10), (c) to explicit quanta, (d) the quantum clamp at 200000 bytes
// (equal quanta for unequal rates), (e) two prios (prio 0 takes what is left), and (f) case d
// at twice the rates, near what a small machine's senders keep queued.
std::vector<HtbBenchCase> HtbBenchCases();
// The case named `name`; std::invalid_argument listing the cases when there is none.
HtbBenchCase HtbBenchCaseNamed(const std::string& name);

// The scenario a case runs on a simulator backend ("ns3" or "fluid"): a constant wide-area link
// and an access link at twice the root's rate, 5 ms RTT, no loss and no cross traffic, one bulk
// Cubic flow per class (`workload=bulk+bulk:video`).
std::string HtbBenchScenario(const HtbBenchCase& c, const std::string& backend);

// Each flow class's delivered Mbit/s on the downlink (the LinkSamples) on `backend`, over
// `measure_s` after `warmup_s`, the case's config applied at the downlink shaping point from
// time 0; in the order of `c.flows`.
std::vector<double> SimHtbMbps(const HtbBenchCase& c, const std::string& backend, double warmup_s,
                               double measure_s);

}  // namespace linklab::experiments
