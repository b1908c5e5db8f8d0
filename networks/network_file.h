#pragma once
// Reading and validating network files (format: docs/network-format.md).
//
// Everything is checked before anything runs: unknown keys, units, names, sizes, model
// parameters. Every error is one line naming the file, the JSON pointer of the offending value
// and what was expected, e.g.
//   net.json: /projections/3/delay: expected a time such as "1.5 ms"; found the bare number 2
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "networks/network_spec.h"

namespace snnsim {

class NetworkFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Command-line settings that override the file's.
struct LoadOptions {
  std::map<std::string, std::string> parameter_overrides;  ///< --param NAME=EXPR
  std::optional<double> dt_ms;
  std::optional<double> duration_ms;
  std::optional<std::uint64_t> seed;
};

/// Reads and validates a network file. Throws NetworkFileError.
NetworkSpec load_network_file(const std::filesystem::path& path, const LoadOptions& options = {});

/// Validates network-file text; `source_name` names it in errors. Throws NetworkFileError.
NetworkSpec parse_network(const std::string& text, const std::string& source_name,
                          const LoadOptions& options = {});

}  // namespace snnsim
