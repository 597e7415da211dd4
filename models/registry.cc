#include <stdexcept>

#include "models/model.h"

namespace linklab::models {

ModelRegistryType& ModelRegistry() {
  // Predictors add their registration functions here (called on first use, as for envs and
  // agents: static initialisers would be dropped from static libraries).
  static ModelRegistryType* registry = new ModelRegistryType("model");
  return *registry;
}

SequenceNetWeights Model::Weights() const {
  throw std::runtime_error("this model cannot be exported (no network weights)");
}

std::unique_ptr<Model> MakeModel(const std::string& name, const core::Params& params,
                                 const ModelContext& context) {
  return ModelRegistry().Find(name).make(params, context);
}

}  // namespace linklab::models
