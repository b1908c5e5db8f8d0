#pragma once
// Spike-driven Transformer (Yao, Hu, Zhou, Yuan, Tian, Xu, Li; NeurIPS 2023, "Spike-driven
// Transformer"; github BICLab/Spike-Driven-Transformer, model/spikeformer.py, module/sps.py,
// module/ms_conv.py), as a layer graph built from the runtime's operators. Its residual stream is
// analog (membrane shortcuts: every block adds to its input before any LIF), so that every layer
// with weights is fed binary spikes, and its attention (SDSA) is linear in the tokens:
//
//   SPS:    conv 3x3 + BN + LIF, three times, then conv 3x3 + BN; a max-pool (3, 2, 1) after
//           stage k where pooling_stat[k] is '1' (the fourth on the analog BN output);
//           x_feat = that output; x = BN(rpe_conv(LIF(x_feat))) + x_feat (analog); tokens [N, D]
//   SDSA:   s = LIF(x); Q, K, V = LIF(BN(conv1x1(s))) (no bias); kv = LIF_0.5(sum over tokens of
//           K AND V) per channel; x = x + BN(proj(Q AND kv))   (talking_heads: saved, unused)
//   MLP:    x = x + BN(fc2(LIF(BN(fc1(LIF(x))))))
//   head:   Linear(LIF(mean over tokens)); snnsim infer's mean over timesteps is head(...).mean(0)
//
// The 1x1 convolutions act on [N, D] tokens as linear layers (their [out, in, 1, 1] kernels load
// as such); BatchNorms fold into them. Node names: sps.*, block{j}.attn.{shortcut_lif, q, k, v,
// kv, kv_sum, kv_lif, qkv, proj}, block{j}.mlp.{fc1_lif, fc1, fc2_lif, fc2}, head_lif, head.
#include "sim/graph/models/model_graph.h"

namespace snnsim {

struct SpikeDrivenConfig {
  std::size_t embed_dims = 256, depths = 2, heads = 8, mlp_ratio = 4;
  std::size_t timesteps = 4;
  std::size_t in_channels = 3, classes = 10;
  std::size_t height = 32, width = 32;
  /// Per SPS stage, whether a max-pool follows it ("0011" for CIFAR, "1111" for ImageNet).
  std::string pooling = "0011";
};

/// The official configurations: "cifar" (conf/cifar10/2_256_300E_t4.yml: D 256, 2 blocks, 8
/// heads, pooling 0011, T 4, 32 x 32, 10 classes) and "imagenet" (conf/imagenet/8_384: D 384, 8
/// blocks, 8 heads, pooling 1111, T 4, 224 x 224, 1000 classes).
SpikeDrivenConfig spike_driven_variant(std::string_view name);
std::vector<std::string> spike_driven_variants();

/// Builds the graph of `config`; throws GraphError, one line, for shapes the model cannot take.
ModelGraph build_spike_driven_transformer(const SpikeDrivenConfig& config);

}  // namespace snnsim
