#include "export/loihi2_graph.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "networks/layer_graph_file.h"
#include "networks/network_file.h"
#include "networks/safetensors.h"
#include "sim/atomic_write.h"
#include "sim/graph/layer_graph.h"
#include "sim/graph/neurons.h"
#include "sim/graph/ops/pooling.h"
#include "sim/units.h"

namespace snnsim::hardware {
namespace {

using nlohmann::ordered_json;

/// Why node n cannot be mapped, or nothing.
std::string loihi2_problem(const LayerGraphSpec& spec, std::size_t n) {
  const LayerGraph& graph = *spec.graph;
  const GraphNode& node = graph.nodes()[n];
  const std::string kind(node.op->kind());
  if (node.folded) return "";
  if (node.op->varies_with_step()) {
    return "an operator per timestep (each column of a T-RevSNN has its own weights): a Loihi 2 "
           "synapse holds one weight for every timestep";
  }
  if (node.first_step > 0) {
    return "runs from timestep " + std::to_string(node.first_step) +
           " on (zero before it): Loihi 2 cores run every layer at every timestep";
  }
  if (node.final_step_only) {
    return "runs at the last timestep only (a readout of the final state): Loihi 2 cores run every "
           "layer at every timestep";
  }
  if (kind == "add" || kind == "delay") {
    return "a node with " + std::string(kind == "add" ? "two inputs (a residual sum)" : "a delay") +
           ": only sequential chains of layers are quantised here";
  }
  static const char* kMapped[] = {"conv2d", "linear", "avgpool2d", "sumpool2d", "flatten", "if"};
  if (std::find(std::begin(kMapped), std::end(kMapped), kind) != std::end(kMapped)) return "";
  if (kind == "threshold") {
    return "a stateless threshold neuron (round(clamp(u, 0, 1)), T-RevSNN's SN): only `if` "
           "neurons, which integrate and reset, are mapped";
  }
  return "op " + kind +
         " has no fixed-point mapping here (conv2d, linear, avgpool2d, sumpool2d, flatten and if "
         "have)";
}

std::vector<std::string> loihi2_graph_problems(const LayerGraphSpec& spec) {
  std::vector<std::string> problems;
  const LayerGraph& graph = *spec.graph;
  for (std::size_t n = 1; n < graph.nodes().size(); ++n) {
    const GraphNode& node = graph.nodes()[n];
    if (const std::string why = loihi2_problem(spec, n); !why.empty()) {
      problems.push_back("node " + node.name + " (" + std::string(node.op->kind()) + "): " + why);
    } else if (node.inputs.size() != 1 || node.inputs[0] != n - 1) {
      problems.push_back("node " + node.name +
                         ": takes another input than the node before it: only sequential chains "
                         "of layers are quantised here");
    }
  }
  return problems;
}

class GraphQuantiser {
 public:
  GraphQuantiser(const std::filesystem::path& input, const std::filesystem::path& output)
      : input_(input), output_(output) {}

  GraphExport run() {
    // The ordinary loader validates everything (shapes, tensors) first, and evaluates the
    // numbers, which the file may write as expressions: they are read from its graph, and the
    // JSON text is only rewritten.
    const LayerGraphSpec checked = load_layer_graph_file(input_);
    if (const std::vector<std::string> problems = loihi2_graph_problems(checked);
        !problems.empty()) {
      throw NetworkFileError(input_.string() + ": " + problems.front() +
                             (problems.size() > 1
                                  ? " (and " + std::to_string(problems.size() - 1) +
                                        " more: snnsim export check --target loihi2)"
                                  : ""));
    }
    std::ifstream in(input_);
    std::stringstream text;
    text << in.rdbuf();
    ordered_json graph = ordered_json::parse(text.str());
    timesteps_ = static_cast<double>(checked.graph->timesteps());
    weights_path_ = checked.weights;
    SafetensorsFile weights(checked.weights);
    ordered_json& nodes = graph.at("nodes");
    for (std::size_t i = 0; i < nodes.size(); ++i)
      node(nodes[i], "/nodes/" + std::to_string(i), *checked.graph, weights);
    std::filesystem::path tensors_path = output_;
    tensors_path.replace_extension(".safetensors");
    write_safetensors(tensors_path, tensors_);
    graph["weights"] = tensors_path.filename().string();
    graph["description"] = "Loihi 2 fixed point of " + input_.string() +
                           " (snnsim export loihi2): integer weights, biases and thresholds";
    write_text_atomically(output_, graph.dump(2) + "\n");
    return std::move(result_);
  }

