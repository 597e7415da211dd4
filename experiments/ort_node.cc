#include "experiments/ort_node.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/files.h"
#include "core/text.h"

namespace linklab::experiments {

namespace {

namespace fs = std::filesystem;

std::string OrtDir() { return std::string(LINKLAB_SOURCE_DIR) + "/tools/ort"; }

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a shell command; returns stdout, throws with stderr's first lines on failure.
std::string Capture(const std::string& command) {
  const std::string err =
      fs::temp_directory_path() / ("linklab_ort_" + std::to_string(::getpid()) + ".err");
  std::FILE* p = ::popen((command + " 2>" + Quote(err)).c_str(), "r");
  if (!p) throw std::runtime_error("cannot start node");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  std::string message;
  if (fs::exists(err)) {
    message = core::ReadFile(err);
    fs::remove(err);
  }
  if (status != 0) {
    throw std::runtime_error("ONNX Runtime (tools/ort/ort.js) failed: " +
                             core::Printable(core::Trim(message), 400));
  }
  return out;
}

std::string DimsText(const std::vector<int64_t>& dims) {
  std::vector<std::string> parts;
  for (int64_t d : dims) parts.push_back(std::to_string(d));
  return core::Join(parts, ",");
}

}  // namespace

std::string OrtUnavailableReason() {
  if (std::system("node --version >/dev/null 2>&1") != 0) {
    return "node is not installed (scripts/setup.sh installs Debian's nodejs and npm)";
  }
  if (!fs::exists(OrtDir() + "/node_modules/onnxruntime-node/package.json")) {
    return "onnxruntime-node is not installed in tools/ort (run: cd tools/ort && npm ci "
           "--ignore-scripts; scripts/setup.sh does)";
  }
  if (std::system(("cd " + Quote(OrtDir()) +
                   " && node -e \"require('./node_modules/onnxruntime-node')\" >/dev/null 2>&1")
                      .c_str()) != 0) {
    return "onnxruntime-node does not load here (its CPU library for this platform is missing)";
  }
  return "";
}

std::map<std::string, std::vector<float>> OrtRun(const std::string& model,
                                                 const std::vector<float>& input,
                                                 const std::vector<int64_t>& dims,
                                                 const std::string& work_dir) {
  fs::create_directories(work_dir);
  const std::string in = work_dir + "/ort_input.f32", prefix = work_dir + "/ort_output";
  core::WriteFileAtomic(
      in, std::string(reinterpret_cast<const char*>(input.data()), input.size() * sizeof(float)));
  const std::string out = Capture("node " + Quote(OrtDir() + "/ort.js") + " run " + Quote(model) +
                                  " " + Quote(in) + " " + DimsText(dims) + " " + Quote(prefix));
  std::map<std::string, std::vector<float>> result;
  const nlohmann::json reply = nlohmann::json::parse(out);
  for (const auto& o : reply.at("outputs")) {
    const std::string name = o.at("name").get<std::string>();
    const std::string bytes = core::ReadFile(prefix + "." + name + ".f32");
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    result[name] = std::move(v);
  }
  return result;
}

core::Json OrtBench(const std::string& model, const std::vector<int64_t>& dims, double seconds) {
  const std::string out = Capture("node " + Quote(OrtDir() + "/ort.js") + " bench " + Quote(model) +
                                  " " + DimsText(dims) + " " + std::to_string(seconds));
  return core::Json::parse(out);
}

}  // namespace linklab::experiments
