#pragma once
// The model interface and registry: learned predictors of link behaviour (LSTM/GRU, boosted
// trees) trained offline on datasets/ series. A model maps a window of past feature vectors
// (LinkSample fields, say) to a prediction of the next values. Models are created by name
// with typed parameters, like envs and agents (core/registry.h); `linklab list models`
// prints them. The recurrent predictors (libtorch) register with RegisterSequenceModels
// (models/sequence_model.h), which the linklab binary and their tests call.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/registry.h"
#include "models/network.h"

namespace linklab::models {

// What every model factory gets besides its own parameters.
struct ModelContext {
  int64_t input_size = 0;   // features per time step
  int64_t window = 1;       // time steps per input
  int64_t output_size = 0;  // predicted values
  int64_t horizons = 1;     // horizons the outputs cover (a multi-horizon model: a branch each)
  uint64_t seed = 0;
  std::string loss = "mse";  // what Fit minimises: mse (squared error) or mae (absolute error)
};

class Model {
 public:
  virtual ~Model() = default;
  // Predictions [rows, output_size] from inputs [rows, window, input_size] (row-major).
  virtual std::vector<float> Predict(const std::vector<float>& inputs, int64_t rows) = 0;
  // One training step on a batch (inputs as for Predict, targets [rows, output_size]);
  // returns its figures (loss, ...).
  virtual core::Row Fit(const std::vector<float>& inputs, const std::vector<float>& targets,
                        int64_t rows) = 0;
  // Whole model state to/from a directory; Load throws std::runtime_error naming the file
  // when it does not match this model.
  virtual void Save(const std::string& dir) const = 0;
  virtual void Load(const std::string& dir) = 0;
  // Restarts the model's own random stream (dropout, ...) from `seed`: a training loop calls
  // it per epoch so that a resumed run repeats the uninterrupted one.
  virtual void Reseed(uint64_t seed) {}
  // The network's weights for export (models/onnx_export.h); throws std::runtime_error for a
  // model that has no such form.
  virtual SequenceNetWeights Weights() const;
};

using ModelMaker = std::function<std::unique_ptr<Model>(const core::Params&, const ModelContext&)>;
using ModelRegistryType = core::Registry<ModelMaker>;

// All registered models (RegisterSequenceModels adds the recurrent ones).
ModelRegistryType& ModelRegistry();
// Model `name` with resolved `params`; unknown names throw std::invalid_argument listing the
// registered ones.
std::unique_ptr<Model> MakeModel(const std::string& name, const core::Params& params,
                                 const ModelContext& context);

}  // namespace linklab::models
