// Layer graphs as NIR graphs (docs/export.md, "Exporting NIR"): one NIR node per operator, a
// timestep lasting dt. Neuron layers follow spikingjelly's discrete equations, which are NIR's
// Euler steps with tau = tau_steps dt (lif) or r = 1/dt (if).
#include <algorithm>
#include <map>
#include <set>

#include "export/nir_export.h"
#include "networks/layer_graph_file.h"
#include "sim/graph/ops/conv.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/ops/linear.h"
#include "sim/graph/ops/pooling.h"
#include "sim/version.h"

namespace snnsim::nir_export_detail {

namespace {

nir::Array integer_shape(const Shape& shape) {
  return nir::Array::integers(std::vector<std::int64_t>(shape.begin(), shape.end()));
}

class GraphTranslator {
 public:
  GraphTranslator(const LayerGraphSpec& spec, const NirExportOptions& options)
      : spec_(spec),
        graph_(*spec.graph),
        options_(options),
        dt_s_(options.dt_s.value_or(1e-3)),
        names_(graph_.nodes().size()),
        producers_(graph_.nodes().size()) {}

  /// The graph is always built (its weights are in memory already), so that the problems found
  /// while connecting it (an add of a node to itself) are listed too.
  Translation run() {
    if (spec_.encoder.kind != EncoderKind::direct && spec_.encoder.kind != EncoderKind::sequence) {
      problem("input",
              "the " + std::string(encoder_name(spec_.encoder.kind)) +
                  " encoder: NIR's Input takes the encoded values, not the encoder",
              "");
    }
    taken_ = {"input", "output"};
    names_[0] = "input";
    for (std::size_t n = 1; n < graph_.nodes().size(); ++n) {
      names_[n] = node_name(graph_.nodes()[n].name, taken_);
    }
    for (std::size_t n = 1; n < graph_.nodes().size(); ++n)
      translate_node(n);
    if (translation_.result.dense_weights > options_.dense_limit) {
      problem("nodes",
              "weights of " + std::to_string(translation_.result.dense_weights) +
                  " elements in all, above the limit of " + std::to_string(options_.dense_limit),
              "");
    }
    connect();
    return std::move(translation_);
  }

 private:
  std::string element(std::size_t n) const {
    const GraphNode& node = graph_.nodes()[n];
    return "nodes/" + std::to_string(n - 1) + " '" + node.name + "' (" +
           std::string(node.op->kind()) + ")";
  }
  void problem(std::string element, std::string what, std::string approximation) {
    translation_.problems.push_back(
        {std::move(element), std::move(what), std::move(approximation)});
  }
  void add(std::size_t n, nir::Node node) {
    translation_.result.graph.nodes[names_[n]] = std::move(node);
  }
  /// A float64 array with the node's output shape, every element `value`.
  nir::Array per_element(std::size_t n, double value) const {
    const Shape& shape = graph_.nodes()[n].shape;
    return filled64(element_count(shape), value, shape);
  }

