#include "networks/layer_graph_file.h"

#include <fstream>
#include <sstream>

#include "networks/graph_weights.h"
#include "networks/json_node.h"
#include "networks/model_families.h"
#include "sim/graph/neurons.h"
#include "sim/graph/nir_neurons.h"
#include "sim/graph/ops/conv.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/ops/layout.h"
#include "sim/graph/ops/linear.h"
#include "sim/graph/ops/pooling.h"
#include "sim/graph/ops/token_pruning.h"
#include "sim/graph/ops/transformer.h"
#include "sim/limits.h"

namespace snnsim {
namespace {

constexpr std::uint64_t kMaxSize = limits::kTensorElements;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw NetworkFileError(path.string() + ": cannot open the network file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::size_t size_of(const Node& node, const char* key, std::size_t fallback, std::uint64_t minimum,
                    const char* what) {
  if (!node.has(key)) return fallback;
  return node.at(key).whole_number(minimum, kMaxSize, what);
}

/// A kernel, stride or padding given as one number or as [height, width].
std::pair<std::size_t, std::size_t> pair_of(const Node& node, const char* key, std::size_t fallback,
                                            std::uint64_t minimum) {
  if (!node.has(key)) return {fallback, fallback};
  const Node value = node.at(key);
  if (value.value().is_array()) {
    if (value.size() != 2) value.fail("expected one number or [height, width]");
    return {value[0].whole_number(minimum, kMaxSize, key),
            value[1].whole_number(minimum, kMaxSize, key)};
  }
  const std::size_t both = value.whole_number(minimum, kMaxSize, key);
  return {both, both};
}

double real(const Node& node, const char* key, double fallback) {
  return node.has(key) ? node.at(key).quantity(Dimension::dimensionless) : fallback;
}

/// One entry of the operator table: the keys a node of this op may have besides the common
/// ones, and how to build it.
struct OpEntry {
  std::string_view name;
  std::initializer_list<std::string_view> keys;
  std::unique_ptr<LayerOp> (*build)(const Node& node, std::size_t timesteps);
};

std::unique_ptr<LayerOp> build_linear(const Node& n, std::size_t) {
  return std::make_unique<Linear>(
      LinearParameters{n.at("in_features").whole_number(1, kMaxSize, "in_features"),
                       n.at("out_features").whole_number(1, kMaxSize, "out_features"),
                       n.has("bias") ? n.at("bias").boolean() : true});
}

std::unique_ptr<LayerOp> build_conv(const Node& n, std::size_t) {
  Conv2dParameters p;
  p.in_channels = n.at("in_channels").whole_number(1, kMaxSize, "in_channels");
  p.out_channels = n.at("out_channels").whole_number(1, kMaxSize, "out_channels");
  std::tie(p.kernel_h, p.kernel_w) = pair_of(n, "kernel", 1, 1);
  std::tie(p.stride_h, p.stride_w) = pair_of(n, "stride", 1, 1);
  std::tie(p.padding_h, p.padding_w) = pair_of(n, "padding", 0, 0);
  p.groups = size_of(n, "groups", 1, 1, "groups");
  p.bias = n.has("bias") ? n.at("bias").boolean() : true;
  if (p.in_channels % p.groups || p.out_channels % p.groups) {
    n.at("groups").fail("expected a divisor of in_channels and out_channels");
  }
  return std::make_unique<Conv2d>(p);
}

template <PoolKind kKind>
std::unique_ptr<LayerOp> build_pool(const Node& n, std::size_t) {
  Pool2dParameters p;
  p.kind = kKind;
  std::tie(p.kernel_h, p.kernel_w) = pair_of(n, "kernel", 2, 1);
  std::tie(p.stride_h, p.stride_w) = pair_of(n, "stride", 0, 1);
  if (!n.has("stride")) std::tie(p.stride_h, p.stride_w) = std::pair(p.kernel_h, p.kernel_w);
  std::tie(p.padding_h, p.padding_w) = pair_of(n, "padding", 0, 0);
  return std::make_unique<Pool2d>(p);
}

LifParameters lif_parameters(const Node& n) {
  LifParameters p;
  p.tau = real(n, "tau", 2.0);
  if (p.tau <= 0) n.at("tau").fail("expected a positive time constant (in timesteps)");
  p.v_threshold = real(n, "v_threshold", 1.0);
  if (n.has("v_reset") && n.at("v_reset").value().is_null()) {
    p.v_reset.reset();
  } else {
    p.v_reset = real(n, "v_reset", 0.0);
  }
  p.decay_input = n.has("decay_input") ? n.at("decay_input").boolean() : true;
  return p;
}

/// A NIR neuron layer (sim/graph/nir_neurons.h): "dt" in seconds, "reset" "value" or "subtract".
template <NirModel kModel>
std::unique_ptr<LayerOp> build_nir_neuron(const Node& n, std::size_t) {
  const double dt = n.at("dt").quantity(Dimension::dimensionless);
  if (!(dt > 0)) n.at("dt").fail("expected a positive time step, in seconds");
  const bool subtract = n.has("reset") && n.at("reset").choice({"value", "subtract"}) == 1;
  return std::make_unique<NirNeuronLayer>(kModel, dt, subtract);
}

Shape shape_list(const Node& n) {
  const Node list = n.at("shape");
  list.require_array();
  Shape shape;
  for (std::size_t i = 0; i < list.size(); ++i)
    shape.push_back(list[i].whole_number(1, kMaxSize, "a dimension"));
  return shape;
}

std::vector<std::size_t> index_list(const Node& n) {
  const Node list = n.at("indices");
  list.require_array();
  std::vector<std::size_t> indices;
  for (std::size_t i = 0; i < list.size(); ++i)
    indices.push_back(list[i].whole_number(0, kMaxSize, "a token index"));
  return indices;
}

std::unique_ptr<LayerOp> build_append_tokens(const Node& n, std::size_t timesteps) {
  const bool per_step = n.has("per_timestep") && n.at("per_timestep").boolean();
  return std::make_unique<AppendTokens>(per_step ? timesteps : 1);
}

std::unique_ptr<LayerOp> build_top_tokens(const Node& n, std::size_t) {
  TopTokensParameters p;
  const Node ratio = n.at("keep_ratio");
  p.keep_ratio = ratio.quantity(Dimension::dimensionless);
  if (!(p.keep_ratio > 0.0 && p.keep_ratio <= 1.0))
    ratio.fail("keep ratio " + std::to_string(p.keep_ratio) + ": expected one in (0, 1]");
  if (n.has("criterion")) p.standardize = n.at("criterion").choice({"stata", "evit"}) == 0;
  return std::make_unique<TopTokens>(p);
}

std::unique_ptr<LayerOp> build_keep_tokens(const Node& n, std::size_t) {
  return std::make_unique<KeepTokens>(size_of(n, "trailing", 0, 0, "a number of rows"),
                                      n.has("fuse") && n.at("fuse").boolean());
}

/// "axis": an axis of the sample's shape, or "time" for the timesteps.
template <ReduceKind kKind>
std::unique_ptr<LayerOp> build_reduce(const Node& n, std::size_t) {
  const Node axis = n.at("axis");
  if (axis.value().is_string()) {
    axis.choice({"time"});
    return std::make_unique<Reduce>(kKind, Reduce::kTimesteps);
  }
  return std::make_unique<Reduce>(kKind, axis.whole_number(0, kMaxSize, "an axis or \"time\""));
}

template <Activation kActivation>
std::unique_ptr<LayerOp> build_activation(const Node&, std::size_t) {
  return std::make_unique<ActivationOp>(kActivation);
}

std::unique_ptr<LayerOp> build_attention(const Node& n, std::size_t) {
  return std::make_unique<Attention>(AttentionKind::softmax, size_of(n, "heads", 1, 1, "heads"),
                                     real(n, "scale", 0.0),
                                     n.has("masked") && n.at("masked").boolean());
}

std::unique_ptr<LayerOp> build_select(const Node& n, std::size_t) {
  return std::make_unique<Select>(n.at("axis").whole_number(0, kMaxSize, "an axis"),
                                  n.at("index").whole_number(0, kMaxSize, "an index"));
}

std::unique_ptr<LayerOp> build_position_embedding(const Node& n, std::size_t) {
  return std::make_unique<PositionEmbedding>(
      n.at("positions").whole_number(1, kMaxSize, "a number of positions"),
      n.at("dimension").whole_number(1, kMaxSize, "dimension"));
}

const OpEntry kOps[] = {
    {"linear", {"in_features", "out_features", "bias"}, &build_linear},
    {"conv2d",
     {"in_channels", "out_channels", "kernel", "stride", "padding", "groups", "bias"},
     &build_conv},
    {"maxpool2d", {"kernel", "stride", "padding"}, &build_pool<PoolKind::max>},
    {"avgpool2d", {"kernel", "stride", "padding"}, &build_pool<PoolKind::average>},
    {"sumpool2d", {"kernel", "stride", "padding"}, &build_pool<PoolKind::sum>},
    {"global_avgpool",
     {},
     [](const Node&, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<GlobalAveragePool>();
     }},
    {"upsample_nearest",
     {"scale"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<Upsample>(size_of(n, "scale", 2, 1, "scale"));
     }},
    {"add",
     {},
     [](const Node&, std::size_t) -> std::unique_ptr<LayerOp> { return std::make_unique<Add>(); }},
    {"scale",
     {},
     [](const Node&, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<ChannelScale>();
     }},
    {"batchnorm",
     {"eps", "axis"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<BatchNorm>(real(n, "eps", 1e-5),
                                          size_of(n, "axis", 0, 0, "an axis"));
     }},
    {"permute",
     {"order"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       const Node list = n.at("order");
       list.require_array();
       std::vector<std::size_t> order;
       for (std::size_t i = 0; i < list.size(); ++i)
         order.push_back(list[i].whole_number(0, kMaxSize, "an axis"));
       return std::make_unique<Permute>(std::move(order));
     }},
    {"mean", {"axis"}, &build_reduce<ReduceKind::mean>},
    {"sum", {"axis"}, &build_reduce<ReduceKind::sum>},
    {"select", {"axis", "index"}, &build_select},
    {"multiply",
     {},
     [](const Node&, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<Multiply>();
     }},
    {"flatten",
     {},
     [](const Node&, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<Flatten>();
     }},
    {"delay",
     {"shape"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<Delay>(shape_list(n));
     }},
    {"spike_attention",
     {"heads", "scale"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<Attention>(
           AttentionKind::spiking, size_of(n, "heads", 1, 1, "heads"), real(n, "scale", 0.125));
     }},
    {"attention", {"heads", "scale", "masked"}, &build_attention},
    {"layernorm",
     {"eps"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<LayerNorm>(real(n, "eps", 1e-5));
     }},
    {"gelu", {}, &build_activation<Activation::gelu>},
    {"relu", {}, &build_activation<Activation::relu>},
    {"tanh", {}, &build_activation<Activation::tanh>},
    {"softmax", {}, &build_activation<Activation::softmax>},
    {"embedding",
     {"vocabulary", "dimension"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<Embedding>(
           n.at("vocabulary").whole_number(1, kMaxSize, "vocabulary"),
           n.at("dimension").whole_number(1, kMaxSize, "dimension"));
     }},
    {"position_embedding", {"positions", "dimension"}, &build_position_embedding},
    {"token_gather",
     {"indices"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<TokenSelect>(index_list(n), 0);
     }},
    {"token_scatter",
     {"indices", "tokens"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<TokenSelect>(index_list(n),
                                            n.at("tokens").whole_number(1, kMaxSize, "tokens"));
     }},
    {"append_tokens", {"per_timestep"}, &build_append_tokens},
    {"anchor_scores",
     {},
     [](const Node&, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<AnchorScores>();
     }},
    {"top_tokens", {"keep_ratio", "criterion"}, &build_top_tokens},
    {"keep_tokens", {"trailing", "fuse"}, &build_keep_tokens},
    {"lif",
     {"tau", "v_threshold", "v_reset", "decay_input"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<LifLayer>(lif_parameters(n), true);
     }},
    {"if",
     {"v_threshold", "v_reset"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<LifLayer>(lif_parameters(n), false);
     }},
    {"threshold",
     {},
     [](const Node&, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<ThresholdLayer>(1);
     }},
    {"multilevel",
     {"levels"},
     [](const Node& n, std::size_t) -> std::unique_ptr<LayerOp> {
       return std::make_unique<ThresholdLayer>(
           static_cast<int>(n.at("levels").whole_number(1, 127, "the highest spike level D")));
     }},
    {"nir_lif", {"dt", "reset"}, &build_nir_neuron<NirModel::lif>},
    {"nir_if", {"dt", "reset"}, &build_nir_neuron<NirModel::if_>},
    {"nir_cuba_lif", {"dt", "reset"}, &build_nir_neuron<NirModel::cuba_lif>},
    {"nir_li", {"dt"}, &build_nir_neuron<NirModel::li>},
    {"nir_cuba_li", {"dt"}, &build_nir_neuron<NirModel::cuba_li>},
    {"nir_i", {"dt"}, &build_nir_neuron<NirModel::i>},
    {"nir_threshold",
     {},
     [](const Node&,
        std::size_t) -> std::unique_ptr<LayerOp> { return std::make_unique<NirThreshold>(); }},
    {"nir_scale",
     {},
     [](const Node&,
        std::size_t) -> std::unique_ptr<LayerOp> { return std::make_unique<NirScale>(); }},
    {"reshape",
     {"shape"},
     [](const Node& n, std::size_t)
         -> std::unique_ptr<LayerOp> { return std::make_unique<Reshape>(shape_list(n)); }},
    {"ternary",
     {},
     [](const Node&, std::size_t t)
         -> std::unique_ptr<LayerOp> { return std::make_unique<TernaryLayer>(t, false); }},
    {"elastic_bispike",
     {},
     [](const Node&, std::size_t t)
         -> std::unique_ptr<LayerOp> { return std::make_unique<TernaryLayer>(t, true); }},
};

class LayerGraphReader {
 public:
  LayerGraphReader(const json& root, std::string source, const LayerGraphOptions& options)
      : root_(root), source_(std::move(source)), options_(options) {}

