#include "sim/device_plan.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "encoders/external_drive.h"

namespace snnsim {

std::string megabytes(std::uint64_t bytes) {
  char text[32];
  if (bytes >= (1ull << 30))
    std::snprintf(text, sizeof text, "%.2f GB", static_cast<double>(bytes) / 1e9);
  else
    std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

DevicePlan plan_device_memory(const Network& network, const DevicePlanOptions& options) {
  DevicePlan plan;
  // A distributed run also holds the chunk's spikes of the whole of every population, as
  // exchanged.
  std::uint64_t spike_list_neurons = 2 * network.neuron_count();
  if (options.exchange != nullptr) {
    for (const Population& population : network.populations)
      spike_list_neurons += population.total;
  }
  plan.chunk_steps = static_cast<std::uint32_t>(std::clamp<std::uint64_t>(
      options.spike_buffer_bytes /
          std::max<std::uint64_t>(1, sizeof(NeuronIndex) * spike_list_neurons),
      1, options.max_chunk_steps));
  const std::uint64_t chunk = plan.chunk_steps;

  for (std::size_t p = 0; p < network.populations.size(); ++p) {
    const Population& population = network.populations[p];
    const std::uint64_t size = population.size();
    const bool host_fed = population.dynamics->model_constants().empty();
    plan.host_fed.push_back(host_fed);
    plan.ring_slots.push_back(network.ring_slots(p));
    if (!host_fed) {
      const std::uint64_t variables = population.model->state.size();
      const std::uint64_t receptors = population.model->receptors.size();
      plan.bytes.neurons += variables * (size * sizeof(float) + sizeof(float*));
      plan.bytes.neurons += size * sizeof(std::uint8_t);
      plan.bytes.neurons += receptors * plan.ring_slots.back() * size * sizeof(float);
      if (network.has_current_drive(p)) plan.bytes.neurons += size * sizeof(float);
    }
    plan.bytes.spikes += 2 * chunk * size * sizeof(NeuronIndex) + chunk * sizeof(std::uint32_t);
    if (options.exchange != nullptr) {
      plan.bytes.spikes +=
          chunk * population.total * sizeof(NeuronIndex) + chunk * sizeof(std::uint32_t);
    }
  }

  for (const Projection& projection : network.projections) {
    const Connectivity& c = projection.synapses;
    const bool dense = static_cast<double>(c.synapse_count()) >=
                       kPostSpanDensity * c.source_size * static_cast<double>(c.target_size);
    const bool post_compatible = !plan.host_fed[projection.source];
    DeliveryStrategy strategy = dense ? DeliveryStrategy::post_span : DeliveryStrategy::pre_span;
    if (options.delivery) strategy = *options.delivery;
    // Post-span reads the source's spike flags, which a distributed run has only for its block.
    if (!post_compatible || options.exchange != nullptr) strategy = DeliveryStrategy::pre_span;
    plan.delivery.push_back(strategy);
    // Post-span keeps only the transpose: the host's CSR counts the events.
    plan.bytes.synapses += c.bytes();
    if (strategy == DeliveryStrategy::post_span) {
      plan.bytes.synapses +=
          (static_cast<std::uint64_t>(c.target_size) + 1) * sizeof(std::uint64_t);
      plan.bytes.synapses -=
          (static_cast<std::uint64_t>(c.source_size) + 1) * sizeof(std::uint64_t);
    }
  }

  for (const StateProbe& probe : network.probes) {
    plan.bytes.recording += (chunk + 1) * probe.neurons.size() * sizeof(float);
  }
  for (const auto& drive : network.drives) {
    if (const auto* poisson = dynamic_cast<const PoissonDrive*>(drive.get())) {
      plan.bytes.inputs += poisson->input().table_size * sizeof(double);
    }
  }

  const std::uint64_t synapses = network.synapse_count();
  const std::uint64_t neurons = network.neuron_count();
  plan.bytes_per_neuron = neurons > 0 ? static_cast<double>(plan.bytes.neurons) / neurons : 0.0;
  plan.bytes_per_synapse = synapses > 0 ? static_cast<double>(plan.bytes.synapses) / synapses : 0.0;
  return plan;
}

std::string DevicePlan::describe() const {
  char text[200];
  std::snprintf(text, sizeof text,
                "device memory %s: %.0f B/neuron, %.1f B/synapse, %s of spike buffers (copied "
                "every %u steps)",
                megabytes(bytes.total()).c_str(), bytes_per_neuron, bytes_per_synapse,
                megabytes(bytes.spikes).c_str(), chunk_steps);
  return text;
}

void check_device_memory(const DevicePlan& plan, std::uint64_t scratch_bytes,
                         std::uint64_t free_bytes, const std::string& device) {
  const std::uint64_t needed = plan.bytes.total() + scratch_bytes;
  if (needed <= free_bytes) return;
  throw std::runtime_error("the network needs " + megabytes(needed) + " of GPU memory (" +
                           megabytes(plan.bytes.neurons + plan.bytes.spikes) + " for neurons, " +
                           megabytes(plan.bytes.synapses) + " for synapses) but " + device +
                           " has " + megabytes(free_bytes) +
                           " free; use --backend cpu or a smaller network");
}

}  // namespace snnsim
