#include "agents/torch_nets.h"

#include <dlfcn.h>
#include <link.h>
#include <torch/version.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "agents/runtime_info.h"
#include "agents/torch_mlp.h"

namespace linklab::agents {

int ParamSet::AddMlp(const MlpSpec& spec, Init init, double out_gain) {
  if (flat_.defined()) throw std::logic_error("ParamSet::AddMlp after Finalize");
  if (spec.sizes.size() < 2) throw std::logic_error("an MLP needs input and output sizes");
  mlps_.push_back({spec, init, out_gain, 0, {}});
  return static_cast<int>(mlps_.size()) - 1;
}

int ParamSet::AddTensor(std::vector<int64_t> shape, float value) {
  if (flat_.defined()) throw std::logic_error("ParamSet::AddTensor after Finalize");
  tensors_.push_back({std::move(shape), value, 0, {}});
  return static_cast<int>(tensors_.size()) - 1;
}

torch::Tensor ParamSet::Bind(int64_t offset, const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  torch::Tensor leaf = torch::empty(shape);
  leaf.set_data(flat_.narrow(0, offset, n).view(shape));
  leaf.set_requires_grad(true);
  // Gradients accumulate in place into the flat gradient buffer.
  leaf.mutable_grad() = grad_.narrow(0, offset, n).view(shape);
  return leaf;
}

void ParamSet::Finalize() {
  int64_t total = 0;
  for (auto& m : mlps_) {
    m.offset = total;
    total += m.spec.num_params();
  }
  for (auto& t : tensors_) {
    t.offset = total;
    int64_t n = 1;
    for (auto d : t.shape) n *= d;
    total += n;
  }
  flat_ = torch::zeros({total});
  grad_ = torch::zeros({total});
  torch::NoGradGuard no_grad;
  for (auto& m : mlps_) {
    int64_t off = m.offset;
    const size_t layers = m.spec.sizes.size() - 1;
    for (size_t l = 0; l < layers; ++l) {
      const int64_t n_in = m.spec.sizes[l], n_out = m.spec.sizes[l + 1];
      Layer layer{Bind(off, {n_out, n_in}), Bind(off + n_out * n_in, {n_out})};
      off += n_out * n_in + n_out;
      if (m.init == Init::kOrthogonal) {
        const double gain = l + 1 < layers ? std::sqrt(2.0) : m.out_gain;
        torch::nn::init::orthogonal_(layer.weight, gain);
        layer.bias.zero_();
      } else {
        const double bound = 1.0 / std::sqrt(static_cast<double>(n_in));
        layer.weight.uniform_(-bound, bound);
        layer.bias.uniform_(-bound, bound);
      }
      m.layers.push_back(layer);
    }
  }
  for (auto& t : tensors_) {
    t.leaf = Bind(t.offset, t.shape);
    t.leaf.fill_(t.value);
  }
  flat_.mutable_grad() = grad_;
}

torch::Tensor ParamSet::Forward(int index, const torch::Tensor& x) const {
  const MlpEntry& m = mlps_[index];
  torch::Tensor h = x;
  for (size_t l = 0; l < m.layers.size(); ++l) {
    h = torch::linear(h, m.layers[l].weight, m.layers[l].bias);
    if (l + 1 < m.layers.size()) {
      h = m.spec.activation == Activation::kTanh ? torch::tanh(h) : torch::relu(h);
    }
  }
  return h;
}

const float* ParamSet::MlpData(int index) const {
  return flat_.data_ptr<float>() + mlps_[index].offset;
}

models::PolicyArtefact ParamSet::Artefact(int index, const std::string& agent,
                                          const envs::Space& observation_space,
                                          const envs::Space& action_space) const {
  models::PolicyArtefact a;
  a.agent = agent;
  a.observation_space = observation_space;
  a.action_space = action_space;
  a.network = spec(index);
  const float* p = MlpData(index);
  a.params.assign(p, p + a.network.num_params());
  return a;
}

double ParamSet::ClipGradNorm(double max_norm) {
  const double norm = grad_.norm().item<double>();
  if (max_norm > 0 && norm > max_norm) grad_.mul_(max_norm / (norm + 1e-6));
  return norm;
}

std::string ParamSet::Manifest() const {
  std::ostringstream out;
  for (size_t i = 0; i < mlps_.size(); ++i) {
    const auto& s = mlps_[i].spec;
    out << "mlp " << i << " " << ActivationName(s.activation) << " sizes";
    for (auto d : s.sizes) out << " " << d;
    out << "\n";
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    out << "tensor " << i << " shape";
    for (auto d : tensors_[i].shape) out << " " << d;
    out << "\n";
  }
  return out.str();
}

void ConfigureTorchThreads(int threads) {
  torch::set_num_threads(threads);
  // OpenBLAS (Debian's libopenblas0-pthread) starts its own threads; libtorch calls BLAS for
  // matrix products, and two pools fighting over two cores cost more than they give.
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(threads);
  }
}