  LayerGraphSpec read() {
    const Node top(root_, "", source_, scope_);
    check_format(top, "layer_graph");
    std::vector<std::string_view> keys{"format",     "version", "kind",   "description",
                                       "parameters", "input",   "weights"};
    const std::vector<std::string_view> own =
        top.has("model") ? model_family_keys(top)
                         : std::vector<std::string_view>{"timesteps", "nodes", "output"};
    keys.insert(keys.end(), own.begin(), own.end());
    if (top.has("model")) keys.push_back("model");
    top.allow_keys(keys);
    if (top.has("parameters")) {
      try {
        scope_ = evaluate_parameters(root_.at("parameters"), {});
      } catch (const QuantityError& error) {
        top.at("parameters").fail(error.what());
      }
    }
    LayerGraphSpec spec;
    spec.path = source_;
    if (top.has("description")) spec.description = top.at("description").string();
    // A language model's input has no fixed shape: its family builds it.
    const Shape shape =
        top.has("input") || !top.has("model") ? read_input(top.at("input"), spec.encoder) : Shape{};
    if (top.has("model")) {
      spec.model = top.at("model").string();
      ModelGraph model = build_model_family(top, shape, spec.encoder, options_.timesteps);
      spec.graph = std::move(model.graph);
      const std::filesystem::path folder = std::filesystem::path(source_).parent_path();
      spec.weights = folder / top.at("weights").string();
      if (top.has("vocab")) spec.vocabulary = folder / top.at("vocab").string();
      load_graph_weights(*spec.graph, spec.weights, model.naming);
      return spec;
    }
    std::size_t timesteps =
        top.at("timesteps").whole_number(1, limits::kTimesteps, "a number of timesteps");
    if (options_.timesteps) timesteps = *options_.timesteps;
    spec.graph = std::make_unique<LayerGraph>(shape, timesteps);
    LayerGraph& graph = *spec.graph;
    const Node nodes = top.at("nodes");
    nodes.require_array();
    if (nodes.size() == 0) nodes.fail("expected at least one node");
    std::vector<std::string> prefixes{""};
    std::vector<std::vector<std::string>> inputs;
    std::vector<Node> node_views;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const Node node = nodes[i];
      node_views.push_back(node);
      const std::string name = node.at("name").string();
      check_name(node.at("name"), name);
      if (graph.find(name) >= 0) node.at("name").fail("the name '" + name + "' is used twice");
      const std::string op = node.at("op").string();
      const OpEntry* entry = nullptr;
      std::vector<std::string> op_names;
      for (const OpEntry& candidate : kOps) {
        op_names.emplace_back(candidate.name);
        if (candidate.name == op) entry = &candidate;
      }
      if (entry == nullptr)
        node.at("op").fail("unknown op \"" + op + "\"; expected one of: " + join(op_names));
      std::vector<std::string_view> keys{"name", "op", "inputs", "weights"};
      keys.insert(keys.end(), entry->keys.begin(), entry->keys.end());
      allow(node, keys);
      graph.add_node(name, entry->build(node, timesteps));
      prefixes.push_back(node.has("weights") ? node.at("weights").string() : "");
      // Without "inputs", a node takes the previous node (or the graph input).
      std::vector<std::string> from;
      if (node.has("inputs")) {
        const Node list = node.at("inputs");
        list.require_array();
        for (std::size_t k = 0; k < list.size(); ++k)
          from.push_back(list[k].string());
      } else {
        from.push_back(i == 0 ? "input" : nodes[i - 1].at("name").string());
      }
      inputs.push_back(std::move(from));
    }
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const std::size_t to = i + 1;
      const Node where = node_views[i].has("inputs") ? node_views[i].at("inputs") : node_views[i];
      if (inputs[i].size() != graph.nodes()[to].op->arity()) {
        where.fail("expected " + std::to_string(graph.nodes()[to].op->arity()) +
                   " input(s); found " + std::to_string(inputs[i].size()));
      }
      for (std::size_t slot = 0; slot < inputs[i].size(); ++slot) {
        const int from = graph.find(inputs[i][slot]);
        if (from < 0) where.fail("no node called '" + inputs[i][slot] + "' (or 'input')");
        graph.connect(static_cast<std::size_t>(from), to, slot);
      }
    }
    const std::string output =
        top.has("output") ? top.at("output").string() : graph.nodes().back().name;
    const int out = graph.find(output);
    if (out < 0) top.at("output").fail("no node called '" + output + "'");
    graph.set_output(static_cast<std::size_t>(out));
    try {
      graph.bind();
    } catch (const GraphError& error) {
      throw NetworkFileError(source_ + ": /nodes: " + error.what());
    }
    if (top.has("weights")) {
      spec.weights = std::filesystem::path(source_).parent_path() / top.at("weights").string();
      load_graph_weights(graph, spec.weights, WeightNaming{prefixes, {}, {}});
    } else {
      for (const GraphNode& node : graph.nodes()) {
        if (node.op != nullptr && !node.op->weight_specs().empty()) {
          top.fail("missing required key 'weights': node " + node.name + " (" +
                   std::string(node.op->kind()) + ") has weights to load");
        }
      }
    }
    return spec;
  }