 private:
  void node(ordered_json& node, const std::string& where, const LayerGraph& graph,
            const SafetensorsFile& weights) {
    const std::string op = node.at("op").get<std::string>();
    const std::string name = node.at("name").get<std::string>();
    // The loaded node of the same name, whose numbers are evaluated.
    const LayerOp* layer = graph.nodes()[static_cast<std::size_t>(graph.find(name))].op.get();
    if (op == "conv2d" || op == "linear") {
      weighted(node, name, weights);
    } else if (op == "avgpool2d" || op == "sumpool2d") {
      const Pool2dParameters& pool = dynamic_cast<const Pool2d&>(*layer).parameters();
      const double window = static_cast<double>(pool.kernel_h * pool.kernel_w);
      bound_ *= window;
      if (op == "avgpool2d") {
        // A sum of k^2 integers stays an integer; the 1/k^2 moves to what the sum feeds.
        node["op"] = "sumpool2d";
        gain_ *= window;
        result_.notes.push_back(name + ": avgpool2d becomes sumpool2d; its 1/" +
                                message_number(window) +
                                " is folded into the threshold or weights that follow");
      }
    } else if (op == "if") {
      neuron(node, name, where, dynamic_cast<const LifLayer&>(*layer).parameters());
    }
  }

  /// Weights: an 8-bit signed mantissa times 2^e per layer, e the smallest exponent that holds
  /// the largest |w| (weightutils.py's mixed-sign range, -128 to 127). The input's gain g (integer
  /// units per float unit: k^2 after a sum pool) divides the weights first, so the layer's output
  /// is in units of 2^e: its gain becomes 2^-e.
  void weighted(ordered_json& node, const std::string& name, const SafetensorsFile& weights) {
    const std::string prefix = node.contains("weights") ? node["weights"].get<std::string>() : name;
    SafetensorsTensor w{weights.shape(prefix + ".weight"), weights.read_float(prefix + ".weight")};
    require_finite(prefix + ".weight", w.values);
    double largest = 0;
    for (float& x : w.values) {
      x = static_cast<float>(x / gain_);
      largest = std::max(largest, std::abs(static_cast<double>(x)));
    }
    if (!std::isfinite(largest))  // the exponent below would be undefined
      throw NetworkFileError(weights_path_.string() + ": tensor " + prefix +
                             ".weight: divided by the input's gain " + message_number(gain_) +
                             ", a weight overflows float32");
    int e = largest > 0 ? static_cast<int>(std::ceil(std::log2(largest / 127.0))) : 0;
    while (largest > 0 && std::round(largest / std::ldexp(1.0, e)) > 127)
      ++e;
    const double step = std::ldexp(1.0, e);
    double max_error = 0;
    // The largest |output| per step, per output: the input's bound times the output's sum of
    // |mantissa|, plus |bias|.
    const std::size_t outputs = w.shape[0], per_output = w.values.size() / outputs;
    std::vector<double> output_bound(outputs, 0.0);
    for (std::size_t i = 0; i < w.values.size(); ++i) {
      const double mantissa = std::clamp(std::round(w.values[i] / step), -128.0, 127.0);
      max_error = std::max(max_error, std::abs(mantissa * step - w.values[i]));
      w.values[i] = static_cast<float>(mantissa);
      output_bound[i / per_output] += bound_ * std::abs(mantissa);
    }
    tensors_.emplace_back(prefix + ".weight", w);
    const bool has_bias = !node.contains("bias") || node["bias"].get<bool>();
    double bias_error = 0;
    if (has_bias) {
      SafetensorsTensor b{weights.shape(prefix + ".bias"), weights.read_float(prefix + ".bias")};
      require_finite(prefix + ".bias", b.values);
      for (std::size_t o = 0; o < b.values.size(); ++o) {
        const double q = std::round(b.values[o] / step);
        bias_error = std::max(bias_error, std::abs(q * step - b.values[o]));
        b.values[o] = static_cast<float>(q);
        output_bound[o] += std::abs(q);
      }
      tensors_.emplace_back(prefix + ".bias", b);
    }
    bound_ = *std::max_element(output_bound.begin(), output_bound.end());
    gain_ = 1.0 / step;
    result_.layers.push_back(
        {name, e,
         "weights: 8-bit mantissa x 2^" + std::to_string(e) + ", max error " +
             message_number(max_error / step) + " LSB (" +
             message_number(100.0 * max_error / largest) + " % of the largest |w|)" +
             (has_bias ? ", bias error up to " + message_number(bias_error / step) + " LSB" : "")});
  }

