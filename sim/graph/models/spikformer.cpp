#include "sim/graph/models/spikformer.h"

#include "sim/graph/neurons.h"
#include "sim/graph/nir_neurons.h"
#include "sim/graph/ops/conv.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/ops/layout.h"
#include "sim/graph/ops/linear.h"
#include "sim/graph/ops/pooling.h"
#include "sim/graph/ops/transformer.h"

namespace snnsim {
namespace {

constexpr double kBatchNormEps = 1e-5;  // torch.nn.BatchNorm1d / 2d

const NamedVariant<SpikformerConfig> kVariants[] = {
    {"cifar", {384, 4, 12, 4, 4, 3, 10, 32, 32}},
};

/// spikingjelly's MultiStepLIFNode(tau=2.0, detach_reset=True): hard reset to 0, decay_input.
std::unique_ptr<LayerOp> lif(double threshold = 1.0) {
  LifParameters p;
  p.tau = 2.0;
  p.v_threshold = threshold;
  p.v_reset = 0.0;
  p.decay_input = true;
  return std::make_unique<LifLayer>(p, true);
}

/// Adds nodes in a chain, keeping the weight naming in step.
class Chain {
 public:
  explicit Chain(ModelGraph& model) : model_(model) {}
  /// `op` fed by `inputs` (default: the node added last); its tensors under `prefix`.
  std::size_t add(std::string name, std::unique_ptr<LayerOp> op, std::string prefix = "",
                  std::vector<std::size_t> inputs = {}) {
    LayerGraph& graph = *model_.graph;
    if (inputs.empty()) inputs = {last_};
    const std::size_t n = graph.add_node(std::move(name), std::move(op));
    for (std::size_t slot = 0; slot < inputs.size(); ++slot)
      graph.connect(inputs[slot], n, slot);
    model_.naming.prefixes.resize(n + 1);
    model_.naming.prefixes[n] = std::move(prefix);
    return last_ = n;
  }
  /// Linear (biased), BatchNorm1d over the tokens' channels, LIF: the unit of SSA and MLP.
  std::size_t linear_bn_lif(const std::string& name, const std::string& module, std::size_t in,
                            std::size_t out, std::size_t from, double threshold = 1.0) {
    add(name + "_linear", std::make_unique<Linear>(LinearParameters{in, out, true}),
        module + "_linear", {from});
    add(name + "_bn", std::make_unique<BatchNorm>(kBatchNormEps, 1), module + "_bn");
    return add(name + "_lif", lif(threshold));
  }
  std::size_t last() const { return last_; }

