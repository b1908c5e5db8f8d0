#pragma once
// Builds a runnable Network from a validated NetworkSpec: creates each population's state and
// draws its initial values, generates every projection's synapses, creates the external drives
// and the state probes.
#include <atomic>

#include "networks/network_spec.h"
#include "sim/network.h"
#include "sim/partition.h"

namespace snnsim {

/// What building a network will take, estimated from its description (synapses drawn at random
/// counted by their expected number; synapses read from files not counted).
struct MemoryEstimate {
  double synapses = 0;
  double bytes = 0;
  const ProjectionSpec* largest = nullptr;  ///< the projection with the most synapses
  double largest_synapses = 0;
};
MemoryEstimate estimate_memory(const NetworkSpec& spec);

/// The synapses projection `p` between `sources` and `targets` neurons will have: exact for
/// regular rules and listed synapses, the expected number for random ones, 0 for files.
double expected_synapses(const ProjectionSpec& p, double sources, double targets);

/// The estimate; throws NetworkFileError, naming the largest projection, when the network would
/// not fit in this machine's memory.
MemoryEstimate check_memory(const NetworkSpec& spec);

/// Throws NetworkFileError for problems found only while building (HDF5 datasets) and, before
/// building anything, when the network would not fit in memory. When `stop` becomes true
/// (Ctrl-C) building ends early with BuildInterrupted (networks/connectivity_rules.h).
/// In a distributed run, `partition` names the block of every population this process builds:
/// its neurons, and the synapses onto them (sim/partition.h).
Network build_network(const NetworkSpec& spec, const std::atomic<bool>* stop = nullptr,
                      Partition partition = {});

}  // namespace snnsim
