#pragma once
// Builds a runnable Network from a validated NetworkSpec: creates each population's state and
// draws its initial values, generates every projection's synapses, creates the external drives
// and the state probes.
#include "networks/network_spec.h"
#include "sim/network.h"

namespace snnsim {

/// Throws NetworkFileError for problems found only while building (HDF5 datasets).
Network build_network(const NetworkSpec& spec);

}  // namespace snnsim
