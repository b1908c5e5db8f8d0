#include "sim/graph/models/spikformer.h"

#include <algorithm>
#include <numeric>

#include "sim/graph/models/spikingjelly_parts.h"
#include "sim/graph/nir_neurons.h"
#include "sim/graph/ops/layout.h"
#include "sim/graph/ops/token_pruning.h"
#include "sim/graph/ops/transformer.h"

namespace snnsim {
namespace {

const NamedVariant<SpikformerConfig> kVariants[] = {
    {"cifar", {384, 4, 12, 4, 4, 3, 10, 32, 32, false, {}}},
    {"imagenet", {512, 8, 8, 4, 4, 3, 1000, 224, 224, true, {}}},
};

/// Linear, BatchNorm over the tokens' channels, LIF: the unit of SSA and MLP. The official module
/// is `module`_linear (CIFAR) or the 1x1 convolution `module`_conv (ImageNet).
std::size_t linear_bn_lif(spikingjelly::Chain& chain, const std::string& name,
                          const std::string& module, std::size_t in, std::size_t out,
                          std::size_t from, bool imagenet, bool bias = true) {
  chain.linear_bn(name, module, imagenet ? "_conv" : "_linear", in, out, from, bias);
  return chain.add(name + "_lif", spikingjelly::lif());
}

void check_pruning(const TokenPruning& p, std::size_t depths) {
  if (p.keep_ratios.size() != p.blocks.size()) {
    throw GraphError("token pruning: " + std::to_string(p.keep_ratios.size()) +
                     " keep ratios for " + std::to_string(p.blocks.size()) + " blocks");
  }
  for (std::size_t i = 0; i < p.blocks.size(); ++i) {
    if (p.blocks[i] >= depths) {
      throw GraphError("token pruning at block " + std::to_string(p.blocks[i]) +
                       ": the model has blocks 0 to " + std::to_string(depths - 1));
    }
    if (i > 0 && p.blocks[i] <= p.blocks[i - 1])
      throw GraphError("token pruning: expected the blocks in ascending order, each once");
    if (!(p.keep_ratios[i] > 0.0 && p.keep_ratios[i] <= 1.0)) {
      throw GraphError("token pruning at block " + std::to_string(p.blocks[i]) + ": keep ratio " +
                       std::to_string(p.keep_ratios[i]) + ", expected one in (0, 1]");
    }
  }
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
  // CIFAR's SPS max-pools after its last two LIF layers, ImageNet's after all four.
  const std::size_t pools = c.imagenet ? 4 : 2, reduction = std::size_t{1} << pools;
  if (c.height % reduction != 0 || c.width % reduction != 0) {
    throw GraphError("an input of " + std::to_string(c.height) + "x" + std::to_string(c.width) +
                     ": SPS's " + std::to_string(pools) + " max-pools need sizes divisible by " +
                     std::to_string(reduction));
  }
  ModelGraph model;
  model.graph = std::make_unique<LayerGraph>(Shape{c.in_channels, c.height, c.width}, c.timesteps);
  spikingjelly::Chain chain(model);
  using spikingjelly::kBatchNormEps;
  using spikingjelly::lif;

  // SPS.
  const std::size_t widths[] = {c.in_channels, D / 8, D / 4, D / 2, D};
  for (std::size_t k = 0; k < 4; ++k) {
    chain.sps_conv_bn(k, widths[k], widths[k + 1], chain.last());
    chain.add("sps.lif" + std::to_string(k), lif());
    if (k >= 4 - pools) chain.add("sps.maxpool" + std::to_string(k), spikingjelly::maxpool());
  }
  const std::size_t features = chain.last();
  chain.add("sps.rpe_conv", spikingjelly::conv3x3(D, D), "patch_embed.rpe_conv");
  chain.add("sps.rpe_bn", std::make_unique<BatchNorm>(kBatchNormEps), "patch_embed.rpe_bn");
  const std::size_t rpe = chain.add("sps.rpe_lif", lif());
  chain.add("sps.sum", std::make_unique<Add>(), "", {rpe, features});
  // [D, H', W'] -> tokens [N, D], token n = h * W' + w (flatten(-2).transpose(-1, -2)). The
  // ImageNet model keeps [D, N] and applies 1x1 convolutions: on [N, D] tokens, the same linear
  // maps, and its Q (K^T V) gives the same integers as (Q K^T) V.
  chain.add("sps.channels_last", std::make_unique<Permute>(std::vector<std::size_t>{1, 2, 0}));
  const std::size_t tokens = (c.height / reduction) * (c.width / reduction);
  std::size_t x = chain.add("sps.tokens", std::make_unique<Reshape>(Shape{tokens, D}));
  const std::optional<TokenPruning>& pruning = c.pruning;
  if (pruning) {
    check_pruning(*pruning, c.depths);
    x = chain.add("sps.anchor",
                  std::make_unique<AppendTokens>(pruning->standardize ? c.timesteps : 1), "anchor");
  }
  std::size_t rows = tokens + (pruning ? 1 : 0);

  for (std::size_t j = 0; j < c.depths; ++j) {
    const std::string block = "block" + std::to_string(j);
    const std::string module = "block." + std::to_string(j);
    // SSA.
    std::size_t qkv[3];
    const char* names[] = {"q", "k", "v"};
    for (std::size_t i = 0; i < 3; ++i) {
      qkv[i] = linear_bn_lif(chain, block + ".attn." + names[i], module + ".attn." + names[i], D, D,
                             x, c.imagenet, !c.imagenet);
    }
    chain.add(block + ".attn.attention",
              std::make_unique<Attention>(AttentionKind::spiking, c.heads, 0.125), "",
              {qkv[0], qkv[1], qkv[2]});
    const std::size_t attended = chain.add(block + ".attn.attn_lif", lif(0.5));
    const std::size_t attn = linear_bn_lif(chain, block + ".attn.proj", module + ".attn.proj", D, D,
                                           attended, c.imagenet);
    x = chain.add(block + ".attn.residual", std::make_unique<Add>(), "", {x, attn});
    if (pruning) {
      const auto at = std::find(pruning->blocks.begin(), pruning->blocks.end(), j);
      if (at != pruning->blocks.end()) {
        TopTokensParameters p;
        p.keep_ratio = pruning->keep_ratios[static_cast<std::size_t>(at - pruning->blocks.begin())];
        p.standardize = pruning->standardize;
        const std::size_t scores =
            chain.add(block + ".scores", std::make_unique<AnchorScores>(), "", {qkv[0], qkv[1]});
        const std::size_t keep = chain.add(block + ".keep", std::make_unique<TopTokens>(p));
        std::vector<std::size_t> inputs{x, keep};
        if (pruning->fuse) inputs.push_back(scores);
        x = chain.add(block + ".tokens", std::make_unique<KeepTokens>(1, pruning->fuse), "",
                      inputs);
        const std::size_t candidates = rows - 1;
        const std::size_t kept = TopTokens::kept_of(p.keep_ratio, candidates);
        rows = kept + (pruning->fuse && kept < candidates ? 1 : 0) + 1;
      }
    }
    // MLP.
    const std::size_t hidden = c.mlp_ratio * D;
    const std::size_t h =
        linear_bn_lif(chain, block + ".mlp.fc1", module + ".mlp.fc1", D, hidden, x, c.imagenet);
    const std::size_t mlp =
        linear_bn_lif(chain, block + ".mlp.fc2", module + ".mlp.fc2", hidden, D, h, c.imagenet);
    x = chain.add(block + ".mlp.residual", std::make_unique<Add>(), "", {x, mlp});
    for (const char* norm : {".norm1.", ".norm2."})
      model.naming.unused_prefixes.push_back(module + norm);
  }
  if (pruning) {
    // Every token but the anchor.
    std::vector<std::size_t> image(rows - 1);
    std::iota(image.begin(), image.end(), std::size_t{0});
    x = chain.add("tokens.image", std::make_unique<TokenSelect>(std::move(image), 0), "", {x});
  }
  chain.add("tokens.mean", std::make_unique<Reduce>(ReduceKind::mean, 0), "", {x});
  const std::size_t head =
      chain.add("head", std::make_unique<Linear>(LinearParameters{D, c.classes, true}), "head");
  model.graph->set_output(head);
  model.graph->bind();
  return model;
}

}  // namespace snnsim
