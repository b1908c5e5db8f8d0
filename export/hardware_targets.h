#pragma once
// Resource and precision limits of neuromorphic targets, checked on a population network before
// any export (`snnsim export check`). Each limit and its source is listed in docs/export.md
// ("Constraint check"); the numbers live in hardware_targets.cpp next to their sources.
#include <string>
#include <string_view>
#include <vector>

#include "networks/network_spec.h"

namespace snnsim::hardware {

enum class Target { loihi2, xylo };

/// "loihi2" or "xylo"; throws std::runtime_error naming the choices otherwise.
Target parse_target(std::string_view name);

/// One violated constraint: the element (population, projection or network), what is limited,
/// the network's value and the target's limit.
struct Violation {
  std::string element, constraint, value, limit;
};

/// Every constraint of `target` that `spec` violates (empty when it fits). Degrees of randomly
/// drawn connectivity are expected values (p N for fixed_probability); synapses read from files
/// are not counted; drawn weights (uniform, normal) are not checked for precision, only constants
/// and lists.
std::vector<Violation> check_constraints(const NetworkSpec& spec, Target target);

/// Expected synapses per target neuron of a projection (the largest for listed synapses; 0 for
/// synapses read from files).
double expected_indegree(const NetworkSpec& spec, const ProjectionSpec& projection);

}  // namespace snnsim::hardware
