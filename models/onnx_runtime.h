#pragma once
// The inference runtime (DESIGN.md contract 5): runs the ONNX files export writes
// (models/onnx_export.h) in float32 without libtorch or ONNX Runtime, for the live runner and
// benchmarks. Hot loops are models/kernels.h; the rest is plain C++ over Eigen-free buffers.
//
// Ops: Gemm, MatMul, Add, Sub, Mul, Div, Max, Min (a constant per-feature vector or scalar,
// or two inputs of one shape), Relu, Tanh, Sigmoid, Clip, Softmax, ArgMax, Cast (to float),
// Identity, Transpose, Squeeze, Concat, BatchNormalization (inference), LSTM and GRU (forward,
// default activations, no initial states; GRU with linear_before_reset = 1). One float input
// whose first dimension is the batch; every other dimension fixed.
//
// Loading checks the whole graph (every op, attribute, initializer size and shape) and refuses
// what it does not implement with a std::runtime_error naming the file and the node; a
// truncated or corrupt file is such an error, never a crash. Buffers are sized at load for
// one row and grow with the largest batch seen: a Run of at most that many rows allocates
// nothing.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace linklab::models {

class OnnxRuntime {
 public:
  // Parses `bytes` (an ONNX file read from `what`, for messages).
  OnnxRuntime(const std::string& bytes, const std::string& what);
  static OnnxRuntime Load(const std::string& path);
  OnnxRuntime(OnnxRuntime&&) noexcept;
  OnnxRuntime& operator=(OnnxRuntime&&) noexcept;
  ~OnnxRuntime();

  // The input: its name, per-row shape (without the batch) and values per row.
  const std::string& input_name() const;
  const std::vector<int64_t>& input_shape() const;
  int64_t input_size() const;
  // The graph's outputs, in order, and each one's values per row.
  size_t num_outputs() const;
  const std::string& output_name(size_t i) const;
  int64_t output_size(size_t i) const;
  // The index of output `name`; throws std::invalid_argument listing the outputs.
  size_t OutputIndex(const std::string& name) const;
  // metadata_props.
  const std::map<std::string, std::string>& metadata() const;

  // Evaluates the graph on `rows` rows (input [rows, input_size()]); outputs stay readable
  // through output() until the next Run.
  void Run(const float* input, int64_t rows);
  // Output i of the last Run: [rows, output_size(i)].
  const float* output(size_t i) const;
  // Run, then a copy of output `name` (allocates: for tests and tools).
  std::vector<float> Run(const std::vector<float>& input, int64_t rows,
                         const std::string& name = "output");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace linklab::models
