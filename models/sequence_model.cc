#include "models/sequence_model.h"

#include <torch/torch.h>

#include <filesystem>
#include <stdexcept>

#include "agents/torch_nets.h"
#include "core/files.h"
#include "core/text.h"
#include "models/mlp.h"

namespace linklab::models {

namespace {

using core::BoolParam;
using core::DoubleParam;
using core::IntParam;
using core::StringParam;

struct SequenceSpec {
  std::vector<std::string> cells;  // "lstm" or "gru", one per recurrent layer
  std::vector<int64_t> units;
  std::vector<int64_t> dense;  // ReLU layers after the last time step
  bool batchnorm = false;
  // Parallel branches instead of a stack: each recurrent layer reads the input, has its own
  // dense layers and output, and answers output_size / branches of the outputs (one horizon
  // each in a multi-horizon predictor); their outputs are concatenated in order.
  bool branches = false;
  double dropout = 0.2;
  double learning_rate = 1e-3;
  int torch_threads = 1;
};

// The network: recurrent layers (dropout after each in training), the last time step, dense
// ReLU layers, optional BatchNorm, a linear output; or, with `branches`, one such path of one
// recurrent layer per branch.
class SequenceNetImpl : public torch::nn::Module {
 public:
  SequenceNetImpl(const SequenceSpec& s, int64_t input_size, int64_t output_size)
      : dropout_(s.dropout) {
    const size_t paths = s.branches ? s.cells.size() : 1;
    if (s.branches && output_size % static_cast<int64_t>(paths) != 0) {
      throw std::invalid_argument(std::to_string(output_size) + " outputs for " +
                                  std::to_string(paths) +
                                  " branches: each branch answers an equal share (give as many "
                                  "horizons as branches)");
    }
    for (size_t b = 0; b < paths; ++b) {
      Path& p = paths_.emplace_back();
      const std::string tag = s.branches ? std::to_string(b) + "_" : "";
      int64_t in = input_size;
      const size_t first = s.branches ? b : 0, last = s.branches ? b + 1 : s.cells.size();
      for (size_t i = first; i < last; ++i) {
        const std::string name = "rnn" + std::to_string(i);
        if (s.cells[i] == "lstm") {
          p.lstm.push_back(register_module(
              name, torch::nn::LSTM(torch::nn::LSTMOptions(in, s.units[i]).batch_first(true))));
          p.gru.push_back(nullptr);
        } else {
          p.gru.push_back(register_module(
              name, torch::nn::GRU(torch::nn::GRUOptions(in, s.units[i]).batch_first(true))));
          p.lstm.push_back(nullptr);
        }
        in = s.units[i];
      }
      for (size_t i = 0; i < s.dense.size(); ++i) {
        p.dense.push_back(
            register_module("dense" + tag + std::to_string(i), torch::nn::Linear(in, s.dense[i])));
        in = s.dense[i];
      }
      if (s.batchnorm) p.bn = register_module("bn" + tag, torch::nn::BatchNorm1d(in));
      p.out = register_module("out" + tag,
                              torch::nn::Linear(in, output_size / static_cast<int64_t>(paths)));
    }
  }

  torch::Tensor forward(torch::Tensor input) {
    std::vector<torch::Tensor> outs;
    for (Path& p : paths_) {
      torch::Tensor x = input;
      for (size_t i = 0; i < p.lstm.size(); ++i) {
        x = p.lstm[i] ? std::get<0>(p.lstm[i]->forward(x)) : std::get<0>(p.gru[i]->forward(x));
        x = torch::dropout(x, dropout_, is_training());
      }
      x = x.select(1, -1);
      for (auto& d : p.dense) x = torch::relu(d->forward(x));
      if (p.bn) x = p.bn->forward(x);
      outs.push_back(p.out->forward(x));
    }
    return outs.size() == 1 ? outs[0] : torch::cat(outs, 1);
  }

