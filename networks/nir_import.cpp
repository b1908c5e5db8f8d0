#include "networks/nir_import.h"

#include <fstream>

#include "networks/finite_values.h"
#include "sim/atomic_write.h"

namespace snnsim {

namespace {

/// Refuses a NaN or infinity in any numeric field of `graph`'s nodes (nested graphs included),
/// naming the field: the importers take weights and parameters as they are.
void check_finite_fields(const nir::Graph& graph, const std::string& source,
                         const std::string& where) {
  for (const auto& [name, node] : graph.nodes) {
    const std::string node_where = where + "/nodes/" + name;
    for (const auto& [field, value] : node.fields) {
      const auto* array = std::get_if<nir::Array>(&value);
      if (array == nullptr) continue;
      if (const std::string problem = non_finite_problem(array->values); !problem.empty())
        throw nir::NirError(source + ": " + node_where + "/" + field + ": " + problem);
    }
    if (node.graph) check_finite_fields(*node.graph, source, node_where);
  }
}

}  // namespace

std::string nir_writer_time_steps() {
  return "snnTorch --dt 0.1ms, Norse --dt 1us, Sinabs --dt 1s, Rockpool the module's dt (default "
         "--dt 1ms), its CubaLIF rewritten as docs/export.md says";
}

ImportedNetwork import_nir_file(const std::filesystem::path& nir_file,
                                const std::string& tensors_file, const NirImportOptions& options) {
  const nir::Graph graph = nir::read_file(nir_file);
  check_finite_fields(graph, nir_file.string(), "/node");
  const bool population = options.kind == NirImportKind::population ||
                          (options.kind == NirImportKind::automatic && is_population_graph(graph));
  return population ? import_population_graph(graph, nir_file.string(), tensors_file, options)
                    : import_layer_graph(graph, nir_file.string(), tensors_file, options);
}

void write_imported_network(const ImportedNetwork& network,
                            const std::filesystem::path& network_file,
                            const std::string& tensors_file) {
  // The network file is written first but renamed last, after the tensors file is written and
  // renamed: a failure of either leaves neither, and a network file never names tensors that
  // are not there.
  write_atomically(network_file, [&](const std::filesystem::path& partial) {
    write_text_file(partial, network.document.dump(2) + '\n');
    if (!network.tensors.empty()) {
      write_hdf5_arrays(network_file.parent_path() / tensors_file, network.tensors);
    }
  });
}

}  // namespace snnsim
