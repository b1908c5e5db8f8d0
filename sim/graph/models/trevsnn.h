#pragma once
// T-RevSNN (Hu et al., ICML 2024, "High-Performance Temporal Reversible Spiking Neural Networks
// with O(L) Training Memory and O(1) Inference Cost"; github BICLab/T-RevSNN) as a layer graph
// built from the runtime's operators, as the official code computes it in eval mode
// (models/spike_rev_reuse.py, spike_modules.py, rev_function.py at 3b75b37).
//
// Timestep t is column t. The only state across columns is the four level states c_l:
//
//   c0^t = G0(x^t             + U0(s1^{t-1})) + a0^t * c0^{t-1}
//   c1^t = G1(D1(s0^t)        + U1(s2^{t-1})) + a1^t * c1^{t-1}
//   c2^t = G2(D2(s1^t)        + U2(s3^{t-1})) + a2^t * c2^{t-1}
//   c3^t = G3(D3(s2^t))                       + a3^t * c3^{t-1}
//
// with s_l = SN(c_l) = round(clamp(c_l, 0, 1)) (fires iff c_l > 0.5), column 0 without the U
// paths and the a * c terms, and a_l^t the per-channel alpha of column t, its magnitude clamped to
// at least 1e-3 with its sign kept. x is the stem's output: for images computed once from the
// image and fed to every column; for event input (the DVS variant) one stem per column on that
// column's frame.
//
// | operator | official module                  | here                                         |
// |----------|----------------------------------|----------------------------------------------|
// | D1, D2   | DownSampling 3x3 s2 p1 + BN      | spikes s_{l-1} -> conv (per column), BN folded |
// | D3       | DownSampling 1x1                 | as D1, 1x1                                    |
// | U0, U1   | UpSampling 1x1 + BN + nearest x2 | delayed spikes s_{l+1} -> conv, BN folded,
// upsample | | U2       | DownSampling 1x1 (no upsample)   | delayed spikes s3 -> conv, BN folded |
// | G_l      | blocks.0 (BlockA), blocks.1      | SN -> dwconv1 -> pwconv1 -> SN -> pwconv2 ->
// dwconv2, | |          | (BlockB)                         | residual; BlockA's gamma folded into
// dwconv2; | |          |                                  | BlockB's pwconv2/dwconv2 one operator
// for all columns | | head     | SpikeClassifier on the last c3   | SN (of c3 / T for DVS) -> mean
// over HW -> 1x1 -> 1x1 |
//
// ScaledStdConv2d (stem, pwconv1/2, head) standardizes its weights when they load (Conv2d's
// standardize_eps, timm's 1e-6). Node names: stem..., level{l}.down, level{l}.up,
// level{l}.block{0,1}.{sn1,dwconv1,pwconv1,sn2,pwconv2,dwconv2}, c{l} (the level state),
// s{l} (its spikes), head...; tensors load under the official state_dict names.
#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim/graph/models/model_graph.h"

namespace snnsim {

struct TrevsnnConfig {
  bool events = false;                ///< the DVS variant: a stem per column, [2, H, W] frames
  std::vector<std::size_t> channels;  ///< C0..C3
  std::size_t timesteps = 4;          ///< columns (the official num_subnet)
  std::size_t kernel_size = 3;        ///< of the depthwise convolutions
  std::size_t classes = 1000;
  std::size_t height = 224, width = 224;  ///< input size
};

/// The official factories: "tiny" ([64, 128, 256, 384], T 4), "small" ([96, 192, 384, 512],
/// T 4) and "tiny_dvs" ([32, 64, 128, 256], T 8, event input); kernel 3, 1000 classes. Throws
/// GraphError for another name.
TrevsnnConfig trevsnn_variant(std::string_view name);
/// The names trevsnn_variant knows.
std::vector<std::string> trevsnn_variants();

/// Builds the graph of `config`. Throws GraphError, one line, for a configuration the official
/// code cannot run (odd feature-map sizes where the up path doubles them, kernel sizes, ...).
ModelGraph build_trevsnn(const TrevsnnConfig& config);

/// The level states of column t - 1 recomputed from column t's (the temporal reversibility that
/// gives the official training its O(L) memory), levels 3 down to 0:
///
///   c_l^{t-1} = (c_l^t - G_l(D_l(s_{l-1}^t) + U_l(s_{l+1}^{t-1}))) / a_l^t
///
/// `states[l]`: c_l^t, one timestep of a batch; `input`: column t's input (the image, or the DVS
/// variant's frame t). `graph` is a build_trevsnn graph with its weights; 1 <= t < T. Throws
/// GraphError where an alpha of column t is 0 (the official clamp keeps 0 at 0): nothing of the
/// state before is left to recompute.
std::array<Value, 4> trevsnn_previous_states(const LayerGraph& graph, std::size_t t,
                                             const Value& input,
                                             const std::array<Value, 4>& states);

/// How well the columns invert: runs `input` (as LayerGraph::run takes it) forward, then from the
/// last column's states T - 1 inverses back to column 0. error[t][l] is max |recomputed - forward|
/// / max |forward| of c_l^t, for t = 0 .. T - 2 (column T - 1 is the starting point).
std::vector<std::array<double, 4>> trevsnn_inversion_errors(const LayerGraph& graph,
                                                            const Value& input);

}  // namespace snnsim
