#include "sim/network.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace snnsim {

Step Network::steps() const {
  return static_cast<Step>(std::llround(duration_ms / dt_ms));
}

NeuronIndex Network::neuron_count() const {
  NeuronIndex total = 0;
  for (const Population& p : populations)
    total += p.size();
  return total;
}

std::uint64_t Network::synapse_count() const {
  std::uint64_t total = 0;
  for (const Projection& p : projections)
    total += p.synapses.synapse_count();
  return total;
}

std::uint64_t Network::synapse_bytes() const {
  std::uint64_t total = 0;
  for (const Projection& p : projections)
    total += p.synapses.bytes();
  return total;
}

int Network::population_index(const std::string& name) const {
  for (std::size_t i = 0; i < populations.size(); ++i) {
    if (populations[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::uint32_t Network::ring_slots(std::size_t population) const {
  std::uint32_t slots = 2;
  for (const Projection& projection : projections) {
    if (projection.target == population) {
      slots = std::max<std::uint32_t>(slots, projection.synapses.max_delay() + 1u);
    }
  }
  return slots;
}

std::uint32_t Network::min_delay() const {
  std::uint32_t shortest = std::numeric_limits<std::uint32_t>::max();
  for (const Projection& projection : projections)
    shortest = std::min<std::uint32_t>(shortest, projection.synapses.min_delay());
  return shortest;
}

bool Network::has_current_drive(std::size_t population) const {
  return std::any_of(drives.begin(), drives.end(), [population](const auto& drive) {
    return drive->population() == population && drive->receptor() == ExternalDrive::kCurrent;
  });
}

}  // namespace snnsim