  // The weights in torch's layouts (models/network.h).
  std::vector<SequencePathWeights> Weights() const {
    std::vector<SequencePathWeights> out;
    for (const Path& p : paths_) {
      SequencePathWeights& w = out.emplace_back();
      for (size_t i = 0; i < p.lstm.size(); ++i) {
        RecurrentWeights& r = w.recurrent.emplace_back();
        r.cell = p.lstm[i] ? "lstm" : "gru";
        const torch::nn::Module& m =
            p.lstm[i] ? static_cast<const torch::nn::Module&>(*p.lstm[i]) : *p.gru[i];
        const auto params = m.named_parameters(false);
        r.weight_ih = Floats(params["weight_ih_l0"]);
        r.weight_hh = Floats(params["weight_hh_l0"]);
        r.bias_ih = Floats(params["bias_ih_l0"]);
        r.bias_hh = Floats(params["bias_hh_l0"]);
        r.hidden = params["weight_hh_l0"].size(1);
        r.input = params["weight_ih_l0"].size(1);
      }
      for (const auto& d : p.dense) w.dense.push_back(Dense(d));
      if (p.bn) {
        w.batchnorm =
            BatchNormWeights{Floats(p.bn->weight), Floats(p.bn->bias), Floats(p.bn->running_mean),
                             Floats(p.bn->running_var), p.bn->options.eps()};
      }
      w.out = Dense(p.out);
    }
    return out;
  }

 private:
  static std::vector<float> Floats(const torch::Tensor& t) {
    const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  static DenseWeights Dense(const torch::nn::Linear& l) {
    return {l->weight.size(1), l->weight.size(0), Floats(l->weight), Floats(l->bias)};
  }

  struct Path {
    std::vector<torch::nn::LSTM> lstm;
    std::vector<torch::nn::GRU> gru;
    std::vector<torch::nn::Linear> dense;
    torch::nn::BatchNorm1d bn{nullptr};
    torch::nn::Linear out{nullptr};
  };
  double dropout_;
  std::vector<Path> paths_;
};
TORCH_MODULE(SequenceNet);

class SequenceModel : public Model {
 public:
  SequenceModel(std::string name, const SequenceSpec& spec, const ModelContext& c)
      : name_(std::move(name)), spec_(spec), context_(c), net_(nullptr) {
    if (c.input_size < 1 || c.window < 1 || c.output_size < 1) {
      throw std::invalid_argument("model " + name_ + ": input_size, window and output_size " +
                                  "must be >= 1 (got " + std::to_string(c.input_size) + ", " +
                                  std::to_string(c.window) + ", " + std::to_string(c.output_size) +
                                  ")");
    }
    if (c.loss != "mse" && c.loss != "mae") {
      throw std::invalid_argument("model " + name_ + ": loss '" + core::Printable(c.loss) +
                                  "': must be mse or mae");
    }
    agents::ConfigureTorchThreads(spec.torch_threads);
    torch::manual_seed(c.seed);
    if (spec.branches && static_cast<int64_t>(spec.cells.size()) != c.horizons) {
      throw std::invalid_argument("model " + name_ + ": " + std::to_string(spec.cells.size()) +
                                  " branches, one per horizon, for " + std::to_string(c.horizons) +
                                  " horizons (give [data] horizon_s as many)");
    }
    try {
      net_ = SequenceNet(spec, c.input_size, c.output_size);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("model " + name_ + ": " + e.what());
    }
    optimizer_ = std::make_unique<torch::optim::Adam>(
        net_->parameters(), torch::optim::AdamOptions(spec.learning_rate));
  }

  std::vector<float> Predict(const std::vector<float>& inputs, int64_t rows) override {
    torch::NoGradGuard no_grad;
    net_->eval();
    const torch::Tensor y = net_->forward(Inputs(inputs, rows)).contiguous();
    return std::vector<float>(y.data_ptr<float>(), y.data_ptr<float>() + y.numel());
  }

  core::Row Fit(const std::vector<float>& inputs, const std::vector<float>& targets,
                int64_t rows) override {
    if (spec_.batchnorm && rows < 2) {
      throw std::invalid_argument("model " + name_ +
                                  ": a training batch needs at least 2 rows (BatchNorm)");
    }
    if (static_cast<int64_t>(targets.size()) != rows * context_.output_size) {
      throw std::invalid_argument("model " + name_ + ": " + std::to_string(targets.size()) +
                                  " targets for " + std::to_string(rows) + " rows of " +
                                  std::to_string(context_.output_size));
    }
    net_->train();
    const torch::Tensor x = Inputs(inputs, rows);
    const torch::Tensor y = torch::from_blob(const_cast<float*>(targets.data()),
                                             {rows, context_.output_size}, torch::kFloat32);
    optimizer_->zero_grad();
    const torch::Tensor p = net_->forward(x);
    const torch::Tensor loss =
        context_.loss == "mae" ? torch::l1_loss(p, y) : torch::mse_loss(p, y);
    loss.backward();
    optimizer_->step();
    return {{"loss", loss.item<double>()}};
  }

