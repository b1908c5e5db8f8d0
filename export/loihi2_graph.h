#pragma once
// Fixed-point export of layer graphs (deep SNNs of `if` neurons) for Loihi-2-class targets: every
// conv2d / linear weight becomes an 8-bit signed mantissa times a power of two per layer (as
// Lava's Dense: lava-nc/lava src/lava/proc/dense/models.py, weight_exp), biases and thresholds
// become integers in the same units, and average pooling becomes sum pooling with its 1/k^2
// folded into the next threshold (or the next weights). The result is an ordinary layer-graph
// file whose `if` neurons then compute exact integer arithmetic: their float32 sums of integers
// stay below 2^24. docs/export.md describes it.
#include <filesystem>
#include <string>
#include <vector>

namespace snnsim::hardware {

/// How one weighted layer or neuron layer was quantised.
struct GraphLayerQuantisation {
  std::string node;
  int exponent = 0;  ///< weighted layers: the float weight is mantissa x 2^exponent / input gain
  std::string what;  ///< "weights 2^-7, max error 0.4 % of the largest |w|", "threshold 128"
};

struct GraphExport {
  std::vector<GraphLayerQuantisation> layers;
  std::vector<std::string> notes;
};

/// Quantises the layer graph `input` and writes it to `output` (JSON) with its weights in
/// `output` with the extension .safetensors. Throws NetworkFileError naming the node for ops
/// without a fixed-point mapping here (only conv2d, linear, avgpool2d, sumpool2d, flatten and
/// `if` with a soft reset or a reset to 0 are mapped).
GraphExport quantise_layer_graph(const std::filesystem::path& input,
                                 const std::filesystem::path& output);

/// Every node of the layer graph in `input` that quantise_layer_graph cannot map, one line each
/// naming the node and why (`snnsim export check --target loihi2`); empty when it maps.
std::vector<std::string> loihi2_graph_problems(const std::filesystem::path& input);

}  // namespace snnsim::hardware
