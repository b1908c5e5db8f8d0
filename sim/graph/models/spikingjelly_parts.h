#pragma once
// The pieces the spikingjelly-based transformer families (spikformer.cpp,
// spike_driven_transformer.cpp) build from: the LIF their official code uses, their SPS
// convolutions and max-pools, and a chain builder that keeps the weight naming in step.
#include "sim/graph/models/model_graph.h"
#include "sim/graph/neurons.h"
#include "sim/graph/ops/conv.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/ops/linear.h"
#include "sim/graph/ops/pooling.h"

namespace snnsim::spikingjelly {

constexpr double kBatchNormEps = 1e-5;  // torch.nn.BatchNorm1d / 2d

/// MultiStepLIFNode(tau=2.0, detach_reset=True): hard reset to 0, decay_input.
inline std::unique_ptr<LayerOp> lif(double threshold = 1.0) {
  LifParameters p;
  p.tau = 2.0;
  p.v_threshold = threshold;
  p.v_reset = 0.0;
  p.decay_input = true;
  return std::make_unique<LifLayer>(p, true);
}

/// SPS's convolution: 3x3, stride 1, padding 1, no bias.
inline std::unique_ptr<LayerOp> conv3x3(std::size_t in, std::size_t out) {
  Conv2dParameters p;
  p.in_channels = in;
  p.out_channels = out;
  p.kernel_h = p.kernel_w = 3;
  p.padding_h = p.padding_w = 1;
  p.bias = false;
  return std::make_unique<Conv2d>(p);
}

/// SPS's max-pool: kernel 3, stride 2, padding 1.
inline std::unique_ptr<LayerOp> maxpool() {
  Pool2dParameters p;
  p.kind = PoolKind::max;
  p.kernel_h = p.kernel_w = 3;
  p.stride_h = p.stride_w = 2;
  p.padding_h = p.padding_w = 1;
  return std::make_unique<Pool2d>(p);
}

/// GraphChain with the Linear + BatchNorm pairs and SPS stages of the spikingjelly transformers.
class Chain : public GraphChain {
 public:
  using GraphChain::GraphChain;
  /// Linear `name`_linear from `from` (weights `module``suffix`), then BatchNorm `name`_bn over
  /// the tokens' channels (`module`_bn), folded into it at load time. Returns the BatchNorm.
  std::size_t linear_bn(const std::string& name, const std::string& module, const char* suffix,
                        std::size_t in, std::size_t out, std::size_t from, bool bias) {
    add(name + "_linear", std::make_unique<Linear>(LinearParameters{in, out, bias}),
        module + suffix, {from});
    return add(name + "_bn", std::make_unique<BatchNorm>(kBatchNormEps, 1), module + "_bn");
  }
  /// SPS's stage k: conv3x3 `sps.conv{k}` from `from`, BatchNorm `sps.bn{k}`, under the official
  /// names patch_embed.proj_conv{k} and proj_bn{k} (no number for stage 0). Returns the BatchNorm.
  std::size_t sps_conv_bn(std::size_t k, std::size_t in, std::size_t out, std::size_t from) {
    const std::string suffix = k == 0 ? "" : std::to_string(k), n = std::to_string(k);
    add("sps.conv" + n, conv3x3(in, out), "patch_embed.proj_conv" + suffix, {from});
    return add("sps.bn" + n, std::make_unique<BatchNorm>(kBatchNormEps),
               "patch_embed.proj_bn" + suffix);
  }
};

}  // namespace snnsim::spikingjelly
