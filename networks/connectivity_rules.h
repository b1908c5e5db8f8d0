#pragma once
// Connection rules: turn a projection's description into its synapses (CSR), weights and delays.
//
// Random rules draw from counter-based streams keyed by the seed and the projection's name, one
// sequence per generated row (the presynaptic neuron for all_to_all, fixed_probability and
// fixed_outdegree; the postsynaptic neuron for fixed_indegree). Rows are generated in parallel
// and the result does not depend on the thread count. In a distributed run a process builds only
// the synapses onto the targets it holds (context.partition): target-centred rules generate only
// those rows; source-centred ones generate every row and keep those synapses, so that each is
// the synapse, weight and delay of the undistributed network.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <stdexcept>

#include "networks/network_spec.h"
#include "sim/connectivity.h"
#include "sim/partition.h"
#include "sim/random.h"

namespace snnsim {

struct SynapseBuildContext {
  NeuronIndex source_size = 0;
  NeuronIndex target_size = 0;  ///< the whole target population
  /// The block of targets to build (its first neuron becomes target 0 of the result).
  Partition partition;
  bool same_population = false;  ///< autapses are only possible then
  std::uint64_t seed = 0;
  double dt_ms = 0.1;
  std::filesystem::path base_directory;  ///< relative HDF5 paths are relative to this
  /// When it becomes true (Ctrl-C) the remaining rows are skipped and BuildInterrupted thrown.
  const std::atomic<bool>* stop = nullptr;
};

/// Building stopped because `stop` became true; nothing built is usable.
struct BuildInterrupted : std::runtime_error {
  BuildInterrupted() : std::runtime_error("interrupted while building the network") {}
};

/// Builds a projection's synapses. Throws NetworkFileError (naming the projection's place in the
/// file) for problems only visible now: unreadable or mis-shaped HDF5 datasets, value lists of
/// the wrong length.
Connectivity build_synapses(const ProjectionSpec& projection, const SynapseBuildContext& context);

/// The values of a list or file ValueSpec; throws NetworkFileError unless there are exactly
/// `count` of them.
std::vector<double> read_listed_values(const ValueSpec& spec, std::size_t count,
                                       const std::filesystem::path& base_directory);

/// One draw of a constant or distribution.
double draw_value(const ValueSpec& spec, RandomSequence& draws);

}  // namespace snnsim
