#pragma once
// Layer-graph network files ("kind": "layer_graph"; docs/network-format.md): a deep SNN as a
// list of nodes, each an operator or a neuron layer with its parameters and inputs, run over
// T timesteps, with its weights in a safetensors or HDF5 file next to it.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "encoders/input_encoder.h"
#include "sim/graph/layer_graph.h"

namespace snnsim {

struct LayerGraphSpec {
  std::string path;  ///< the network file
  std::string description;
  std::string model;                  ///< the model family ("trevsnn"), empty for a list of nodes
  std::unique_ptr<LayerGraph> graph;  ///< bound, weights loaded, BatchNorms folded
  EncoderSpec encoder;
  std::filesystem::path weights;  ///< resolved against the network file's folder
  /// A language model's vocab.txt ("vocab"), resolved likewise; empty if the file names none.
  std::filesystem::path vocabulary;
};

struct LayerGraphOptions {
  std::optional<std::size_t> timesteps;  ///< --timesteps overrides the file's
};

/// Whether the network file at `path` is a layer graph (its "kind" is "layer_graph"). Throws
/// NetworkFileError when the file cannot be read or is not JSON.
bool is_layer_graph_file(const std::filesystem::path& path);

/// Reads, validates and builds the graph, and loads its weights. Every error is one line
/// naming the file and the place in it (NetworkFileError), or the weights file.
LayerGraphSpec load_layer_graph_file(const std::filesystem::path& path,
                                     const LayerGraphOptions& options = {});

}  // namespace snnsim
