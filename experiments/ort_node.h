#pragma once
// ONNX Runtime through its Node.js binding (tools/ort/ort.js, the npm package
// onnxruntime-node that scripts/setup.sh installs with `npm ci --ignore-scripts`): the
// independent implementation the parity tests and `linklab bench runtime` hold ours to.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"

namespace linklab::experiments {

// "" when ONNX Runtime can be run here; otherwise why not (no node, the package not installed
// and how to install it).
std::string OrtUnavailableReason();

// Runs `model` on `input` of shape `dims` in ONNX Runtime; returns every output by name.
// Files go to `work_dir`. Throws std::runtime_error with ONNX Runtime's message on failure.
std::map<std::string, std::vector<float>> OrtRun(const std::string& model,
                                                 const std::vector<float>& input,
                                                 const std::vector<int64_t>& dims,
                                                 const std::string& work_dir);

// Times `model` in ONNX Runtime (one thread) on inputs of shape `dims` for about `seconds`:
// {"calls", "median_us", "mean_us", "p90_us", "version"} (each call through the binding).
core::Json OrtBench(const std::string& model, const std::vector<int64_t>& dims, double seconds);

}  // namespace linklab::experiments
