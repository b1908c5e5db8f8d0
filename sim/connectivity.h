#pragma once
// Synapses of one projection, stored for fast fan-out: compressed sparse rows by presynaptic
// neuron (CSR), targets ascending within a row, 32-bit target indices, float32 weights, 16-bit
// delays in steps. A projection whose weights (or delays) are all equal stores one value instead
// of an array, so a homogeneous projection costs 4 bytes per synapse.
#include <cstdint>
#include <span>
#include <vector>

#include "sim/types.h"

namespace snnsim {

struct Connectivity {
  NeuronIndex source_size = 0;
  NeuronIndex target_size = 0;
  std::vector<std::uint64_t> row_offsets;  ///< source_size + 1 entries
  std::vector<NeuronIndex> targets;        ///< one per synapse
  std::vector<float> weights;              ///< one per synapse, or empty: all equal `weight`
  float weight = 0.0f;
  std::vector<std::uint16_t> delays;  ///< steps, one per synapse, or empty: all `delay`
  std::uint16_t delay = 1;

  std::uint64_t synapse_count() const { return targets.size(); }
  std::uint16_t max_delay() const;
  std::uint16_t min_delay() const;
  /// Memory held, in bytes.
  std::uint64_t bytes() const;
  /// Replaces `weights` by the single value `weight` when they are all equal (same for delays).
  void compact_homogeneous();
};

/// The transpose: rows by target, each listing its sources ascending (synapses with the same
/// pair keep their order), with weights and delays alongside; `targets` then holds sources.
/// Homogeneous weights and delays stay compact.
Connectivity transposed(const Connectivity& c);

/// A synapse list in any order, as a connection rule or a file produces it.
struct SynapseList {
  std::vector<NeuronIndex> sources, targets;
  std::vector<float> weights;         ///< empty or one per synapse
  std::vector<std::uint16_t> delays;  ///< empty or one per synapse
};

/// Sorts a synapse list into CSR (by source, then target; synapses with the same pair keep their
/// order), for a projection from `source_size` to `target_size` neurons.
Connectivity connectivity_from_list(SynapseList list, NeuronIndex source_size,
                                    NeuronIndex target_size);

}  // namespace snnsim
