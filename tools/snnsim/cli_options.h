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
  bool blocking_exchange = false;  ///< --blocking-exchange: distributed runs wait for each exchange
  bool help = false;
  // infer
  std::string input;   ///< --input FILE.npy
  std::string labels;  ///< --labels FILE.npy
  std::size_t batch = 32;
  std::size_t timesteps = 0;  ///< 0: the file's
  std::size_t top_k = 3;
  double mac_pj = 4.6, ac_pj = 0.9;
  bool dense = false;                 ///< --dense: dense operator paths only
  std::string save_outputs;           ///< --save-outputs FILE.npy: the output layer's values
  bool outputs_per_timestep = false;  ///< --outputs-per-timestep: not their mean over timesteps
  bool per_step = false;              ///< --per-step: firing rates per timestep
  bool check_reversible = false;      ///< --check-reversible: T-RevSNN's inverse, measured
  std::vector<std::string> records;   ///< --record NODE: its values into the trace
  // lm
  std::size_t max_length = 0;  ///< --max-length: 0, the model's positions
  std::string trace_layers;    ///< --trace-layers 0,3: the encoder layers traced
  // trace
  std::vector<std::string> files;         ///< every positional argument (files[0] is `network`)
  std::vector<std::string> populations;   ///< --population NAME (repeatable)
  std::string from, to;                   ///< --from 100ms, --to 1s: a time window
  bool json = false;                      ///< --json
  std::string bin;                        ///< --bin 5ms: histogram / count window
  std::size_t width = 800, height = 500;  ///< plot size, pixels
  std::string title;
  std::string variable;                ///< state plot: the sampled variable
  std::vector<std::uint32_t> neurons;  ///< state plot: --neuron N (repeatable)
  std::string format;                  ///< export format
  bool exact = false;                  ///< compare: spike trains must be identical
  double tolerance = 0.1;              ///< compare: relative tolerance on rates and CVs
  double ks_threshold = 0.2;           ///< compare: largest Kolmogorov-Smirnov distance accepted
  // export nir, import nir
  bool approximate = false;   ///< export: approximate what the target cannot express, with warnings
  std::string kind = "auto";  ///< import: auto, population or layer_graph

  // export loihi2, export check
  bool report = false;  ///< export loihi2: run float and fixed point and print their deviation
  std::string target;   ///< export check: loihi2 or xylo
};

enum class OptionGroup {
  network,         ///< NET.json and --param
  run,             ///< --duration, --dt, --seed, --threads, --backend
  simulation,      ///< the same without --backend (runs that use the CPU backend only)
  output,          ///< -o, --summary-json, --quiet
  infer,           ///< --input, --labels, --batch, --timesteps, --top-k, --threads, --backend
  energy,          ///< --energy-mac-pj, --energy-ac-pj
  language_model,  ///< snnsim lm: --input, --batch, --max-length, --top-k, --threads, ...
  trace_select,    ///< --population, --from, --to
  trace_summary,   ///< --json, --bin
  trace_plot,      ///< -o PLOT.svg|png, --width, --height, --title
  trace_plot_bin,  ///< --bin of rate, isi and hist plots
  trace_state,     ///< --variable, --neuron of state plots
  trace_compare,   ///< --exact, --tolerance, --ks-threshold, --json
  trace_export,    ///< --format, -o
  nir_export,      ///< -o NET.nir, --approximate, --dt
  nir_import,      ///< -o NET.json, --kind
  nir_time_step,   ///< --dt: the step of a NIR graph's equations (import, infer)
  loihi2_export,   ///< -o OUT.json, --report
  export_check,    ///< --target loihi2|xylo|nir
};

/// The positional arguments a command takes: what they are (for "missing ..." messages) and
/// how many.
struct Positionals {
  const char* what = "the network file";
  std::size_t least = 1, most = 1;
};

/// --backend's value: cpu, cuda or auto; throws std::runtime_error otherwise.
BackendKind parse_backend(const std::string& name);

/// The options of `group`, storing into `arguments`.
boost::program_options::options_description options_for(OptionGroup group, Arguments& arguments);

/// Parses a command's arguments; returns false (after printing usage) when --help was asked.
/// Throws std::runtime_error with a one-line message for a bad command line.
bool parse_command_line(int argc, const char* const* argv, const std::string& usage,
                        const std::vector<OptionGroup>& groups, Arguments& arguments,
                        Positionals positionals = {});

/// The network-file overrides given on the command line (--param, --duration, --dt, --seed).
LoadOptions load_options(const Arguments& arguments);

/// "1s", "0.1ms", "250 ms" as a quantity in the dimension's canonical unit.
double parse_command_line_quantity(const std::string& option, const std::string& text,
                                   Dimension dimension);

}  // namespace snnsim::cli
