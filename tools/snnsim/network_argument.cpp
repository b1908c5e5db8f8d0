#include "tools/snnsim/network_argument.h"

#include <unistd.h>

#include <cstdio>

namespace snnsim::cli {

NetworkArgument::NetworkArgument(const std::string& path, NirImportKind kind,
                                 std::optional<double> dt_s, bool quiet)
    : path_(path) {
  if (std::filesystem::path(path).extension() != ".nir") return;
  NirImportOptions options;
  options.kind = kind;
  options.dt_s = dt_s;
  const std::string tensors = "network.h5";
  const ImportedNetwork network = import_nir_file(path, tensors, options);
  folder_ = std::filesystem::temp_directory_path() / ("snnsim-nir-" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder_);
  path_ = (folder_ / "network.json").string();
  write_imported_network(network, path_, tensors);
  kind_ = network.document.value("kind", "population");
  if (!quiet) {
    std::printf("imported %s as a %s network (snnsim import nir writes it as a file)\n",
                path.c_str(), kind_ == "layer_graph" ? "layer-graph" : "population");
    for (const std::string& note : network.notes)
      std::printf("  note: %s\n", note.c_str());
  }
}

NetworkArgument::~NetworkArgument() {
  if (folder_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(folder_, ignored);
}

}  // namespace snnsim::cli
