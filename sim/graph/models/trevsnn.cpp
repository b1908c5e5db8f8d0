#include "sim/graph/models/trevsnn.h"

#include <cmath>
#include <functional>

#include "sim/graph/neurons.h"
#include "sim/graph/ops/conv.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/ops/pooling.h"
#include "sim/graph/stepwise_op.h"

namespace snnsim {
namespace {

constexpr double kTimmStdEps = 1e-6;         // timm 0.6.13 ScaledStdConv2d
constexpr double kBatchNormEps = 1e-5;       // torch.nn.BatchNorm2d
constexpr float kAlphaMinMagnitude = 1e-3f;  // SubNet._clamp_abs

const NamedVariant<TrevsnnConfig> kVariants[] = {
    {"tiny", {false, {64, 128, 256, 384}, 4, 3, 1000, 224, 224}},
    {"small", {false, {96, 192, 384, 512}, 4, 3, 1000, 224, 224}},
    {"tiny_dvs", {true, {32, 64, 128, 256}, 8, 3, 1000, 128, 128}},
};

std::unique_ptr<LayerOp> conv(std::size_t in, std::size_t out, std::size_t kernel,
                              std::size_t stride, std::size_t padding, std::size_t groups,
                              bool bias, bool standardized) {
  Conv2dParameters p;
  p.in_channels = in;
  p.out_channels = out;
  p.kernel_h = p.kernel_w = kernel;
  p.stride_h = p.stride_w = stride;
  p.padding_h = p.padding_w = padding;
  p.groups = groups;
  p.bias = bias;
  if (standardized) p.standardize_eps = kTimmStdEps;
  return std::make_unique<Conv2d>(p);
}

std::unique_ptr<LayerOp> spikes() {
  return std::make_unique<ThresholdLayer>(1);
}

std::string column(std::size_t t) {
  return "subnet" + std::to_string(t);
}

/// Adds nodes to a ModelGraph, keeping its weight naming in step.
class Builder {
 public:
  Builder(ModelGraph& model, std::size_t timesteps) : model_(model), timesteps_(timesteps) {}

  std::size_t add(std::string name, std::unique_ptr<LayerOp> op, std::vector<std::size_t> inputs,
                  std::string prefix = "", std::vector<std::string> copies = {}) {
    LayerGraph& graph = *model_.graph;
    const std::size_t n = graph.add_node(std::move(name), std::move(op));
    for (std::size_t slot = 0; slot < inputs.size(); ++slot)
      graph.connect(inputs[slot], n, slot);
    model_.naming.prefixes.resize(n + 1);
    model_.naming.copies.resize(n + 1);
    model_.naming.prefixes[n] = std::move(prefix);
    model_.naming.copies[n] = std::move(copies);
    return n;
  }

  /// A node with an operator per column from `first` on: make() builds one, and column t loads
  /// its tensors under prefix(t).
  std::size_t per_column(std::string name, const std::function<std::unique_ptr<LayerOp>()>& make,
                         const std::function<std::string(std::size_t)>& prefix,
                         std::vector<std::size_t> inputs, std::size_t first = 0) {
    std::vector<std::unique_ptr<LayerOp>> ops(timesteps_);
    std::vector<std::string> prefixes(timesteps_);
    for (std::size_t t = first; t < timesteps_; ++t) {
      ops[t] = make();
      prefixes[t] = prefix(t);
    }
    const std::size_t n =
        add(std::move(name), std::make_unique<StepwiseOp>(std::move(ops), std::move(prefixes)),
            std::move(inputs));
    model_.graph->nodes()[n].first_step = first;
    return n;
  }

  GraphNode& node(std::size_t n) { return model_.graph->nodes()[n]; }