core::Json TorchRuntimeInfo() {
  core::Json j = core::Json::object();
  j["libtorch_version"] = TORCH_VERSION;
  j["intra_op_threads"] = static_cast<int64_t>(torch::get_num_threads());
  // Every loaded library whose name mentions BLAS, resolved through symlinks.
  core::Json blas = core::Json::array();
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        const std::string name = info->dlpi_name ? info->dlpi_name : "";
        if (name.find("blas") != std::string::npos) {
          char resolved[4096];
          const char* path = realpath(name.c_str(), resolved) ? resolved : name.c_str();
          static_cast<core::Json*>(data)->push_back(std::string(path));
        }
        return 0;
      },
      &blas);
  j["blas_libraries"] = std::move(blas);
  using GetThreads = int (*)();
  if (auto fn = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))) {
    j["openblas_threads"] = static_cast<int64_t>(fn());
  }
  return j;
}

void SaveTensors(const std::string& path, const std::string& manifest,
                 const std::vector<torch::Tensor>& tensors) {
  torch::serialize::OutputArchive archive;
  archive.write("manifest", torch::tensor(std::vector<int64_t>(manifest.begin(), manifest.end())));
  for (size_t i = 0; i < tensors.size(); ++i) archive.write("t" + std::to_string(i), tensors[i]);
  archive.save_to(path);
}

namespace {
std::string FirstDifference(const std::string& want, const std::string& got) {
  std::istringstream a(want), b(got);
  std::string la, lb;
  while (true) {
    const bool ha = static_cast<bool>(std::getline(a, la));
    const bool hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return "";
    if (!ha) la = "(nothing)";
    if (!hb) lb = "(nothing)";
    if (la != lb) return "checkpoint has '" + lb + "', this model has '" + la + "'";
  }
}

// The first line of a libtorch error, without its backtrace.
std::string TorchReason(const c10::Error& e) {
  const std::string what = e.what_without_backtrace();
  return what.substr(0, what.find('\n'));
}
}  // namespace

void LoadTensors(const std::string& path, const std::string& expected_manifest,
                 std::vector<torch::Tensor> tensors) {
  torch::serialize::InputArchive archive;
  torch::Tensor m;
  try {
    archive.load_from(path);
    archive.read("manifest", m);
  } catch (const c10::Error& e) {
    throw std::runtime_error("cannot read checkpoint " + path +
                             " (truncated or not a libtorch archive): " + TorchReason(e));
  }
  std::string manifest;
  for (int64_t i = 0; i < m.numel(); ++i) manifest += static_cast<char>(m[i].item<int64_t>());
  if (manifest != expected_manifest) {
    throw std::runtime_error("checkpoint " + path + " is for another model shape: " +
                             FirstDifference(expected_manifest, manifest));
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < tensors.size(); ++i) {
    torch::Tensor t;
    try {
      archive.read("t" + std::to_string(i), t);
    } catch (const c10::Error& e) {
      throw std::runtime_error("cannot read checkpoint " + path + ": " + TorchReason(e));
    }
    if (!t.sizes().equals(tensors[i].sizes())) {
      throw std::runtime_error("checkpoint " + path + ": tensor " + std::to_string(i) +
                               " has shape " + c10::str(t.sizes()) + ", expected " +
                               c10::str(tensors[i].sizes()));
    }
    tensors[i].copy_(t);
  }
}

void LoadOptimizer(torch::optim::Optimizer& optimizer, const std::string& path) {
  try {
    torch::load(optimizer, path);
  } catch (const c10::Error& e) {
    throw std::runtime_error("cannot read optimizer state " + path +
                             " (truncated or not a libtorch archive): " + TorchReason(e));
  }
}

std::vector<float> TorchMlpForward(const models::MlpSpec& spec, const float* params,
                                   const float* in, int64_t rows) {
  torch::NoGradGuard no_grad;
  auto view = [](const float* p, std::vector<int64_t> shape) {
    return torch::from_blob(const_cast<float*>(p), shape, torch::kFloat32);
  };
  torch::Tensor x = view(in, {rows, spec.input_size()});
  const float* p = params;
  const size_t layers = spec.sizes.size() - 1;
  for (size_t l = 0; l < layers; ++l) {
    const int64_t n_in = spec.sizes[l], n_out = spec.sizes[l + 1];
    x = torch::nn::functional::linear(x, view(p, {n_out, n_in}), view(p + n_in * n_out, {n_out}));
    p += n_in * n_out + n_out;
    if (l + 1 < layers) x = spec.activation == Activation::kTanh ? torch::tanh(x) : torch::relu(x);
  }
  x = x.contiguous();
  return std::vector<float>(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
}

}  // namespace linklab::agents
