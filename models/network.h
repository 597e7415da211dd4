#pragma once
// Torch-free descriptions of trained networks' weights, in libtorch's layouts: what a model
// hands to ONNX export (models/onnx_export.h) without its readers linking libtorch.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace linklab::models {

// y = W x + b: weight [out, in] row-major, bias [out] (torch's Linear).
struct DenseWeights {
  int64_t in = 0, out = 0;
  std::vector<float> weight, bias;
};

// One recurrent layer as torch stores it: weight_ih [gates * hidden, input], weight_hh
// [gates * hidden, hidden], bias_ih and bias_hh [gates * hidden]; gates in torch's order
// (LSTM: input, forget, cell, output; GRU: reset, update, new, the new gate's hidden part
// inside the reset product).
struct RecurrentWeights {
  std::string cell;  // "lstm" | "gru"
  int64_t input = 0, hidden = 0;
  std::vector<float> weight_ih, weight_hh, bias_ih, bias_hh;
};

// Evaluation-mode BatchNorm: (x - mean) / sqrt(var + epsilon) * gamma + beta per feature.
struct BatchNormWeights {
  std::vector<float> gamma, beta, mean, var;
  double epsilon = 1e-5;
};

// One path of a sequence network: recurrent layers, the last time step, ReLU dense layers,
// optional BatchNorm, a linear output.
struct SequencePathWeights {
  std::vector<RecurrentWeights> recurrent;
  std::vector<DenseWeights> dense;
  std::optional<BatchNormWeights> batchnorm;
  DenseWeights out;
};

// A whole sequence network (models/sequence_model.h): input [rows, window, input_size], the
// paths' outputs concatenated in order into [rows, output_size].
struct SequenceNetWeights {
  std::string model;  // registry name
  int64_t window = 0, input_size = 0, output_size = 0;
  std::vector<SequencePathWeights> paths;
};

}  // namespace linklab::models
