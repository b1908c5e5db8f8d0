#pragma once
// The largest (and smallest) sizes snnsim accepts from a network file or the command line,
// defined once. Every size is checked arithmetically against them before anything is allocated
// or looped over, so an input asking for too much is refused at once in one line that names the
// limit, rather than running out of memory (std::bad_alloc) or running for hours first.
// docs/network-format.md lists them for users.
#include <cstdint>
#include <initializer_list>
#include <string>

namespace snnsim::limits {

/// Elements of one tensor of a layer graph: a sample's value at a node, a weight tensor, a
/// kernel's taps along an axis. 2^28 is 1 GiB of float32 for one sample at one timestep, far
/// beyond a real model's layer (a 64 x 112 x 112 ResNet stem has 2^19.6) and small enough that
/// what a layer precomputes for it (bias, pooling windows) is built in well under a second.
inline constexpr std::uint64_t kTensorElements = std::uint64_t{1} << 28;

/// Timesteps T of a layer graph, from the file or -T. Step counts per layer are kept per
/// timestep; 2^16 is far beyond the T of deep SNNs (4 to a few hundred).
inline constexpr std::uint64_t kTimesteps = std::uint64_t{1} << 16;

/// Values of one node for one batch, T x batch x the node's elements: what a layer holds at once
/// (as float32, 2^33 values are 32 GiB). A larger product is run with a smaller --batch.
inline constexpr std::uint64_t kBatchValues = std::uint64_t{1} << 33;

/// Neurons of a population network, all populations together: neuron counts and indices are
/// 32-bit (NeuronIndex).
inline constexpr std::uint64_t kNeurons = 0xFFFFFFFFull;

/// Steps of a population run, duration / dt. 2^32 steps are 5 days of biological time at
/// dt = 0.1 ms and hours of wall time even for a tiny network; more is a mistake in a unit.
inline constexpr std::uint64_t kSteps = std::uint64_t{1} << 32;

/// The smallest time step, in ms (0.1 us). Decay factors exp(-dt / tau) are float32: at
/// tau = 1 ms and this dt, the leak 1 - exp(-dt / tau) keeps about 3 significant digits (float32
/// resolves steps of 6e-8 below 1); a finer step loses them and no model here needs one.
inline constexpr double kSmallestDtMs = 1e-4;

/// Whether the product of `factors` exceeds `limit`, computed without overflow (no product
/// beyond `limit` is formed). A zero factor makes the product 0.
template <class Factors>
bool product_exceeds(const Factors& factors, std::uint64_t limit) {
  for (const auto factor : factors) {
    if (factor == 0) return false;
  }
  std::uint64_t product = 1;
  for (const auto factor : factors) {
    if (product > limit / static_cast<std::uint64_t>(factor)) return true;
    product *= static_cast<std::uint64_t>(factor);
  }
  return false;
}

inline bool product_exceeds(std::initializer_list<std::uint64_t> factors, std::uint64_t limit) {
  return product_exceeds<std::initializer_list<std::uint64_t>>(factors, limit);
}

/// "2^28 (268435456)", as messages name a limit.
inline std::string power_of_two(std::uint64_t limit) {
  int exponent = 0;
  while ((std::uint64_t{1} << exponent) < limit)
    ++exponent;
  return "2^" + std::to_string(exponent) + " (" + std::to_string(limit) + ")";
}

}  // namespace snnsim::limits
