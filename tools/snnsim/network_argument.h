#pragma once
// The network file named on the command line of `snnsim run` and `snnsim infer`: NET.json as it
// is, or a NIR graph (NET.nir) imported into a temporary folder first, so that it runs exactly as
// the file `snnsim import nir` would write.
#include <filesystem>
#include <optional>
#include <string>

#include "networks/nir_import.h"
#include "tools/snnsim/cli_options.h"

namespace snnsim::cli {

/// --dt as the time step of a NIR graph's equations, in seconds (NIR's unit); none when not given.
std::optional<double> nir_time_step_s(const Arguments& arguments);

class NetworkArgument {
 public:
  /// Imports the network file of `arguments` when it ends in .nir, as `kind`, with its --dt as
  /// the time step, printing the import's notes unless --quiet. Throws with one line when the
  /// import fails.
  NetworkArgument(const Arguments& arguments, NirImportKind kind);
  ~NetworkArgument();
  NetworkArgument(const NetworkArgument&) = delete;
  NetworkArgument& operator=(const NetworkArgument&) = delete;

  /// The network file to load.
  const std::string& path() const { return path_; }
  /// The kind of the imported network ("population" or "layer_graph"); empty for a JSON file.
  const std::string& imported_kind() const { return kind_; }

 private:
  std::string path_;
  std::string kind_;
  std::filesystem::path folder_;  ///< the temporary folder of an import
};

}  // namespace snnsim::cli
