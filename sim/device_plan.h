#pragma once
// Device memory planning for the grid (CUDA) backend: everything the backend will allocate is
// sized here, from the network alone, before anything is allocated, so that a network that does
// not fit is refused with the size needed and the size free instead of failing half-way.
//
// Spike-delivery strategy per projection (kernels/spike_delivery.h): post-span (one thread per
// target scanning its column) when the projection is dense, mean fan-out at least
// kPostSpanDensity of the targets, and its source is updated on the device (post-span reads the
// source's spike flags); pre-span (one warp per spike) otherwise. Why density: pre-span work is
// (spikes x fan-out) atomics, post-span work is every synapse every step without atomics. With
// dense rows every spike's warp hits the same target addresses as every other spike's, so
// atomics serialise; with sparse rows and the low per-step spike fractions of cortical models
// (1% of neurons or fewer per 0.1 ms step) pre-span touches 100x fewer synapses.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/network.h"

namespace snnsim {

class SpikeExchange;

enum class DeliveryStrategy {
  pre_span,   ///< one warp per spike, atomics into the targets' slots
  post_span,  ///< one thread per target, scanning its sources' spike flags
};

inline constexpr double kPostSpanDensity = 0.25;

struct DevicePlanOptions {
  /// Device memory for the per-step spike lists of a chunk (and their packed copy): the chunk
  /// length K follows from it.
  std::uint64_t spike_buffer_bytes = 64ull << 20;
  std::uint32_t max_chunk_steps = 1000;
  /// Forces one strategy on every projection where it is compatible (tests, benchmarks).
  std::optional<DeliveryStrategy> delivery;
  /// A distributed run's other processes (sim/spike_exchange.h), or null. Its projections are
  /// delivered pre-span, from the exchanged spike lists, and its chunks are at most the shortest
  /// delay.
  SpikeExchange* exchange = nullptr;
};

struct DevicePlan {
  /// Steps per chunk: spikes and samples are copied to the host once per chunk.
  std::uint32_t chunk_steps = 1;
  std::vector<std::uint32_t> ring_slots;  ///< per population
  /// Per population: spikes computed on the host ahead of each chunk, for populations without a
  /// per-neuron update (their spikes depend on nothing in the network: spike_generator).
  std::vector<bool> host_fed;
  std::vector<DeliveryStrategy> delivery;  ///< per projection

  /// Device bytes by purpose.
  struct Bytes {
    std::uint64_t neurons = 0;    ///< state variables, spike flags, input rings, currents
    std::uint64_t spikes = 0;     ///< per-step spike lists of a chunk, counts, packed copy
    std::uint64_t synapses = 0;   ///< CSR rows (and transposes for post-span)
    std::uint64_t recording = 0;  ///< probe indices and sample rows of a chunk
    std::uint64_t inputs = 0;     ///< Poisson tables
    std::uint64_t total() const { return neurons + spikes + synapses + recording + inputs; }
  } bytes;
  double bytes_per_neuron = 0.0;   ///< neuron bytes over the neuron count
  double bytes_per_synapse = 0.0;  ///< synapse bytes over the synapse count

  /// "device memory 103.3 MB: 33 B/neuron, 4.2 B/synapse, 66.4 MB of spike buffers (copied
  /// every 83 steps)".
  std::string describe() const;
};

/// "103.3 MB", "9.42 GB": device memory sizes in messages.
std::string megabytes(std::uint64_t bytes);

/// Plans the device memory and the delivery strategies of `network`.
DevicePlan plan_device_memory(const Network& network, const DevicePlanOptions& options = {});

/// Throws std::runtime_error naming the size needed and the size free when `plan` (plus the
/// device's `scratch_bytes`) exceeds `free_bytes` of the device called `device`.
void check_device_memory(const DevicePlan& plan, std::uint64_t scratch_bytes,
                         std::uint64_t free_bytes, const std::string& device);

}  // namespace snnsim
