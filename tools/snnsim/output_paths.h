#pragma once
// Outputs never replace inputs: `infer x.json -o x.h5` would otherwise overwrite the weights
// x.json reads with the trace. Every command that writes files checks its outputs against the
// files it reads before it does any work.
#include <filesystem>
#include <string>
#include <vector>

#include "networks/layer_graph_file.h"
#include "networks/network_spec.h"

namespace snnsim::cli {

/// A file a command reads, and what it is to the command (for the message).
struct InputFile {
  std::filesystem::path path;
  std::string role;  ///< e.g. "the network file", "a dataset file of net.json"
};

/// The network file and every file it refers to (HDF5 datasets of weights, delays, initial
/// values and connectivity).
std::vector<InputFile> network_inputs(const NetworkSpec& spec);
/// The network file and its weights.
std::vector<InputFile> network_inputs(const LayerGraphSpec& spec);

/// Throws std::runtime_error with one line when `output` (given as `option`, e.g. "-o") is an
/// existing file among `inputs` (the same file under any name: links and relative paths
/// count). An empty `output` is fine.
void refuse_output_over_inputs(const std::string& option, const std::filesystem::path& output,
                               const std::vector<InputFile>& inputs);

}  // namespace snnsim::cli
