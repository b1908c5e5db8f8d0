#include "sim/graph/models/spike_driven_transformer.h"

#include "sim/graph/models/spikingjelly_parts.h"
#include "sim/graph/nir_neurons.h"
#include "sim/graph/ops/layout.h"

namespace snnsim {
namespace {

const NamedVariant<SpikeDrivenConfig> kVariants[] = {
    {"cifar", {256, 2, 8, 4, 4, 3, 10, 32, 32, "0011"}},
    {"imagenet", {384, 8, 8, 4, 4, 3, 1000, 224, 224, "1111"}},
};

}  // namespace

SpikeDrivenConfig spike_driven_variant(std::string_view name) {
  return variant_named(kVariants, name, "Spike-driven Transformer");
}

std::vector<std::string> spike_driven_variants() {
  return variant_names(kVariants);
}

ModelGraph build_spike_driven_transformer(const SpikeDrivenConfig& c) {
  using spikingjelly::lif;
  const std::size_t D = c.embed_dims;
  if (D % 8 != 0)
    throw GraphError("embed_dims " + std::to_string(D) + ": expected a multiple of 8");
  if (c.heads == 0 || D % c.heads != 0) {
    throw GraphError("embed_dims " + std::to_string(D) + " is not a multiple of the " +
                     std::to_string(c.heads) + " heads");
  }
  if (c.pooling.size() != 4 || c.pooling.find_first_not_of("01") != std::string::npos) {
    throw GraphError("pooling \"" + c.pooling +
                     "\": expected four characters 0 or 1, one per SPS stage");
  }
  std::size_t height = c.height, width = c.width;
  for (char pool : c.pooling) {
    if (pool == '1') {
      // MaxPool2d(3, 2, 1): floor((n - 1) / 2) + 1.
      height = (height - 1) / 2 + 1;
      width = (width - 1) / 2 + 1;
    }
  }
  ModelGraph model;
  model.graph = std::make_unique<LayerGraph>(Shape{c.in_channels, c.height, c.width}, c.timesteps);
  spikingjelly::Chain chain(model);

  // SPS: the fourth stage's output (after its max-pool, if any) stays analog: x_feat.
  const std::size_t widths[] = {c.in_channels, D / 8, D / 4, D / 2, D};
  for (std::size_t k = 0; k < 4; ++k) {
    chain.sps_conv_bn(k, widths[k], widths[k + 1], chain.last());
    if (k < 3) chain.add("sps.lif" + std::to_string(k), lif());
    if (c.pooling[k] == '1') chain.add("sps.maxpool" + std::to_string(k), spikingjelly::maxpool());
  }
  const std::size_t features = chain.last();
  chain.add("sps.lif3", lif());
  chain.add("sps.rpe_conv", spikingjelly::conv3x3(D, D), "patch_embed.rpe_conv");
  chain.add("sps.rpe_bn", std::make_unique<BatchNorm>(spikingjelly::kBatchNormEps),
            "patch_embed.rpe_bn");
  chain.add("sps.sum", std::make_unique<Add>(), "", {chain.last(), features});
  // [D, H', W'] -> tokens [N, D], token n = h * W' + w.
  chain.add("sps.channels_last", std::make_unique<Permute>(std::vector<std::size_t>{1, 2, 0}));
  std::size_t x = chain.add("sps.tokens", std::make_unique<Reshape>(Shape{height * width, D}));

  for (std::size_t j = 0; j < c.depths; ++j) {
    const std::string block = "block" + std::to_string(j);
    const std::string module = "block." + std::to_string(j);
    // SDSA: Q AND LIF_0.5(sum over tokens of K AND V), per channel.
    const std::size_t s = chain.add(block + ".attn.shortcut_lif", lif(), "", {x});
    std::size_t qkv[3];
    const char* names[] = {"q", "k", "v"};
    for (std::size_t i = 0; i < 3; ++i) {
      const std::string name = block + ".attn." + names[i];
      chain.linear_bn(name, module + ".attn." + names[i], "_conv", D, D, s, false);
      qkv[i] = chain.add(name + "_lif", lif());
    }
    chain.add(block + ".attn.kv", std::make_unique<Multiply>(), "", {qkv[1], qkv[2]});
    chain.add(block + ".attn.kv_sum", std::make_unique<Reduce>(ReduceKind::sum, 0));
    chain.add(block + ".attn.kv_row", std::make_unique<Reshape>(Shape{1, D}));
    const std::size_t kv = chain.add(block + ".attn.kv_lif", lif(0.5));
    const std::size_t attended =
        chain.add(block + ".attn.qkv", std::make_unique<Multiply>(), "", {qkv[0], kv});
    const std::size_t proj =
        chain.linear_bn(block + ".attn.proj", module + ".attn.proj", "_conv", D, D, attended, true);
    x = chain.add(block + ".attn.residual", std::make_unique<Add>(), "", {x, proj});
    model.naming.unused_prefixes.push_back(module + ".attn.talking_heads.");
    // MLP; with a hidden width of D, fc1's output is added to the input and is the shortcut.
    const std::size_t hidden = c.mlp_ratio * D;
    std::size_t shortcut = x;
    chain.add(block + ".mlp.fc1_lif", lif(), "", {x});
    std::size_t h = chain.linear_bn(block + ".mlp.fc1", module + ".mlp.fc1", "_conv", D, hidden,
                                    chain.last(), true);
    if (hidden == D)
      shortcut = h = chain.add(block + ".mlp.fc1_residual", std::make_unique<Add>(), "", {x, h});
    chain.add(block + ".mlp.fc2_lif", lif(), "", {h});
    const std::size_t mlp = chain.linear_bn(block + ".mlp.fc2", module + ".mlp.fc2", "_conv",
                                            hidden, D, chain.last(), true);
    x = chain.add(block + ".mlp.residual", std::make_unique<Add>(), "", {shortcut, mlp});
  }
  chain.add("tokens.mean", std::make_unique<Reduce>(ReduceKind::mean, 0), "", {x});
  chain.add("head_lif", lif());
  const std::size_t head =
      chain.add("head", std::make_unique<Linear>(LinearParameters{D, c.classes, true}), "head");
  model.graph->set_output(head);
  model.graph->bind();
  return model;
}

}  // namespace snnsim
