#include "experiments/export.h"

#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "core/files.h"
#include "core/machine.h"
#include "core/text.h"
#include "experiments/predictor.h"
#include "models/onnx_export.h"
#include "models/onnx_runtime.h"
#include "models/policy.h"

namespace linklab::experiments {

namespace fs = std::filesystem;

std::string ExportRun(const std::string& run_dir, const std::string& out) {
  if (!fs::is_directory(run_dir)) {
    throw std::invalid_argument("export: " + run_dir + ": not a folder");
  }
  if (out.empty()) throw std::invalid_argument("export: no output file (-o model.onnx)");
  std::string bytes, what;
  if (IsPredictorRun(run_dir)) {
    bytes = ExportPredictorOnnx(run_dir);
    what = "predictor";
  } else if (fs::exists(run_dir + "/policy.bin")) {
    const models::PolicyArtefact a = models::ReadPolicy(run_dir + "/policy.bin");
    try {
      bytes = models::ExportPolicyOnnx(a, {{"linklab.export_commit", core::GitCommit()}});
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(run_dir + "/policy.bin: " + e.what());
    }
    what = a.agent + " policy";
  } else if (fs::exists(run_dir + "/policy.unavailable")) {
    throw std::invalid_argument("export: " + run_dir + " has no policy artefact: " +
                                core::Trim(core::ReadFile(run_dir + "/policy.unavailable")));
  } else {
    throw std::invalid_argument("export: " + run_dir +
                                ": neither a run with a policy (policy.bin) nor a predictor run "
                                "(scaler.json and config.ini)");
  }
  // What is written must load here (and so in the live runner).
  const models::OnnxRuntime runtime(bytes, out);
  core::WriteFileAtomic(out, bytes);
  std::ostringstream line;
  line << "exported the " << what << " of " << run_dir << " to " << out << " (" << bytes.size()
       << " bytes, opset " << models::kOnnxOpset << ", input [batch";
  for (int64_t d : runtime.input_shape()) line << ", " << d;
  line << "], outputs";
  for (size_t i = 0; i < runtime.num_outputs(); ++i) line << " " << runtime.output_name(i);
  line << ")";
  return line.str();
}

std::string InspectOnnxFile(const std::string& path, bool full) {
  const models::OnnxSummary s = models::InspectOnnx(core::ReadFile(path), path);
  std::ostringstream o;
  o << path << "\n  producer: " << s.producer << "\n  ir_version: " << s.ir_version
    << ", opset: " << s.opset << "\n";
  for (const auto& i : s.inputs) o << "  input:  " << i << "\n";
  for (const auto& i : s.outputs) o << "  output: " << i << "\n";
  o << "  ops:";
  for (const auto& [op, n] : s.ops) o << " " << op << " x" << n;
  o << "\n  metadata:\n";
  for (const auto& [k, v] : s.metadata) {
    std::string shown = core::Printable(v, full ? v.size() + 1 : 200);
    for (char& c : shown) c = c == '\n' ? ' ' : c;
    o << "    " << k << " = " << shown << "\n";
  }
  return o.str();
}

}  // namespace linklab::experiments
