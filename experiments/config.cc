#include "experiments/config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "agents/agent.h"
#include "core/ini.h"
#include "core/limits.h"
#include "core/text.h"
#include "envs/registry.h"

namespace linklab::experiments {

namespace {
const std::vector<std::string> kSections = {"experiment", "env", "agent", "train", "eval"};
}  // namespace

const std::vector<std::string>& ExperimentSections() { return kSections; }

std::vector<IniEntry> ParseIni(const std::string& text, const std::string& name) {
  return core::ParseIni(text, name, kSections);
}

std::vector<IniEntry> ReadIni(const std::string& path) {
  std::vector<IniEntry> entries = core::ReadIni(path, kSections, "config file");
  if (entries.empty()) {
    throw std::invalid_argument("config file '" + path +
                                "' sets no key (run without CONFIG for the built-in defaults)");
  }
  return entries;
}

std::vector<core::ParamSpec> ExperimentSectionSpecs() {
  return {
      core::StringParam("name", "experiment", "run name: results go to <output>/<name>/<time>"),
      core::IntParam("seed", 1, "seed of the whole run (envs, agent, evaluation)", 0),
      core::StringParam("output", "results", "folder that receives run folders"),
      core::StringParam("description", "", "free text stored with the results"),
  };
}

std::vector<core::ParamSpec> TrainSectionSpecs() {
  return {
      core::IntParam("total_steps", 100000, "env steps to train for (summed over sub-envs)", 1,
                     core::kMaxSteps),
      core::IntParam("checkpoint_every", 0, "env steps between checkpoints; 0: only at the end", 0,
                     core::kMaxSteps),
      core::BoolParam("progress", true, "show progress (steps, rate, ETA, latest return)"),
      core::StringParam("init_from", "",
                        "start the agent from this checkpoint or run folder (its latest "
                        "checkpoint): weights, optimiser and buffers, for fine-tuning on "
                        "another env config; same algorithm and spaces"),
  };
}

std::vector<core::ParamSpec> EvalSectionSpecs() {
  return {
      core::IntParam("episodes", 10, "evaluation episodes after training; 0: none", 0, 100000000),
      core::IntParam("num_envs", 1, "envs used for evaluation", 1, 1024),
      core::IntParam("seed_offset", 1000000, "evaluation seed = experiment seed + seed_offset", 0),
      core::BoolParam("explore", false, "evaluate the training policy instead of the greedy one"),
  };
}

RawSections ReadSections(const std::string& path, const std::vector<std::string>& sections,
                         const std::string& what) {
  RawSections raw;
  for (const core::IniEntry& e : core::ReadIni(path, sections, what)) {
    raw[e.section][e.key] = core::RawValue{e.value, path + ":" + std::to_string(e.line)};
  }
  return raw;
}

void ApplySets(RawSections& raw, const std::vector<std::string>& sets,
               const std::vector<std::string>& sections) {
  for (const auto& o : sets) {
    const std::string origin = "--set " + o;
    const size_t eq = o.find('=');
    const size_t dot = o.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq) {
      throw std::invalid_argument(origin + ": expected section.key=value");
    }
    const std::string section = core::Trim(o.substr(0, dot));
    if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
      throw std::invalid_argument(origin + ": unknown section [" + section + "]; sections are [" +
                                  core::Join(sections, "], [") + "]");
    }
    raw[section][core::Trim(o.substr(dot + 1, eq - dot - 1))] =
        core::RawValue{core::Trim(o.substr(eq + 1)), origin};
  }
}

