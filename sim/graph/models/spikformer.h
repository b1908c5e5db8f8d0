#pragma once
// Spikformer (Zhou et al., ICLR 2023, "Spikformer: When Spiking Neural Network Meets
// Transformer"; github ZK-Zhou/spikformer), its CIFAR (cifar10/model.py) and ImageNet
// (imagenet/model.py) models, as layer graphs built from the runtime's operators. Every neuron is
// spikingjelly's multi-step LIF (tau 2, threshold 1, hard reset to 0, decay_input), the attention's
// at threshold 0.5; a static image is fed at every one of the T timesteps.
//
//   SPS:   4 x (conv 3x3, no bias, BN, LIF) with max-pools (3, 2, 1) after the last two
//          (CIFAR) or all four (ImageNet), D/8, D/4, D/2, D channels; rpe = LIF(BN(conv 3x3 (x)));
//          x = rpe + x (0, 1, 2); the [D, H', W'] map to N = H' x W' tokens [N, D] (permute,
//          reshape)
//   block: x = x + SSA(x); x = x + MLP(x)   (the residual stream: small integer spikes)
//   SSA:   Q, K, V = LIF(BN1d(Linear(x))) (biased for CIFAR); LIF_0.5((Q K^T) V x 0.125) per
//          head (ImageNet's Q (K^T V) is the same integers); LIF(BN1d(Linear))
//   MLP:   LIF(BN1d(fc2(LIF(BN1d(fc1(x)))))), hidden = mlp_ratio x D
//   head:  Linear(mean over tokens); snnsim infer's mean over timesteps gives head(x.mean(0))
//
// BatchNorms fold into the convolution or linear layer before them at load time. Tensors load
// under the official state_dict names; the never-called norm1 / norm2 LayerNorms are accepted
// unused. Node names follow the modules: sps.conv0 .. sps.lif3, sps.rpe_*, block{j}.attn.*,
// block{j}.mlp.*, head.
//
// Token sparsification (STATA, Zhuge et al., ICML 2024, as docs/models/spikformer.md defines it;
// EViT's criterion as the baseline): with a TokenPruning, a binary anchor token per timestep
// (tensor anchor.tokens [T, D]; [1, D] for EViT) is appended after SPS as the last token and
// runs through every block. At each pruning block, after its attention's residual, the anchor's
// attention over the other tokens (Q_anchor . K_n) ranks them (sps.anchor, block{j}.scores,
// block{j}.keep, block{j}.tokens), the top ceil(r M) are kept for every timestep and the rest are
// dropped or fused into one token; the head averages every token but the anchor (tokens.image).
#include <optional>

#include "sim/graph/models/model_graph.h"

namespace snnsim {

struct TokenPruning {
  std::vector<std::size_t> blocks;  ///< ascending block indices where tokens are pruned
  std::vector<double> keep_ratios;  ///< per block in `blocks`, in (0, 1]
  bool standardize = true;          ///< STATA's standardized anchor scores; false: EViT's raw ones
  bool fuse = false;                ///< fuse the pruned tokens into one; false: drop them
};

struct SpikformerConfig {
  std::size_t embed_dims = 384, depths = 4, heads = 12, mlp_ratio = 4;
  std::size_t timesteps = 4;
  std::size_t in_channels = 3, classes = 10;
  std::size_t height = 32, width = 32;
  /// The ImageNet model (imagenet/model.py): SPS max-pools after all four LIF layers (N = H/16 x
  /// W/16 tokens); q/k/v are bias-free 1x1 Conv1d, proj and the MLP biased 1x1 convolutions.
  bool imagenet = false;
  std::optional<TokenPruning> pruning;
};

/// The official configurations: "cifar" (cifar10/cifar10.yml: D 384, 4 blocks, 12 heads, T 4,
/// 32 x 32, 10 classes) and "imagenet" (the registered `spikformer`: D 512, 8 blocks, 8 heads,
/// T 4, 224 x 224, 1000 classes). Throws GraphError for another name.
SpikformerConfig spikformer_variant(std::string_view name);
std::vector<std::string> spikformer_variants();

/// Builds the graph of `config`; throws GraphError, one line, for shapes the model cannot take.
ModelGraph build_spikformer(const SpikformerConfig& config);

}  // namespace snnsim
