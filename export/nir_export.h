#pragma once
// `snnsim export nir`: a network file as a NIR graph (networks/nir_file.h) that NIR's reference
// package loads with its type checks on, under the conventions of docs/export.md ("NIR
// conventions": seconds, forward Euler at dt, a spike is 1 in its step).
//
// Population networks map their populations to LIF / IF / CubaLIF nodes with parameters chosen
// so that NIR's Euler step equals snnsim's step, each projection to a dense Linear behind a Delay
// node; layer graphs map their operators one to one (Conv2d, Affine, pooling, LIF, ...).
// docs/export.md ("Exporting NIR") has the mapping tables.
//
// What NIR cannot express is a problem, one line per offending element naming it and saying
// what `--approximate` would do about it, or that it cannot help. export_nir refuses a network
// with problems (one NirExportError listing them all) unless options.approximate and every
// problem is approximable; each approximation made is then one warning line.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "networks/network_file.h"
#include "networks/nir_file.h"

namespace snnsim {

struct NirExportOptions {
  /// Approximate what NIR cannot express (a warning each) instead of refusing it.
  bool approximate = false;
  /// The time step in seconds. Layer graphs: the duration of one timestep (default 1 ms);
  /// population networks: overrides the file's simulation dt.
  std::optional<double> dt_s;
  /// The most weights all dense matrices (Linear, Affine) may hold together: 2^27 elements, 512
  /// MB as float32.
  std::uint64_t dense_limit = std::uint64_t{1} << 27;
};

/// A network NIR cannot express as options allow. what(): a first line naming the file and
/// counting the problems, then one line per problem.
class NirExportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct NirExport {
  nir::Graph graph;
  /// One warning line per approximation made (only with options.approximate).
  std::vector<std::string> approximations;
  /// What the user should know and that changes nothing (Input nodes carry no spike times).
  std::vector<std::string> notes;
  /// Elements of every Linear, Affine and Conv2d weight written.
  std::uint64_t dense_weights = 0;
};

/// Every element of the network NIR cannot express, one line each ("populations/2 'E'
/// (lif_cond_exp): conductance-based synapses: ...; --approximate: ..."); empty when the network
/// exports as it is. Throws NetworkFileError for a network file that does not load.
std::vector<std::string> nir_export_problems(const std::filesystem::path& network_file,
                                             const LoadOptions& load,
                                             const NirExportOptions& options);

/// The network file (population network or layer graph) as a NIR graph. Throws NirExportError
/// (see above), or NetworkFileError for a file that does not load.
NirExport export_nir(const std::filesystem::path& network_file, const LoadOptions& load,
                     const NirExportOptions& options);

/// Node metadata marking an Input that only gives NIR's type inference an entry point (a
/// population network without sources); the import ignores it.
inline constexpr const char* kEntryPointOnly = "entry_point_only";

namespace nir_export_detail {

/// One thing NIR cannot express. `approximation` is empty when --approximate cannot help;
/// otherwise the warning printed when it is approximated.
struct Problem {
  std::string element;        ///< "populations/2 'E' (lif_cond_exp)", "nodes/3 'attn' (attention)"
  std::string what;           ///< what NIR lacks
  std::string approximation;  ///< what --approximate does, or "" when it cannot help
  std::string line() const;
};

/// The translation of one kind of network: the graph (complete only when `problems` is empty or
/// every problem has been approximated), the problems found and the notes.
struct Translation {
  NirExport result;
  std::vector<Problem> problems;
};

/// `build_graph` false: only the problems are wanted (no weights densified).
Translation translate_population_network(const std::filesystem::path& network_file,
                                         const LoadOptions& load, const NirExportOptions& options,
                                         bool build_graph);
Translation translate_layer_graph(const std::filesystem::path& network_file,
                                  const NirExportOptions& options);

/// `name` as a NIR node name: letters, digits, '_' and '-' kept, anything else (a '.' would
/// read as a nested graph's node) becomes '_'; made unique among `taken`, which it joins.
std::string node_name(const std::string& name, std::vector<std::string>& taken);

/// A float64 array of `size` copies of `value` (parameters: written exactly).
nir::Array filled64(std::size_t size, double value, std::vector<std::size_t> shape = {});
/// A scalar float64 or an int64 pair, for metadata and Conv arguments.
nir::Array scalar64(double value);
nir::Array pair64(std::size_t a, std::size_t b);

}  // namespace nir_export_detail

}  // namespace snnsim
