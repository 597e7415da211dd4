#pragma once
// ONNX export of trained policies and predictors (DESIGN.md contract 5), built with Debian's
// libonnx-dev protobuf classes; torch-free. Files use opset kOnnxOpset of the default domain,
// one float32 input named "input" whose first dimension is the batch ("batch"), and carry as
// metadata_props everything needed to use them without linklab: feature names, normaliser or
// scaler statistics, the action head and table, the observation spec and its hash, the
// training config and the git commit (keys below).
//
// Policy graph (PolicyArtefact: normaliser -> MLP -> head):
//   input [batch, obs] -> Sub mean -> Div std -> Clip +-clip      (when it has a normaliser)
//     -> Gemm -> Tanh|Relu -> ... -> Gemm                          -> "output" [batch, outputs]
//   categorical: Softmax -> "probs"; ArgMax -> Cast float          -> "action" [batch, 1]
//   Gaussian:    [Tanh -> Add 1 -> Mul (high-low)/2 -> Add low] [Max low -> Min high] -> "action"
//
// Predictor graph (SequenceNetWeights, on scaled inputs: the scaler is metadata):
//   input [batch, window, features] -> Transpose (time first)
//     per path: LSTM|GRU -> Squeeze -> ... -> (last layer's Y_h) Squeeze
//               -> Gemm -> Relu ... -> BatchNormalization -> Gemm
//     -> Concat (several paths) -> "output" [batch, outputs]
// torch's gate orders become ONNX's (LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h with
// linear_before_reset = 1).

#include <cstdint>
#include <map>
#include <string>

#include "models/network.h"
#include "models/policy.h"

namespace linklab::models {

constexpr int64_t kOnnxOpset = 17;
constexpr int64_t kOnnxIrVersion = 8;

// Metadata keys every export writes (others: "linklab.normalizer", "linklab.action_table",
// "linklab.scaler", "linklab.features", ... see ExportPolicyOnnx and the predictor export).
constexpr char kOnnxKindKey[] = "linklab.kind";  // "policy" | "predictor"

// The ONNX file (serialised ModelProto) of policy `a`; `metadata` entries are added (the
// artefact's own metadata is added as "linklab.<key>"). Throws std::invalid_argument for a
// policy without a network (a fixed baseline) or an inconsistent artefact.
std::string ExportPolicyOnnx(const PolicyArtefact& a,
                             const std::map<std::string, std::string>& metadata = {});

// The ONNX file of sequence network `w`, with `metadata` added. Throws std::invalid_argument
// when the weights' sizes disagree.
std::string ExportSequenceOnnx(const SequenceNetWeights& w,
                               const std::map<std::string, std::string>& metadata = {});

// What an ONNX file says about itself: producer, opset, the graph's inputs and outputs and
// their shapes, node counts per op, and the metadata_props (key -> value). Throws
// std::runtime_error naming `what` when `bytes` is not an ONNX model.
struct OnnxSummary {
  std::string producer;
  int64_t ir_version = 0, opset = 0;
  std::vector<std::string> inputs, outputs;  // "name [batch, 10, 6]"
  std::map<std::string, int> ops;
  std::map<std::string, std::string> metadata;
};
OnnxSummary InspectOnnx(const std::string& bytes, const std::string& what);

}  // namespace linklab::models
