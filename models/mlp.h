#pragma once
// Multi-layer perceptrons shared by the agents and the torch-free policy artefact
// (models/policy.h): the architecture description, and a fast forward pass over a flat
// parameter buffer (Eigen, no torch) used to act during rollouts and from artefacts.
//
//   in ──► Linear ──► act ──► Linear ──► act ── ... ──► Linear ──► out
//
// Parameters are laid out as torch's Linear stores them, layer after layer: weight
// [out, in] row-major, then bias [out]. The torch module (agents/torch_nets.h) keeps its
// parameters in exactly this layout, so both read the same buffer.

#include <cstdint>
#include <string>
#include <vector>

namespace linklab::models {

enum class Activation { kTanh, kRelu };
Activation ParseActivation(const std::string& text, const std::string& what);
const char* ActivationName(Activation a);

struct MlpSpec {
  std::vector<int64_t> sizes;  // input, hidden..., output
  Activation activation = Activation::kTanh;

  int64_t num_params() const;
  int64_t input_size() const { return sizes.front(); }
  int64_t output_size() const { return sizes.back(); }
};

// "64,64" -> {64, 64}; throws std::invalid_argument naming `what` on bad text.
std::vector<int64_t> ParseHiddenSizes(const std::string& text, const std::string& what);

// out[rows, output] = mlp(in[rows, input]) with parameters `params` (spec.num_params()).
void MlpForward(const MlpSpec& spec, const float* params, const float* in, int64_t rows,
                float* out);

}  // namespace linklab::models
