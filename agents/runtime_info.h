#pragma once
// What the learning agents run on, for benchmark reports: libtorch version and threads, and
// the BLAS library actually loaded into the process (Debian's libtorch uses whichever
// libblas.so.3 the alternatives system points to: the reference BLAS or OpenBLAS).

#include "core/json.h"

namespace linklab::agents {

core::Json TorchRuntimeInfo();

}  // namespace linklab::agents
