#include "tools/snnsim/network_argument.h"

#include <unistd.h>

#include <cstdio>

namespace snnsim::cli {

std::optional<double> nir_time_step_s(const Arguments& arguments) {
  if (arguments.dt.empty()) return std::nullopt;
  const double dt_ms = parse_command_line_quantity("dt", arguments.dt, Dimension::time);
  if (!(dt_ms > 0)) throw std::runtime_error("--dt must be positive");
  return dt_ms * 1e-3;
}

NetworkArgument::NetworkArgument(const Arguments& arguments, NirImportKind kind)
    : path_(arguments.network) {
  const std::string& path = arguments.network;
  if (std::filesystem::path(path).extension() != ".nir") return;
  NirImportOptions options;
  options.kind = kind;
  options.dt_s = nir_time_step_s(arguments);
  const std::string tensors = "network.h5";
  const ImportedNetwork network = import_nir_file(path, tensors, options);
  folder_ = std::filesystem::temp_directory_path() / ("snnsim-nir-" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder_);
  path_ = (folder_ / "network.json").string();
  write_imported_network(network, path_, tensors);
  kind_ = network.document.value("kind", "population");
  if (!arguments.quiet) {
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
