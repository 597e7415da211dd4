#pragma once
// libtorch pieces shared by the learning agents (included only by their .cc files: torch
// headers are expensive to compile).
//
// ParamSet keeps every trainable tensor of an agent (MLP weights and biases, a log-std
// vector) as views into ONE flat buffer, with its gradient in one flat buffer too. The
// optimiser, gradient clipping and target-network updates then run as a handful of vector ops
// instead of a few per tensor (the difference between ~160 us and ~25 us per Adam step for a
// small MLP), and the Eigen forward pass (models/mlp.h) acts straight from the same memory.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/mlp.h"
#include "models/policy.h"

namespace linklab::agents {

// The MLP description and Eigen forward pass live in the torch-free models/ library.
using models::Activation;
using models::ActivationName;
using models::MlpForward;
using models::MlpSpec;
using models::ParseActivation;
using models::ParseHiddenSizes;

enum class Init {
  kTorchDefault,  // torch.nn.Linear's own: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias
  kOrthogonal,    // orthogonal weights (gain sqrt(2) hidden, `out_gain` last), zero biases
};

class ParamSet {
 public:
  // Adds an MLP; returns its index. Call before Finalize().
  int AddMlp(const MlpSpec& spec, Init init, double out_gain = 1.0);
  // Adds a free tensor (e.g. a log-std vector) filled with `value`; returns its index.
  int AddTensor(std::vector<int64_t> shape, float value);
  // Allocates the flat buffers and initialises every parameter from torch's generator.
  void Finalize();

  // Forward pass of MLP `index` with autograd.
  torch::Tensor Forward(int index, const torch::Tensor& x) const;
  const MlpSpec& spec(int index) const { return mlps_[index].spec; }
  // The MLP's parameters in the layout models/mlp.h reads.
  const float* MlpData(int index) const;
  const torch::Tensor& tensor(int index) const { return tensors_[index].leaf; }

  const torch::Tensor& flat() const { return flat_; }  // in-place ops still write through
  const torch::Tensor& grad() const { return grad_; }
  int64_t size() const { return flat_.numel(); }
  // Scales the gradient so its global L2 norm is at most `max_norm`; returns the norm before.
  double ClipGradNorm(double max_norm);

  // MLP `index` as a torch-free policy artefact of `agent` (network and parameters; the
  // caller sets the action head).
  models::PolicyArtefact Artefact(int index, const std::string& agent,
                                  const envs::Space& observation_space,
                                  const envs::Space& action_space) const;

  // A text description of every tensor ("q.0.weight [120, 4]"), saved with checkpoints and
  // compared on load so that a checkpoint of another shape is refused with the difference.
  std::string Manifest() const;

 private:
  struct Layer {
    torch::Tensor weight, bias;
  };
  struct MlpEntry {
    MlpSpec spec;
    Init init;
    double out_gain;
    int64_t offset = 0;
    std::vector<Layer> layers;
  };
  struct TensorEntry {
    std::vector<int64_t> shape;
    float value;
    int64_t offset = 0;
    torch::Tensor leaf;
  };
  torch::Tensor Bind(int64_t offset, const std::vector<int64_t>& shape);

  std::vector<MlpEntry> mlps_;
  std::vector<TensorEntry> tensors_;
  torch::Tensor flat_, grad_;
};

// Sets libtorch's and OpenBLAS's thread counts (small networks run fastest on one thread).
void ConfigureTorchThreads(int threads);

// Writes/reads a set of named tensors plus a manifest; Load throws std::runtime_error naming
// the file and the first difference when the manifest does not match `expected_manifest`.
void SaveTensors(const std::string& path, const std::string& manifest,
                 const std::vector<torch::Tensor>& tensors);
void LoadTensors(const std::string& path, const std::string& expected_manifest,
                 std::vector<torch::Tensor> tensors);
// torch::load of an optimizer's state; a file libtorch cannot read (truncated, of another kind)
// throws std::runtime_error naming it, without libtorch's backtrace.
void LoadOptimizer(torch::optim::Optimizer& optimizer, const std::string& path);

}  // namespace linklab::agents