  /// `if` neurons: the threshold in the input's integer units, round(v_threshold x gain), which
  /// Lava's 17-bit vth holds (its << 6 matches the activation's << 6). Exact while |v| stays
  /// below 2^24: |v| <= T x (largest input per step) + threshold.
  void neuron(ordered_json& node, const std::string& name, const std::string& where,
              const LifParameters& lif) {
    if (lif.v_reset && *lif.v_reset != 0.0)
      fail(where + "/v_reset", "only a soft reset or a reset to 0 has a fixed-point form");
    const double scaled = lif.v_threshold * gain_;
    const double q = std::round(scaled);
    if (q < 1 || q > 131071)
      fail(where + "/v_threshold", "the threshold in integer units, " + message_number(scaled) +
                                       ", is outside Lava's 17-bit vth (1 to 131071)");
    node["v_threshold"] = q;
    const double v_bound = timesteps_ * bound_ + q;
    result_.layers.push_back({name, 0,
                              "threshold " + message_number(q) + " (" + message_number(scaled) +
                                  " before rounding); |v| <= " + message_number(v_bound)});
    if (v_bound >= 16777216.0)
      result_.notes.push_back(name + ": |v| may reach 2^24, where float32 stops being exact");
    gain_ = 1.0;
    bound_ = 1.0;  // spikes are 0 or 1
  }

  [[noreturn]] void fail(const std::string& pointer, const std::string& what) const {
    throw NetworkFileError(input_.string() + ": " + pointer + ": " + what);
  }

  /// A NaN or infinite weight has no mantissa (and would make the exponent undefined).
  void require_finite(const std::string& tensor, const std::vector<float>& values) const {
    const auto bad =
        std::find_if(values.begin(), values.end(), [](float x) { return !std::isfinite(x); });
    if (bad != values.end())
      throw NetworkFileError(weights_path_.string() + ": tensor " + tensor + ": element " +
                             std::to_string(bad - values.begin()) + " is " + message_number(*bad) +
                             ", which has no fixed-point form");
  }

  std::filesystem::path input_, output_, weights_path_;
  double timesteps_ = 1;
  double gain_ = 1.0;   ///< integer units per float unit of the current signal
  double bound_ = 1.0;  ///< largest |value| of the current signal per step (input: 1)
  std::vector<std::pair<std::string, SafetensorsTensor>> tensors_;
  GraphExport result_;
};

}  // namespace

std::vector<std::string> loihi2_graph_problems(const std::filesystem::path& input) {
  return loihi2_graph_problems(load_layer_graph_file(input));
}

GraphExport quantise_layer_graph(const std::filesystem::path& input,
                                 const std::filesystem::path& output) {
  return GraphQuantiser(input, output).run();
}

}  // namespace snnsim::hardware