  void translate_node(std::size_t n) {
    const GraphNode& node = graph_.nodes()[n];
    const std::string kind(node.op->kind());
    // Schedules NIR has no word for (a `once` node fed a constant input gives the same value
    // at every step, which NIR computes again: exact).
    if (node.folded) return;  // a BatchNorm or scale in the weights of its input
    if (node.op->varies_with_step()) {
      problem(element(n),
              "an operator per timestep (each column of a T-RevSNN has its own weights): a NIR "
              "node has one set of parameters for all timesteps",
              "");
      return;
    }
    if (node.first_step > 0) {
      problem(element(n),
              "runs from timestep " + std::to_string(node.first_step) +
                  " on (zero before it): every NIR node runs at every timestep",
              "");
    }
    if (node.final_step_only) {
      problem(element(n),
              "runs at the last timestep only (a readout of the final state): every NIR node runs "
              "at every timestep, and Output gives every timestep's value",
              "");
    }
    const Shape& input = graph_.nodes()[node.inputs.at(0)].shape;
    if (kind == "conv2d") {
      const auto& conv = dynamic_cast<const Conv2d&>(*node.op);
      const Conv2dParameters& p = conv.parameters();
      translation_.result.dense_weights += conv.weight().size();
      add(n, {"Conv2d",
              {{"weight", nir::Array::floats(
                              {conv.weight().begin(), conv.weight().end()},
                              {p.out_channels, p.in_channels / p.groups, p.kernel_h, p.kernel_w})},
               {"bias", nir::Array::floats({conv.bias().begin(), conv.bias().end()})},
               {"input_shape", pair64(input.at(1), input.at(2))},
               {"stride", pair64(p.stride_h, p.stride_w)},
               {"padding", pair64(p.padding_h, p.padding_w)},
               {"dilation", pair64(1, 1)},
               {"groups", nir::Array::scalar(static_cast<std::int64_t>(p.groups))}},
              {},
              {}});
    } else if (kind == "linear") {
      const auto& linear = dynamic_cast<const Linear&>(*node.op);
      const LinearParameters& p = linear.parameters();
      if (input.size() != 1) {
        problem(element(n),
                "a linear layer applied per token to [" + shape_string(input) +
                    "]: NIR's Affine takes a vector",
                "");
        return;
      }
      translation_.result.dense_weights += linear.weight().size();
      nir::Node out{"Linear",
                    {{"weight", nir::Array::floats({linear.weight().begin(), linear.weight().end()},
                                                   {p.out_features, p.in_features})}},
                    {},
                    {}};
      const auto& bias = linear.bias();
      if (std::any_of(bias.begin(), bias.end(), [](float b) { return b != 0; })) {
        out.type = "Affine";
        out.fields["bias"] = nir::Array::floats({bias.begin(), bias.end()});
      }
      add(n, std::move(out));
    } else if (kind == "sumpool2d" || kind == "avgpool2d") {
      const Pool2dParameters& p = dynamic_cast<const Pool2d&>(*node.op).parameters();
      add(n, {kind == "sumpool2d" ? "SumPool2d" : "AvgPool2d",
              {{"kernel_size", pair64(p.kernel_h, p.kernel_w)},
               {"stride", pair64(p.stride_h, p.stride_w)},
               {"padding", pair64(p.padding_h, p.padding_w)}},
              {},
              {}});
    } else if (kind == "global_avgpool") {
      // An average over the whole map, then [C, 1, 1] flattened to [C]: exactly the layer.
      pooled_[n] = node_name(node.name + "_pool", taken_);
      translation_.result.graph.nodes[pooled_[n]] = {
          "AvgPool2d",
          {{"kernel_size", pair64(input.at(1), input.at(2))},
           {"stride", pair64(input.at(1), input.at(2))},
           {"padding", pair64(0, 0)}},
          {},
          {}};
      add(n, flatten({input.at(0), 1, 1}));
    } else if (kind == "flatten") {
      add(n, flatten(input));
    } else if (kind == "scale") {
      const auto& scale = dynamic_cast<const ChannelScale&>(*node.op).scale();
      const std::size_t per_channel = element_count(input) / scale.size();
      std::vector<double> values;
      for (float s : scale)
        values.insert(values.end(), per_channel, s);
      add(n, {"Scale", {{"scale", nir::Array::floats(std::move(values), input)}}, {}, {}});
    } else if (kind == "add") {
      // No node: NIR sums the edges into a node.
    } else if (kind == "delay") {
      add(n, {"Delay", {{"delay", per_element(n, dt_s_)}}, {}, {}});
    } else if (kind == "lif" || kind == "if") {
      translate_neuron(n, dynamic_cast<const LifLayer&>(*node.op));
    } else if (kind == "threshold") {
      // round(clamp(u, 0, 1)), rounding half to even, is 1 exactly when u > 0.5.
      add(n, {"Threshold", {{"threshold", per_element(n, 0.5)}}, {}, {}});
    } else {
      problem(element(n), "NIR has no " + kind + " operator", "");
    }
  }

  nir::Node flatten(const Shape& input) const {
    return {"Flatten",
            {{"start_dim", nir::Array::scalar(0)},
             {"end_dim", nir::Array::scalar(-1)},
             {"input_type", integer_shape(input)}},
            {},
            {}};
  }

