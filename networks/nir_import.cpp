#include "networks/nir_import.h"

#include "sim/atomic_write.h"

namespace snnsim {

ImportedNetwork import_nir_file(const std::filesystem::path& nir_file,
                                const std::string& tensors_file, const NirImportOptions& options) {
  const nir::Graph graph = nir::read_file(nir_file);
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
