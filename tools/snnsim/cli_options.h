#pragma once
// The command-line options of every snnsim command, declared once (options_for) and shared:
// a command picks the groups it takes, so the same option means the same thing everywhere.
#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "networks/network_file.h"
#include "sim/backend.h"
#include "sim/units.h"

namespace snnsim::cli {

/// Values of all options; each command reads the ones of its groups.
struct Arguments {
  std::string network;                  ///< positional NET.json
  std::vector<std::string> parameters;  ///< --param NAME=VALUE
  std::string duration, dt;             ///< --duration 1s, --dt 0.1ms
  std::optional<std::uint64_t> seed;
  int threads = 0;
  std::string backend = "cpu";
  std::string output;  ///< -o trace.h5
  std::string summary_json;
  bool quiet = false;
  bool help = false;
  // infer
  std::string input;   ///< --input FILE.npy
  std::string labels;  ///< --labels FILE.npy
  std::size_t batch = 32;
  std::size_t timesteps = 0;  ///< 0: the file's
  std::size_t top_k = 3;
  double mac_pj = 4.6, ac_pj = 0.9;
  bool dense = false;  ///< --dense: dense operator paths only
};

enum class OptionGroup {
  network,  ///< NET.json and --param
  run,      ///< --duration, --dt, --seed, --threads, --backend
  output,   ///< -o, --summary-json, --quiet
  infer,    ///< --input, --labels, --batch, --timesteps, --top-k, --threads, --backend, energy
};

/// --backend's value: cpu, cuda or auto; throws std::runtime_error otherwise.
BackendKind parse_backend(const std::string& name);

/// The options of `group`, storing into `arguments`.
boost::program_options::options_description options_for(OptionGroup group, Arguments& arguments);

/// Parses a command's arguments; returns false (after printing usage) when --help was asked.
/// Throws std::runtime_error with a one-line message for a bad command line.
bool parse_command_line(int argc, const char* const* argv, const std::string& usage,
                        std::initializer_list<OptionGroup> groups, Arguments& arguments);

/// The network-file overrides given on the command line (--param, --duration, --dt, --seed).
LoadOptions load_options(const Arguments& arguments);

/// "1s", "0.1ms", "250 ms" as a quantity in the dimension's canonical unit.
double parse_command_line_quantity(const std::string& option, const std::string& text,
                                   Dimension dimension);

}  // namespace snnsim::cli