  void translate_neuron(std::size_t n, const LifLayer& layer) {
    const LifParameters& p = layer.parameters();
    nir::Node node;
    const bool soft = !p.v_reset.has_value();
    const double reset = p.v_reset.value_or(0.0);
    if (soft) {
      problem(element(n), "soft reset (v <- v - v_threshold): NIR resets to v_reset",
              "v_reset = 0, the node's metadata saying reset = \"subtract\"");
      node.metadata["reset"] = std::string("subtract");
    }
    if (layer.leaky()) {
      node.type = "LIF";
      node.fields["tau"] = per_element(n, p.tau * dt_s_);
      node.fields["r"] = per_element(n, p.decay_input ? 1.0 : p.tau);
      node.fields["v_leak"] = per_element(n, reset);
      node.fields["v_threshold"] = per_element(n, p.v_threshold);
      node.fields["v_reset"] = per_element(n, reset);
    } else {
      // NIR's IF starts at 0 and spikingjelly's at v_reset: measured from v_reset, they agree.
      node.type = "IF";
      node.fields["r"] = per_element(n, 1 / dt_s_);
      node.fields["v_threshold"] = per_element(n, p.v_threshold - reset);
      node.fields["v_reset"] = per_element(n, 0.0);
    }
    add(n, std::move(node));
  }

  /// The NIR nodes whose outputs sum to node n's output.
  const std::vector<std::string>& producers(std::size_t n) {
    std::vector<std::string>& out = producers_[n];
    if (!out.empty()) return out;
    const GraphNode& node = graph_.nodes()[n];
    const std::string kind = n == 0 ? "" : std::string(node.op->kind());
    if (kind == "add" || node.folded) {
      for (std::size_t input : node.inputs) {
        const auto& more = producers(input);
        out.insert(out.end(), more.begin(), more.end());
      }
    } else {
      out = {names_[n]};
    }
    return out;
  }

  void edge(const std::string& from, const std::string& to,
            std::set<std::pair<std::string, std::string>>& seen, std::size_t n) {
    if (!seen.emplace(from, to).second) {
      problem(element(n), "adds the output of " + from + " to itself: NIR sums distinct edges", "");
      return;
    }
    translation_.result.graph.edges.emplace_back(from, to);
  }

  void connect() {
    nir::Graph& graph = translation_.result.graph;
    std::set<std::pair<std::string, std::string>> seen;
    graph.nodes["input"] = {"Input", {{"shape", integer_shape(graph_.input_shape())}}, {}, {}};
    for (std::size_t n = 1; n < graph_.nodes().size(); ++n) {
      if (graph.nodes.count(names_[n]) == 0) continue;  // add, folded batchnorm
      const auto pooled = pooled_.find(n);
      const std::string& first = pooled == pooled_.end() ? names_[n] : pooled->second;
      for (std::size_t input : graph_.nodes()[n].inputs) {
        for (const std::string& from : producers(input))
          edge(from, first, seen, n);
      }
      if (pooled != pooled_.end()) edge(first, names_[n], seen, n);
    }
    const std::size_t output = static_cast<std::size_t>(graph_.find(graph_.output().name));
    graph.nodes["output"] = {"Output", {{"shape", integer_shape(graph_.output().shape)}}, {}, {}};
    for (const std::string& from : producers(output))
      edge(from, "output", seen, output);
    graph.metadata["dt"] = scalar64(dt_s_);
    graph.metadata["time_unit"] = std::string("s");
    graph.metadata["kind"] = std::string("layer_graph");
    graph.metadata["timesteps"] = nir::Array::scalar(static_cast<std::int64_t>(graph_.timesteps()));
    graph.metadata["encoder"] = std::string(encoder_name(spec_.encoder.kind));
    graph.metadata["source"] = std::string("snnsim ") + kVersion;
    graph.metadata["network"] = std::filesystem::path(spec_.path).filename().string();
  }

  const LayerGraphSpec& spec_;
  const LayerGraph& graph_;
  const NirExportOptions& options_;
  double dt_s_;
  Translation translation_;
  std::vector<std::string> taken_;
  std::vector<std::string> names_;  ///< per graph node, its NIR node's name
  std::vector<std::vector<std::string>> producers_;
  std::map<std::size_t, std::string> pooled_;  ///< global_avgpool nodes: their AvgPool2d's name
};

}  // namespace

Translation translate_layer_graph(const std::filesystem::path& network_file,
                                  const NirExportOptions& options) {
  const LayerGraphSpec spec = load_layer_graph_file(network_file);
  return GraphTranslator(spec, options).run();
}

}  // namespace snnsim::nir_export_detail
