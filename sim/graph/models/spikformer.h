#pragma once
// Spikformer (Zhou et al., ICLR 2023, "Spikformer: When Spiking Neural Network Meets
// Transformer"; github ZK-Zhou/spikformer), CIFAR variant (cifar10/model.py), as a layer graph
// built from the runtime's operators. Every neuron is spikingjelly's multi-step LIF (tau 2,
// threshold 1, hard reset to 0, decay_input), the attention's at threshold 0.5; a static image
// is fed at every one of the T timesteps.
//
//   SPS:   4 x (conv 3x3, no bias, BN, LIF) with max-pools (3, 2, 1) after the third and the
//          fourth, D/8, D/4, D/2, D channels; rpe = LIF(BN(conv 3x3 (x))); x = rpe + x (0, 1, 2);
//          the [D, H/4, W/4] map to N = H/4 x W/4 tokens [N, D] (permute, reshape)
//   block: x = x + SSA(x); x = x + MLP(x)   (the residual stream: small integer spikes)
//   SSA:   Q, K, V = LIF(BN1d(Linear(x))) (biased linears); LIF_0.5((Q K^T) V x 0.125) per head;
//          LIF(BN1d(Linear))
//   MLP:   LIF(BN1d(fc2(LIF(BN1d(fc1(x)))))), hidden = mlp_ratio x D
//   head:  Linear(mean over tokens); snnsim infer's mean over timesteps gives head(x.mean(0))
//
// BatchNorms fold into the convolution or linear layer before them at load time. Tensors load
// under the official state_dict names; the never-called norm1 / norm2 LayerNorms are accepted
// unused. Node names follow the modules: sps.conv0 .. sps.lif3, sps.rpe_*, block{j}.attn.*,
// block{j}.mlp.*, head.
#include "sim/graph/models/model_graph.h"

namespace snnsim {

struct SpikformerConfig {
  std::size_t embed_dims = 384, depths = 4, heads = 12, mlp_ratio = 4;
  std::size_t timesteps = 4;
  std::size_t in_channels = 3, classes = 10;
  std::size_t height = 32, width = 32;
};

/// The official configurations: "cifar" (cifar10/cifar10.yml: D 384, 4 blocks, 12 heads, T 4,
/// 32 x 32, 10 classes). Throws GraphError for another name.
SpikformerConfig spikformer_variant(std::string_view name);
std::vector<std::string> spikformer_variants();

/// Builds the graph of `config`; throws GraphError, one line, for shapes the model cannot take.
ModelGraph build_spikformer(const SpikformerConfig& config);

}  // namespace snnsim