ExperimentConfig ResolveExperiment(RawSections sections, const std::vector<std::string>& overrides,
                                   const std::string& source) {
  ApplySets(sections, overrides, kSections);

  ExperimentConfig c;
  c.source = source;
  c.experiment =
      core::Params::Resolve(ExperimentSectionSpecs(), sections["experiment"], "[experiment]");
  c.train = core::Params::Resolve(TrainSectionSpecs(), sections["train"], "[train]");
  c.eval = core::Params::Resolve(EvalSectionSpecs(), sections["eval"], "[eval]");

  // [env]: the common keys plus the chosen env's own parameters.
  core::RawValues& env_raw = sections["env"];
  const std::string env_id = env_raw.count("id") ? core::Trim(env_raw["id"].text) : "CartPole-v1";
  const auto& env_entry = [&]() -> const envs::EnvRegistryType::Entry& {
    try {
      return envs::EnvRegistry().Find(env_id);
    } catch (const std::invalid_argument& e) {
      const std::string origin = env_raw.count("id") ? env_raw["id"].origin : "default";
      throw std::invalid_argument(origin + ": [env] id = '" + env_id + "': " + e.what());
    }
  }();
  std::vector<core::ParamSpec> env_common = {
      core::StringParam("id", "CartPole-v1", "registered env name (see linklab list)")};
  for (auto& s : envs::VectorOptionSpecs()) env_common.push_back(s);
  std::vector<core::ParamSpec> env_all = env_common;
  env_all.insert(env_all.end(), env_entry.params.begin(), env_entry.params.end());
  core::Params::Resolve(env_all, env_raw, "[env]");  // validates every key once
  core::RawValues common_raw, own_raw;
  for (const auto& [k, v] : env_raw) {
    bool common = false;
    for (const auto& s : env_common) common = common || s.name == k;
    (common ? common_raw : own_raw)[k] = v;
  }
  c.env = core::Params::Resolve(env_common, common_raw, "[env]");
  c.env_params = core::Params::Resolve(env_entry.params, own_raw, "[env]");

  // [agent]: algo plus the agent's own parameters.
  core::RawValues agent_raw = sections["agent"];
  const std::string algo = agent_raw.count("algo") ? core::Trim(agent_raw["algo"].text) : "random";
  const auto& agent_entry = [&]() -> const agents::AgentRegistryType::Entry& {
    try {
      return agents::AgentRegistry().Find(algo);
    } catch (const std::invalid_argument& e) {
      const std::string origin = agent_raw.count("algo") ? agent_raw["algo"].origin : "default";
      throw std::invalid_argument(origin + ": [agent] algo = '" + algo + "': " + e.what());
    }
  }();
  std::vector<core::ParamSpec> agent_all = {
      core::StringParam("algo", "random", "registered agent name (see linklab list)")};
  agent_all.insert(agent_all.end(), agent_entry.params.begin(), agent_entry.params.end());
  c.agent = core::Params::Resolve(agent_all, agent_raw, "[agent]");
  return c;
}

ExperimentConfig LoadExperiment(const std::string& path,
                                const std::vector<std::string>& overrides) {
  RawSections sections;
  for (const auto& e : ReadIni(path)) {
    sections[e.section][e.key] = core::RawValue{e.value, path + ":" + std::to_string(e.line)};
  }
  return ResolveExperiment(std::move(sections), overrides, path);
}

void WriteIniSection(std::ostream& out, const std::string& name,
                     const std::vector<const core::Params*>& parts) {
  out << "[" << name << "]\n";
  for (const auto* params : parts) {
    for (const auto& spec : params->schema()) {
      out << "# " << spec.help << " (" << core::ParamTypeName(spec.type);
      const std::string range = spec.RangeText();
      if (!range.empty()) out << ", " << range;
      out << ", default " << (spec.default_text.empty() ? "''" : spec.default_text) << ")\n";
      out << spec.name << " = " << params->Text(spec.name) << "\n";
    }
  }
  out << "\n";
}

std::string ExperimentConfig::ToIni() const {
  std::ostringstream out;
  out << "# Effective linklab experiment config" << (source.empty() ? "" : " (from " + source + ")")
      << ": every key, defaults filled in.\n\n";
  WriteIniSection(out, "experiment", {&experiment});
  WriteIniSection(out, "env", {&env, &env_params});
  WriteIniSection(out, "agent", {&agent});
  WriteIniSection(out, "train", {&train});
  WriteIniSection(out, "eval", {&eval});
  return out.str();
}

}  // namespace linklab::experiments
