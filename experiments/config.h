#pragma once
// Experiment configs: INI files with one section per part of a run.
//
//   [experiment]  name, seed, output, description
//   [env]         id, vectorisation and normalisation keys, and the env's own parameters
//   [agent]       algo, and the agent's own parameters
//   [train]       total_steps, checkpoint_every, progress
//   [eval]        episodes, num_envs, seed_offset, explore
//
// Every key is typed and range-checked against the registries; an unknown section or key, a
// wrong type or an out-of-range value throws std::invalid_argument with the file, line, key
// and value. `--set section.key=value` overrides any key. The effective config (every default
// filled in) is written back as INI, and reads back to the same config.

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "core/ini.h"
#include "core/params.h"

namespace linklab::experiments {

using core::IniEntry;

// The sections of an experiment config: experiment, env, agent, train, eval.
const std::vector<std::string>& ExperimentSections();

// An experiment config file read with core::ReadIni over the five sections above; an empty one
// is refused too.
std::vector<IniEntry> ReadIni(const std::string& path);
std::vector<IniEntry> ParseIni(const std::string& text, const std::string& name);

struct ExperimentConfig {
  std::string source;  // file the config came from ("" for built-in defaults)
  core::Params experiment, env, env_params, agent, train, eval;
  std::string env_id() const { return env.String("id"); }
  std::string algo() const { return agent.String("algo"); }
  uint64_t seed() const { return static_cast<uint64_t>(experiment.Int("seed")); }
  // The effective config as INI: every key, with its help and default as comments.
  std::string ToIni() const;
};

// Section name -> raw key/values (with their origins).
using RawSections = std::map<std::string, core::RawValues>;

// `path`'s INI entries over `sections` (core::ReadIni: unknown sections are errors), each
// value with its origin (file:line); `what` names the kind of file in messages.
RawSections ReadSections(const std::string& path, const std::vector<std::string>& sections,
                         const std::string& what);
// Applies "section.key=value" overrides (--set) to `raw`, each with its origin; a malformed
// one or an unknown section is std::invalid_argument listing `sections`.
void ApplySets(RawSections& raw, const std::vector<std::string>& sets,
               const std::vector<std::string>& sections);

// Writes section `name` of an effective config: every key of `parts` with its help, type,
// range and default as a comment.
void WriteIniSection(std::ostream& out, const std::string& name,
                     const std::vector<const core::Params*>& parts);

// Checks and completes a config. `overrides` are "section.key=value" strings.
ExperimentConfig ResolveExperiment(RawSections sections, const std::vector<std::string>& overrides,
                                   const std::string& source);
// ReadIni + ResolveExperiment.
ExperimentConfig LoadExperiment(const std::string& path,
                                const std::vector<std::string>& overrides = {});

// The fixed schemas of the [experiment], [train] and [eval] sections.
std::vector<core::ParamSpec> ExperimentSectionSpecs();
std::vector<core::ParamSpec> TrainSectionSpecs();
std::vector<core::ParamSpec> EvalSectionSpecs();

}  // namespace linklab::experiments
