#pragma once
// Importing NIR graphs (networks/nir_file.h) as snnsim network files: `snnsim import nir`, and
// `snnsim run|infer NET.nir`, which import into a temporary folder and run that.
//
// A graph becomes one of the two kinds of network file (docs/export.md, "Importing NIR"):
//   - a population network when it is what `snnsim export nir` writes for one: neuron nodes
//     (LIF, IF, CubaLIF) joined by dense Affine/Linear projections, each behind a Delay of at
//     least one time step; Input nodes become spike generators, feeding neurons through a
//     Linear, Affine or Scale (one_to_one) with or without a Delay (one step without);
//   - a layer graph otherwise (the graphs snnTorch, Norse, Sinabs and Rockpool write): NIR's
//     neuron models as nir_* neuron layers with per-neuron parameters, convolutions, pooling,
//     recurrence through delays.
// Both use NIR's equations with forward-Euler steps of dt, a spike counting 1 in its step.
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "networks/hdf5_dataset.h"
#include "networks/nir_file.h"

namespace snnsim {

enum class NirImportKind { automatic, population, layer_graph };

struct NirImportOptions {
  NirImportKind kind = NirImportKind::automatic;
  /// The time step in seconds, the unit of NIR's time constants as snnTorch, Norse, Sinabs and
  /// Rockpool write them; default: the graph's metadata "dt".
  std::optional<double> dt_s;
};

/// An imported network: a network file, and the tensors of the HDF5 file next to it that it
/// names (weights, per-neuron parameters, connectivity).
struct ImportedNetwork {
  nlohmann::json document;
  std::vector<std::pair<std::string, Hdf5Array>> tensors;
  /// What the user should know about the translation (conventions applied), one line each.
  std::vector<std::string> notes;
};

/// The --dt that reproduces each tool that writes NIR graphs without a "dt", for the error that
/// asks for one (measured with each tool's own export and simulation:
/// tools/reference/nir_peer_time_steps.py, docs/export.md "Other tools").
std::string nir_writer_time_steps();

/// Whether `graph` has the shape of a population network (see above).
bool is_population_graph(const nir::Graph& graph);

/// `graph`, read from `source`, as a population network whose tensors go to `tensors_file` (a
/// file name, relative to the network file). Throws nir::NirError naming the source and node.
ImportedNetwork import_population_graph(const nir::Graph& graph, const std::string& source,
                                        const std::string& tensors_file,
                                        const NirImportOptions& options);

/// `graph` as a layer graph; as import_population_graph.
ImportedNetwork import_layer_graph(const nir::Graph& graph, const std::string& source,
                                   const std::string& tensors_file,
                                   const NirImportOptions& options);

/// Reads the NIR file `nir_file` and imports it as options.kind says (automatic: a population
/// network when is_population_graph, else a layer graph), its tensors named `tensors_file`.
ImportedNetwork import_nir_file(const std::filesystem::path& nir_file,
                                const std::string& tensors_file, const NirImportOptions& options);

/// Writes the network file `network_file` and its tensors file next to it (the name the import
/// was given), each through a temporary file; they are renamed into place, the tensors first,
/// only once both are written. Throws std::runtime_error with one line.
void write_imported_network(const ImportedNetwork& network,
                            const std::filesystem::path& network_file,
                            const std::string& tensors_file);

}  // namespace snnsim
