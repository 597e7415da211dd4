#pragma once
// The backends behind the scenario registry (sim/families.cc chooses by `backend`).

#include <memory>
#include <vector>

#include "core/params.h"
#include "sim/access_path.h"
#include "sim/scenario.h"

namespace linklab::sim {

// Parameters every scenario shares (backend, queue discs, time features, scale, ...), with the
// family's default workload and TCP variant.
std::vector<core::ParamSpec> CommonScenarioSpecs(const std::string& workload,
                                                 const std::string& tcp);
// The application classes an access-path scenario reports.
std::vector<AppClass> AccessClasses(const std::vector<WorkloadItem>& workload,
                                    const CrossTrafficOptions& cross);

std::unique_ptr<Scenario> MakeNs3AccessScenario(const core::Params& params,
                                                AccessScenarioSpec spec);
std::unique_ptr<Scenario> MakeFluidAccessScenario(const core::Params& params,
                                                  AccessScenarioSpec spec);
// The datacenter family.
std::vector<core::ParamSpec> DatacenterSpecs();
std::unique_ptr<Scenario> MakeNs3Datacenter(const core::Params& params);
std::unique_ptr<Scenario> MakeFluidDatacenter(const core::Params& params);

}  // namespace linklab::sim