  void Reseed(uint64_t seed) override { torch::manual_seed(seed); }

  SequenceNetWeights Weights() const override {
    return {name_, context_.window, context_.input_size, context_.output_size, net_->Weights()};
  }

  void Save(const std::string& dir) const override {
    std::filesystem::create_directories(dir);
    torch::save(net_, dir + "/" + name_ + "_params.pt");
    torch::save(*optimizer_, dir + "/" + name_ + "_optimizer.pt");
    core::WriteFileAtomic(dir + "/" + name_ + "_manifest.txt", Manifest());
  }

  // torch::load takes tensors of any shape: the manifest of names and shapes is compared first.
  void Load(const std::string& dir) override {
    const std::string manifest = dir + "/" + name_ + "_manifest.txt";
    for (const std::string& file :
         {manifest, dir + "/" + name_ + "_params.pt", dir + "/" + name_ + "_optimizer.pt"}) {
      if (!std::filesystem::exists(file)) {
        throw std::runtime_error(file + ": missing (not a " + name_ + " model?)");
      }
    }
    const std::vector<std::string> saved = core::Split(core::ReadFile(manifest), '\n');
    const std::vector<std::string> mine = core::Split(Manifest(), '\n');
    for (size_t i = 0; i < std::max(saved.size(), mine.size()); ++i) {
      const std::string a = i < saved.size() ? saved[i] : "(nothing)";
      const std::string b = i < mine.size() ? mine[i] : "(nothing)";
      if (a != b) {
        throw std::runtime_error(manifest + ": another shape: the file has '" + a +
                                 "', this model '" + b + "'");
      }
    }
    try {
      torch::load(net_, dir + "/" + name_ + "_params.pt");
      torch::load(*optimizer_, dir + "/" + name_ + "_optimizer.pt");
    } catch (const c10::Error& e) {
      throw std::runtime_error(dir + "/" + name_ + "_params.pt: does not match this model: " +
                               core::Printable(e.what_without_backtrace()).substr(0, 300));
    }
  }

 private:
  // One line per parameter and buffer: name and shape.
  std::string Manifest() const {
    std::string out;
    auto add = [&](const std::string& name, const torch::Tensor& t) {
      out += name + " [";
      for (int64_t d = 0; d < t.dim(); ++d) out += (d ? ", " : "") + std::to_string(t.size(d));
      out += "]\n";
    };
    for (const auto& p : net_->named_parameters()) add(p.key(), p.value());
    for (const auto& b : net_->named_buffers()) add(b.key(), b.value());
    return out;
  }

  torch::Tensor Inputs(const std::vector<float>& inputs, int64_t rows) const {
    const int64_t per_row = context_.window * context_.input_size;
    if (rows < 1 || static_cast<int64_t>(inputs.size()) != rows * per_row) {
      throw std::invalid_argument("model " + name_ + ": " + std::to_string(inputs.size()) +
                                  " inputs for " + std::to_string(rows) + " rows of " +
                                  std::to_string(context_.window) + " x " +
                                  std::to_string(context_.input_size));
    }
    return torch::from_blob(const_cast<float*>(inputs.data()),
                            {rows, context_.window, context_.input_size}, torch::kFloat32);
  }

