#include "networks/nir_import.h"

#include <fstream>

#include "sim/atomic_write.h"

namespace snnsim {

std::string nir_writer_time_steps() {
  return "snnTorch --dt 0.1ms, Norse --dt 1us, Sinabs --dt 1s, Rockpool the module's dt (default "
         "--dt 1ms), its CubaLIF rewritten as docs/export.md says";
}

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
  if (!network.tensors.empty()) {
    write_hdf5_arrays(network_file.parent_path() / tensors_file, network.tensors);
  }
  write_atomically(network_file, [&](const std::filesystem::path& partial) {
    std::ofstream out(partial);
    out << network.document.dump(2) << '\n';
    out.close();
    if (!out)
      throw std::runtime_error(network_file.string() + ": cannot write " + partial.string());
  });
}

}  // namespace snnsim