 private:
  /// The "input" key: the per-sample shape, and the encoder into `encoder`.
  static Shape read_input(const Node& input, EncoderSpec& encoder) {
    input.allow_keys({"shape", "encoder", "seed", "threshold", "split"});
    Shape shape;
    const Node shape_node = input.at("shape");
    shape_node.require_array();
    if (shape_node.size() == 0) shape_node.fail("expected a non-empty shape");
    for (std::size_t i = 0; i < shape_node.size(); ++i)
      shape.push_back(shape_node[i].whole_number(1, kMaxSize, "a dimension"));
    if (input.has("encoder")) {
      encoder.kind = static_cast<EncoderKind>(input.at("encoder").choice(
          {"direct", "rate", "latency", "delta", "event_frames", "sequence"}));
    }
    if (input.has("seed")) {
      encoder.seed = input.at("seed").whole_number(0, ~0ull >> 11, "a seed");
    }
    if (input.has("threshold")) {
      encoder.threshold = static_cast<float>(real(input, "threshold", 0.1));
      if (!(encoder.threshold > 0)) input.at("threshold").fail("expected a positive threshold");
    }
    if (input.has("split")) {
      encoder.split = static_cast<FrameSplit>(input.at("split").choice({"time", "count"}));
    }
    if (encoder.kind == EncoderKind::event_frames && (shape.size() != 3 || shape[0] != 2)) {
      shape_node.fail("event frames have the shape [2, height, width] (two polarities)");
    }
    return shape;
  }

  static void allow(const Node& node, const std::vector<std::string_view>& keys) {
    node.require_object();
    for (const auto& [key, unused] : node.value().items()) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
        std::vector<std::string> names(keys.begin(), keys.end());
        node.at(key).fail("unknown key '" + key + "' for this op; expected one of: " + join(names));
      }
    }
  }

  const json& root_;
  std::string source_;
  const LayerGraphOptions& options_;
  ParameterScope scope_;
};

}  // namespace

bool is_layer_graph_file(const std::filesystem::path& path) {
  const json root = parse_json(read_text(path), path.string());
  return root.is_object() && root.contains("kind") && root["kind"] == "layer_graph";
}

LayerGraphSpec load_layer_graph_file(const std::filesystem::path& path,
                                     const LayerGraphOptions& options) {
  const json root = parse_json(read_text(path), path.string());
  return LayerGraphReader(root, path.string(), options).read();
}

}  // namespace snnsim