 private:
  ModelGraph& model_;
  std::size_t timesteps_;
};

std::size_t conv_output(std::size_t size, std::size_t kernel, std::size_t stride,
                        std::size_t padding) {
  return (size + 2 * padding - kernel) / stride + 1;
}

}  // namespace

TrevsnnConfig trevsnn_variant(std::string_view name) {
  return variant_named(kVariants, name, "T-RevSNN");
}

std::vector<std::string> trevsnn_variants() {
  return variant_names(kVariants);
}

ModelGraph build_trevsnn(const TrevsnnConfig& c) {
  if (c.channels.size() != 4) throw GraphError("T-RevSNN has 4 levels: expected 4 channel counts");
  if (c.kernel_size % 2 == 0)
    throw GraphError("kernel_size " + std::to_string(c.kernel_size) +
                     ": expected an odd size (padding k / 2 keeps the feature maps' size)");
  const std::size_t T = c.timesteps;
  const auto& C = c.channels;
  ModelGraph model;
  model.graph = std::make_unique<LayerGraph>(Shape{c.events ? 2u : 3u, c.height, c.width}, T);
  LayerGraph& graph = *model.graph;
  graph.set_constant_input(!c.events);
  Builder b(model, T);

  // Stem: for images once (MS_PatchEmbed), for events one per column (MS_PatchEmbed_DVS).
  std::size_t x = 0;
  std::size_t size_h = c.height, size_w = c.width;
  if (!c.events) {
    x = b.add("stem.down1", conv(3, C[0], 7, 2, 3, 1, true, true), {0}, "stem.down1.0");
    b.node(x).once = true;
    // leaky_relu(x, act_learn) with act_learn left at 1 (FullNet.change_act never reaches the
    // submodules): the identity.
    x = b.add("stem.down2", conv(C[0], C[0], 3, 2, 1, 1, true, true), {x}, "stem.down2.0");
    b.node(x).once = true;
    size_h = conv_output(conv_output(size_h, 7, 2, 3), 3, 2, 1);
    size_w = conv_output(conv_output(size_w, 7, 2, 3), 3, 2, 1);
  } else {
    x = b.per_column(
        "stem", [&] { return conv(2, C[0], 3, 1, 1, 1, true, true); },
        [](std::size_t t) { return "stem." + std::to_string(t) + ".down.0"; }, {0});
  }
  std::size_t heights[4], widths[4];
  heights[0] = size_h;
  widths[0] = size_w;
  for (std::size_t l = 1; l < 4; ++l) {
    heights[l] = l < 3 ? conv_output(heights[l - 1], 3, 2, 1) : heights[l - 1];
    widths[l] = l < 3 ? conv_output(widths[l - 1], 3, 2, 1) : widths[l - 1];
  }
  for (std::size_t l = 0; l < 2; ++l) {
    if (heights[l] != 2 * heights[l + 1] || widths[l] != 2 * widths[l + 1]) {
      throw GraphError("level " + std::to_string(l) + "'s feature maps are " +
                       std::to_string(heights[l]) + "x" + std::to_string(widths[l]) +
                       ", not twice level " + std::to_string(l + 1) +
                       "'s: the up path cannot add them; use an input size divisible by " +
                       std::to_string(c.events ? 4 : 16));
    }
  }

  // The level states of the column before, and their spikes, through delays: declared first,
  // their inputs connected once the levels exist.
  std::size_t previous_state[4] = {}, previous_spikes[4] = {};
  const bool recurrent = T > 1;
  for (std::size_t l = 0; l < 4 && recurrent; ++l) {
    const Shape shape{C[l], heights[l], widths[l]};
    previous_state[l] =
        b.add("c" + std::to_string(l) + ".prev", std::make_unique<Delay>(shape), {});
    if (l > 0) {
      previous_spikes[l] =
          b.add("s" + std::to_string(l) + ".prev", std::make_unique<Delay>(shape), {});
    }
  }
  std::size_t state[4] = {}, spiking[4] = {};
  const std::size_t k = c.kernel_size;
  for (std::size_t l = 0; l < 4; ++l) {
    const std::string level = "level" + std::to_string(l);
    const auto in_column = [level](std::string part) {
      return [level, part](std::size_t t) { return column(t) + "." + level + "." + part; };
    };
    // Fusion (column 0: the down path only): down from this column's level below (level 0 takes
    // the stem's output as it is), plus up from the level above in the column before.
    std::size_t fused = x;
    if (l > 0) {
      const std::size_t kernel = l < 3 ? 3 : 1, stride = l < 3 ? 2 : 1, padding = l < 3 ? 1 : 0;
      fused = b.per_column(
          level + ".down",
          [&] { return conv(C[l - 1], C[l], kernel, stride, padding, 1, false, false); },
          in_column("fusion.down.encode_conv"), {spiking[l - 1]});
      fused = b.per_column(level + ".down.bn",
                           [] { return std::make_unique<BatchNorm>(kBatchNormEps); },
                           in_column("fusion.down.encode_bn"), {fused});
    }
    if (l < 3 && recurrent) {
      std::size_t up = b.per_column(
          level + ".up", [&] { return conv(C[l + 1], C[l], 1, 1, 0, 1, false, false); },
          in_column("fusion.up.encode_conv"), {previous_spikes[l + 1]}, 1);
      up = b.per_column(
          level + ".up.bn", [] { return std::make_unique<BatchNorm>(kBatchNormEps); },
          in_column("fusion.up.encode_bn"), {up}, 1);
      if (l < 2) {
        up = b.add(level + ".up.upsample", std::make_unique<Upsample>(2), {up});
        b.node(up).first_step = 1;
      }
      fused = b.add(level + ".fusion", std::make_unique<Add>(), {up, fused});
    }
    // G_l: BlockA (MS_SpikeConvNextBlock, with gamma) then BlockB (_Reuse: its pwconv2 and
    // dwconv2 are one module for every column, which the state_dict repeats per column).
    std::size_t z = fused;
    for (std::size_t block = 0; block < 2; ++block) {
      const std::string name = level + ".block" + std::to_string(block);
      const std::string module = "blocks." + std::to_string(block) + ".";
      std::size_t y = b.add(name + ".sn1", spikes(), {z});
      y = b.per_column(name + ".dwconv1",
                       [&] { return conv(C[l], C[l], k, 1, k / 2, C[l], true, false); },
                       in_column(module + "dwconv1"), {y});
      y = b.per_column(name + ".pwconv1",
                       [&] { return conv(C[l], 4 * C[l], 1, 1, 0, 1, true, true); },
                       in_column(module + "pwconv1"), {y});
      y = b.add(name + ".sn2", spikes(), {y});
      if (block == 0) {
        y = b.per_column(name + ".pwconv2",
                         [&] { return conv(4 * C[l], C[l], 1, 1, 0, 1, true, true); },
                         in_column(module + "pwconv2"), {y});
        y = b.per_column(name + ".dwconv2",
                         [&] { return conv(C[l], C[l], k, 1, k / 2, C[l], true, false); },
                         in_column(module + "dwconv2"), {y});
        y = b.per_column(
            name + ".gamma",
            [] {
              return std::make_unique<ChannelScale>(ChannelScale::Options{"gamma", true});
            },
            in_column("blocks.0"), {y});
      } else {
        const auto copies = [&](const std::string& part) {
          std::vector<std::string> names;
          for (std::size_t t = 1; t < T; ++t)
            names.push_back(in_column(module + part)(t));
          return names;
        };
        y = b.add(name + ".pwconv2", conv(4 * C[l], C[l], 1, 1, 0, 1, true, true), {y},
                  in_column(module + "pwconv2_reuse")(0), copies("pwconv2_reuse"));
        y = b.add(name + ".dwconv2", conv(C[l], C[l], k, 1, k / 2, C[l], true, false), {y},
                  in_column(module + "dwconv2_reuse")(0), copies("dwconv2_reuse"));
      }
      z = b.add(name, std::make_unique<Add>(), {z, y});
    }
    // + alpha_l * c_l of the column before (column 0: none; its alphas are unused).
    const std::string c_name = "c" + std::to_string(l);
    if (recurrent) {
      const std::size_t leak = b.per_column(
          c_name + ".leak",
          [l] {
            return std::make_unique<ChannelScale>(
                ChannelScale::Options{"alpha" + std::to_string(l), true, kAlphaMinMagnitude});
          },
          [](std::size_t t) { return column(t); }, {previous_state[l]}, 1);
      z = b.add(c_name, std::make_unique<Add>(), {z, leak});
    } else {
      b.node(z).name = c_name;
    }
    state[l] = z;
    spiking[l] = b.add("s" + std::to_string(l), spikes(), {z});
  }
  for (std::size_t l = 0; l < 4 && recurrent; ++l) {
    graph.connect(state[l], previous_state[l], 0);
    if (l > 0) graph.connect(spiking[l], previous_spikes[l], 0);
  }
  model.naming.unused_prefixes.push_back("subnet0.alpha");

  // The head (SpikeClassifier) on the last column: SN -> mean over HW -> two 1x1 convolutions
  // (the leaky_relu between them the identity, as in the stem). Images: on c3, whose spikes s3
  // are; the three intermediate classifiers of training are not run. Events: on c3 / T.
  std::size_t head = spiking[3];
  std::string head_module = "cls_blocks.3.";
  if (c.events) {
    head = b.add("head.scale", ChannelScale::constant(1.0f / static_cast<float>(T)), {state[3]});
    b.node(head).final_step_only = true;
    head = b.add("head.sn", spikes(), {head});
    b.node(head).final_step_only = true;
    head_module = "cls_blocks.";
  } else {
    for (const char* training_head : {"cls_blocks.0.", "cls_blocks.1.", "cls_blocks.2."})
      model.naming.unused_prefixes.emplace_back(training_head);
  }
  Pool2dParameters mean;
  mean.kind = PoolKind::average;
  mean.kernel_h = mean.stride_h = heights[3];
  mean.kernel_w = mean.stride_w = widths[3];
  const std::size_t pooled = b.add("head.pool", std::make_unique<Pool2d>(mean), {head});
  const std::size_t classifier1 =
      b.add("head.classifier1", conv(C[3], c.classes, 1, 1, 0, 1, true, true), {pooled},
            head_module + "classifier1.0");
  const std::size_t classifier2 =
      b.add("head.classifier2", conv(c.classes, c.classes, 1, 1, 0, 1, true, true), {classifier1},
            head_module + "classifier2");
  const std::size_t logits = b.add("head", std::make_unique<Flatten>(), {classifier2});
  for (std::size_t n : {pooled, classifier1, classifier2, logits})
    b.node(n).final_step_only = true;
  graph.set_output(logits);
  graph.bind();
  return model;
}

std::array<Value, 4> trevsnn_previous_states(const LayerGraph& graph, std::size_t t,
                                             const Value& input,
                                             const std::array<Value, 4>& states) {
  if (t == 0 || t >= graph.timesteps())
    throw GraphError("column " + std::to_string(t) + " has no column before it to recompute");
  const auto node = [&graph](const std::string& name) {
    const int n = graph.find(name);
    if (n < 0) throw GraphError("not a T-RevSNN graph: no node " + name);
    return static_cast<std::size_t>(n);
  };
  std::array<Value, 4> previous;
  for (std::size_t level = 4; level-- > 0;) {
    const std::string l = std::to_string(level);
    std::vector<std::pair<std::size_t, Value>> given{{0, input}};
    if (level > 0) given.emplace_back(node("c" + std::to_string(level - 1)), states[level - 1]);
    if (level < 3) {
      // The up path's input: the spikes of the level above in column t - 1, just recomputed.
      const std::string above = std::to_string(level + 1);
      const std::size_t spikes = node("s" + above);
      given.emplace_back(
          node("s" + above + ".prev"),
          graph.evaluate_step(t - 1, {{node("c" + above), previous[level + 1]}}, {&spikes, 1})[0]);
    }
    const std::size_t block = node("level" + l + ".block1");
    const Value residual = graph.evaluate_step(t, std::move(given), {&block, 1})[0];
    const auto& leak = static_cast<const StepwiseOp&>(*graph.nodes()[node("c" + l + ".leak")].op);
    const std::vector<float>& alpha = static_cast<const ChannelScale&>(leak.at(t)).scale();
    for (std::size_t channel = 0; channel < alpha.size(); ++channel) {
      if (alpha[channel] == 0.0f) {
        throw GraphError("subnet" + std::to_string(t) + ".alpha" + l + " is 0 in channel " +
                         std::to_string(channel) + ": column " + std::to_string(t) +
                         " keeps nothing of c" + l + " before it, which cannot be recomputed");
      }
    }
    Value& c = previous[level];
    c = Value::analog(states[level].shape, 1, states[level].batch);
    const std::vector<float> now = states[level].densified();
    const std::size_t per_channel = c.features() / alpha.size();
    for (std::size_t i = 0; i < c.dense.size(); ++i) {
      const float a = alpha[(i % c.features()) / per_channel];
      c.dense[i] = (now[i] - residual.dense[i]) / a;
    }
  }
  return previous;
}

std::vector<std::array<double, 4>> trevsnn_inversion_errors(const LayerGraph& graph,
                                                            const Value& input) {
  std::vector<std::size_t> nodes;
  for (int l = 0; l < 4; ++l)
    nodes.push_back(static_cast<std::size_t>(graph.find("c" + std::to_string(l))));
  const GraphRun run = graph.run(input, false, false, nodes);
  const std::size_t T = graph.timesteps();
  const auto forward = [&](std::size_t l, std::size_t t) {
    return run.kept_values[nodes[l] - 1].step(t);
  };
  std::array<Value, 4> states;
  for (std::size_t l = 0; l < 4; ++l)
    states[l] = forward(l, T - 1);
  std::vector<std::array<double, 4>> errors(T - 1);
  for (std::size_t t = T - 1; t > 0; --t) {
    states = trevsnn_previous_states(graph, t, input.steps == 1 ? input : input.step(t), states);
    for (std::size_t l = 0; l < 4; ++l) {
      const std::vector<float> truth = forward(l, t - 1).dense;
      double largest = 0.0, difference = 0.0;
      for (std::size_t i = 0; i < truth.size(); ++i) {
        largest = std::max(largest, std::abs(static_cast<double>(truth[i])));
        difference =
            std::max(difference, std::abs(static_cast<double>(states[l].dense[i]) - truth[i]));
      }
      errors[t - 1][l] = largest > 0 ? difference / largest : difference;
    }
  }
  return errors;
}

}  // namespace snnsim