  std::string name_;
  SequenceSpec spec_;
  ModelContext context_;
  SequenceNet net_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
};

std::vector<core::ParamSpec> CommonParams(int64_t window) {
  return {
      IntParam("window", window, "input window (steps) the model was designed for", 1, 100000),
      DoubleParam("dropout", 0.2, "dropout after each recurrent layer (training)", 0.0, 0.95),
      DoubleParam("learning_rate", 1e-3, "Adam learning rate", 0.0, 1.0),
      IntParam("torch_threads", 1, "libtorch/BLAS threads", 1, 256),
  };
}

SequenceSpec CommonSpec(const core::Params& p) {
  SequenceSpec s;
  s.dropout = p.Double("dropout");
  s.learning_rate = p.Double("learning_rate");
  s.torch_threads = static_cast<int>(p.Int("torch_threads"));
  return s;
}

// A fixed architecture from a source document.
void AddFixed(ModelRegistryType& registry, const std::string& name, const std::string& what,
              int64_t window, std::vector<int64_t> units, std::vector<int64_t> dense,
              bool batchnorm) {
  registry.Add({name, what, CommonParams(window),
                [name, units, dense, batchnorm](const core::Params& p, const ModelContext& c) {
                  SequenceSpec s = CommonSpec(p);
                  s.cells.assign(units.size(), "lstm");
                  s.units = units;
                  s.dense = dense;
                  s.batchnorm = batchnorm;
                  return std::make_unique<SequenceModel>(name, s, c);
                }});
}

}  // namespace

void RegisterSequenceModels(ModelRegistryType& registry) {
  if (registry.Has("rnn")) return;
  AddFixed(registry, "pba_v1",
           "source 002: LSTM 128 -> LSTM 64 -> Dense 32 ReLU -> BatchNorm -> out (window 10)", 10,
           {128, 64}, {32}, true);
  AddFixed(registry, "pba_v3_datacenter",
           "source 003, datacenter mode: LSTM 128 -> LSTM 64 -> Dense 32 ReLU -> BatchNorm -> "
           "out (window 30)",
           30, {128, 64}, {32}, true);
  AddFixed(registry, "pba_v3_internet",
           "source 003, internet mode: LSTM 256 -> LSTM 128 -> Dense 32 ReLU -> BatchNorm -> out "
           "(window 60)",
           60, {256, 128}, {32}, true);
  AddFixed(registry, "traffic_v1",
           "source 001: LSTM 64 -> LSTM 32 -> Dense 16 ReLU -> out (window 24)", 24, {64, 32}, {16},
           false);
  registry.Add({"multi_horizon",
                "source 000: one branch per horizon, short LSTM 64, medium GRU 64, long LSTM 64, "
                "each -> Dense 32 ReLU -> out (window 60; [data] horizon_s lists three)",
                CommonParams(60), [](const core::Params& p, const ModelContext& c) {
                  SequenceSpec s = CommonSpec(p);
                  s.cells = {"lstm", "gru", "lstm"};
                  s.units = {64, 64, 64};
                  s.dense = {32};
                  s.branches = true;
                  return std::make_unique<SequenceModel>("multi_horizon", s, c);
                }});
  std::vector<core::ParamSpec> params = CommonParams(10);
  params.push_back(StringParam("cells", "lstm,lstm", "recurrent layers: lstm or gru each"));
  params.push_back(StringParam("units", "128,64", "units per recurrent layer"));
  params.push_back(StringParam("dense", "32", "ReLU layer sizes after the last time step"));
  params.push_back(BoolParam("batchnorm", true, "BatchNorm before the output"));
  registry.Add({"rnn", "LSTM/GRU layers, dense ReLU layers, optional BatchNorm: any shape", params,
                [](const core::Params& p, const ModelContext& c) {
                  SequenceSpec s = CommonSpec(p);
                  for (const std::string& cell : core::Split(p.String("cells"), ',')) {
                    const std::string t = core::Trim(cell);
                    if (t != "lstm" && t != "gru") {
                      throw std::invalid_argument("model rnn: cells = '" + p.String("cells") +
                                                  "': '" + core::Printable(t) +
                                                  "' is neither lstm nor gru");
                    }
                    s.cells.push_back(t);
                  }
                  s.units = ParseHiddenSizes(p.String("units"), "model rnn: units");
                  if (s.units.size() != s.cells.size() || s.units.empty()) {
                    throw std::invalid_argument("model rnn: " + std::to_string(s.cells.size()) +
                                                " cells and " + std::to_string(s.units.size()) +
                                                " units: one unit count per recurrent layer");
                  }
                  s.dense = p.String("dense").empty()
                                ? std::vector<int64_t>{}
                                : ParseHiddenSizes(p.String("dense"), "model rnn: dense");
                  s.batchnorm = p.Bool("batchnorm");
                  return std::make_unique<SequenceModel>("rnn", s, c);
                }});
}

}  // namespace linklab::models
