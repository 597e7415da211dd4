#pragma once
// The torch-free policy artefact: everything needed to act like a trained agent's greedy
// policy without libtorch (the live runner and export read it). Written by every checkpoint
// and every finished run as `policy.bin`; read and run here with Eigen (models/mlp.h).
//
//   raw obs ──► normaliser (optional) ──► MLP ──► action head ──► action
//                (obs - mean) / sqrt(var + eps),   categorical: argmax of logits
//                clipped to [-clip, clip]          Gaussian: mean [-> squash] -> clip to Box
//                                                  constant: the same action always
//
// File layout (format version 1), little-endian, strings and vectors as a uint64 count then
// the items (core/serialize.h):
//   char[8]   magic "LLPOLICY"
//   uint32    format version (kPolicyFormatVersion)
//   string    agent name ("ppo", "dqn", "fixed")
//   string    observation space, string action space (envs::Space::Encode)
//   uint32    hidden activation (0 tanh, 1 relu); int64[] layer sizes (input, hidden..., out;
//             empty for a constant policy); float32[] parameters (models/mlp.h layout)
//   uint32    head kind (ActionHead::Kind); uint32 squash (ActionHead::Squash);
//   uint8     clip to the Box bounds; float32[] constant action
//   uint64    action table columns, each a string; float32[] table values [n, columns]
//   uint8     has normaliser; float64[] mean; float64[] var; float64 clip; float64 epsilon
//   uint64    metadata entries, each string key, string value
// Nothing may follow. Readers refuse another magic, another version, truncation, trailing
// bytes and inconsistent sizes with a std::runtime_error naming the file.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "envs/space.h"
#include "models/mlp.h"

namespace linklab::models {

using envs::Array;

constexpr char kPolicyMagic[9] = "LLPOLICY";
constexpr uint32_t kPolicyFormatVersion = 1;

// How network outputs become actions.
struct ActionHead {
  enum class Kind : uint32_t {
    kCategorical = 0,   // Discrete: the index of the largest output (first one on ties)
    kGaussianMean = 1,  // Box: the outputs are the action (the Gaussian's mean)
    kConstant = 2,      // no network: `constant` on every step
  };
  enum class Squash : uint32_t {
    kNone = 0,
    kTanh = 1,  // Box: low + (tanh(x) + 1) / 2 * (high - low), before clipping
  };
  Kind kind = Kind::kCategorical;
  Squash squash = Squash::kNone;
  bool clip_to_bounds = true;  // Gaussian: clip to the action space's bounds
  Array constant;              // kConstant: one action (action space size)
};

// What a Discrete action index stands for (a ladder of rates, say): row i holds the values of
// action i, one per column. Empty when the env supplies none.
struct ActionTable {
  std::vector<std::string> columns;
  std::vector<float> values;  // [n, columns.size()] row-major
};

// Observation normaliser statistics, as envs::NormalizeObservation applies them.
struct ObsNormalizer {
  std::vector<double> mean, var;  // per observation element
  double clip = 10.0;
  double epsilon = 1e-8;
};

// The artefact's content. An agent fills agent, spaces, network, params and head
// (agents::Agent::ExportPolicy); the run pipeline adds the normaliser and metadata.
struct PolicyArtefact {
  std::string agent;
  envs::Space observation_space, action_space;
  MlpSpec network;            // sizes empty for a constant policy
  std::vector<float> params;  // network.num_params() floats
  ActionHead head;
  ActionTable action_table;
  std::optional<ObsNormalizer> normalizer;
  std::map<std::string, std::string> metadata;  // env, algo, step, git commit, ...

  // Why this artefact is inconsistent ("" when it is fine): sizes, head and spaces.
  std::string Problem() const;
};

// Serialises `a` (format above); throws std::invalid_argument when a.Problem() is not empty.
std::string EncodePolicy(const PolicyArtefact& a);
// Parses bytes read from `what` (a file name, for messages); throws std::runtime_error
// naming `what` and the defect.
PolicyArtefact DecodePolicy(const std::string& data, const std::string& what);
// File versions of the two (the write is atomic, see core/files.h).
void WritePolicy(const std::string& path, const PolicyArtefact& a);
PolicyArtefact ReadPolicy(const std::string& path);

// A runnable policy: acts from raw observations exactly as the agent's greedy Act does on
// normalised ones.
class Policy {
 public:
  // Throws std::invalid_argument when `artefact` is inconsistent.
  explicit Policy(PolicyArtefact artefact);
  // ReadPolicy + Policy.
  static Policy Load(const std::string& path);

  // One action per row of `obs` ([rows, observation size], raw: the artefact normalises);
  // returns [rows, action size] (a Discrete action is its index, as in envs/space.h).
  Array Act(const Array& obs, int rows) const;
  // The table row of Discrete action `index` (the action table must be present).
  std::vector<float> ActionValues(int64_t index) const;

  const PolicyArtefact& artefact() const { return a_; }

 private:
  PolicyArtefact a_;
  int64_t obs_size_ = 0, act_size_ = 0;
};

}  // namespace linklab::models
