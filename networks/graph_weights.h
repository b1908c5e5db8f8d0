#pragma once
// Loading a layer graph's weights from a safetensors file (what PyTorch users write with
// safetensors.torch.save_file) or an HDF5 file (datasets named like the tensors).
//
// Node `conv1` loads its tensors as "conv1.weight", "conv1.bias", ...; a node's "weights" key in
// the network file replaces the prefix ("features.0"), which is how a model family maps its
// PyTorch names; WeightNaming maps the names of a model family (tied tensors, copies of shared
// ones). A vector [n] may be stored as n scalars "NAME.0" to "NAME.<n-1>" (a PyTorch
// ParameterList: SpikeLM's alpha per timestep). Every problem is reported before anything is set,
// in one line naming the file: missing tensors (name, expected shape), mis-shaped ones (name,
// expected and found shapes) and extra ones the graph does not use (BatchNorm's num_batches_tracked
// counters excepted).
#include <filesystem>
#include <string>
#include <vector>

#include "sim/graph/layer_graph.h"

namespace snnsim {

/// Sets the weights of every node of `graph` (bound already) from `file`, then folds BatchNorms
/// and channel scales (LayerGraph::fold_affine_nodes). Throws std::runtime_error with one line.
void load_graph_weights(LayerGraph& graph, const std::filesystem::path& file,
                        const WeightNaming& naming);

}  // namespace snnsim
