#pragma once
// libtorch's forward pass of an MLP over the flat parameter layout of models/mlp.h, declared
// without torch headers: the reference the ONNX parity tests and `linklab bench runtime` hold
// the exported policies to.

#include <cstdint>
#include <vector>

#include "models/mlp.h"

namespace linklab::agents {

// out [rows, spec.output_size()] = the MLP on in [rows, spec.input_size()], computed by
// torch::nn::functional::linear and torch's activations (no autograd).
std::vector<float> TorchMlpForward(const models::MlpSpec& spec, const float* params,
                                   const float* in, int64_t rows);

}  // namespace linklab::agents