 private:
  ModelGraph& model_;
  std::size_t last_ = 0;
};

std::unique_ptr<LayerOp> conv3x3(std::size_t in, std::size_t out) {
  Conv2dParameters p;
  p.in_channels = in;
  p.out_channels = out;
  p.kernel_h = p.kernel_w = 3;
  p.padding_h = p.padding_w = 1;
  p.bias = false;
  return std::make_unique<Conv2d>(p);
}

std::unique_ptr<LayerOp> maxpool() {
  Pool2dParameters p;
  p.kind = PoolKind::max;
  p.kernel_h = p.kernel_w = 3;
  p.stride_h = p.stride_w = 2;
  p.padding_h = p.padding_w = 1;
  return std::make_unique<Pool2d>(p);
}

}  // namespace

SpikformerConfig spikformer_variant(std::string_view name) {
  return variant_named(kVariants, name, "Spikformer");
}

std::vector<std::string> spikformer_variants() {
  return variant_names(kVariants);
}

ModelGraph build_spikformer(const SpikformerConfig& c) {
  const std::size_t D = c.embed_dims;
  if (D % 8 != 0)
    throw GraphError("embed_dims " + std::to_string(D) + ": expected a multiple of 8");
  if (D % c.heads != 0) {
    throw GraphError("embed_dims " + std::to_string(D) + " is not a multiple of the " +
                     std::to_string(c.heads) + " heads");
  }
  if (c.height % 4 != 0 || c.width % 4 != 0) {
    throw GraphError("an input of " + std::to_string(c.height) + "x" + std::to_string(c.width) +
                     ": SPS's two max-pools need sizes divisible by 4");
  }
  ModelGraph model;
  model.graph = std::make_unique<LayerGraph>(Shape{c.in_channels, c.height, c.width}, c.timesteps);
  Chain chain(model);

  // SPS.
  const std::size_t widths[] = {c.in_channels, D / 8, D / 4, D / 2, D};
  for (std::size_t k = 0; k < 4; ++k) {
    const std::string suffix = k == 0 ? "" : std::to_string(k);
    const std::string n = std::to_string(k);
    chain.add("sps.conv" + n, conv3x3(widths[k], widths[k + 1]), "patch_embed.proj_conv" + suffix,
              {k == 0 ? 0 : chain.last()});
    chain.add("sps.bn" + n, std::make_unique<BatchNorm>(kBatchNormEps),
              "patch_embed.proj_bn" + suffix);
    chain.add("sps.lif" + n, lif());
    if (k >= 2) chain.add("sps.maxpool" + n, maxpool());
  }
  const std::size_t features = chain.last();
  chain.add("sps.rpe_conv", conv3x3(D, D), "patch_embed.rpe_conv");
  chain.add("sps.rpe_bn", std::make_unique<BatchNorm>(kBatchNormEps), "patch_embed.rpe_bn");
  const std::size_t rpe = chain.add("sps.rpe_lif", lif());
  chain.add("sps.sum", std::make_unique<Add>(), "", {rpe, features});
  // [D, H/4, W/4] -> tokens [N, D], token n = h * W/4 + w (flatten(-2).transpose(-1, -2)).
  chain.add("sps.channels_last", std::make_unique<Permute>(std::vector<std::size_t>{1, 2, 0}));
  const std::size_t tokens = (c.height / 4) * (c.width / 4);
  std::size_t x = chain.add("sps.tokens", std::make_unique<Reshape>(Shape{tokens, D}));

  for (std::size_t j = 0; j < c.depths; ++j) {
    const std::string block = "block" + std::to_string(j);
    const std::string module = "block." + std::to_string(j);
    // SSA.
    std::size_t qkv[3];
    const char* names[] = {"q", "k", "v"};
    for (std::size_t i = 0; i < 3; ++i) {
      qkv[i] =
          chain.linear_bn_lif(block + ".attn." + names[i], module + ".attn." + names[i], D, D, x);
    }
    chain.add(block + ".attn.attention",
              std::make_unique<Attention>(AttentionKind::spiking, c.heads, 0.125), "",
              {qkv[0], qkv[1], qkv[2]});
    const std::size_t attended = chain.add(block + ".attn.attn_lif", lif(0.5));
    const std::size_t attn =
        chain.linear_bn_lif(block + ".attn.proj", module + ".attn.proj", D, D, attended);
    x = chain.add(block + ".attn.residual", std::make_unique<Add>(), "", {x, attn});
    // MLP.
    const std::size_t hidden = c.mlp_ratio * D;
    const std::size_t h =
        chain.linear_bn_lif(block + ".mlp.fc1", module + ".mlp.fc1", D, hidden, x);
    const std::size_t mlp =
        chain.linear_bn_lif(block + ".mlp.fc2", module + ".mlp.fc2", hidden, D, h);
    x = chain.add(block + ".mlp.residual", std::make_unique<Add>(), "", {x, mlp});
    for (const char* norm : {".norm1.", ".norm2."})
      model.naming.unused_prefixes.push_back(module + norm);
  }
  chain.add("tokens.mean", std::make_unique<Reduce>(ReduceKind::mean, 0), "", {x});
  const std::size_t head =
      chain.add("head", std::make_unique<Linear>(LinearParameters{D, c.classes, true}), "head");
  model.graph->set_output(head);
  model.graph->bind();
  return model;
}

}  // namespace snnsim
