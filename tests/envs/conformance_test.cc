// Conformance suite: runs over every registered env (built with its defaults through the
// registry, as experiments build them) and checks the Env contract (tests/envs/env_conformance.h).

#include "tests/envs/env_conformance.h"

namespace linklab::envs {
namespace {

INSTANTIATE_TEST_SUITE_P(AllRegistered, EnvConformance, ::testing::ValuesIn(EnvRegistry().Names()),
                         ConformanceName);

}  // namespace
}  // namespace linklab::envs
