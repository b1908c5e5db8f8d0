#pragma once
// Input encoders of layer graphs: how a sample of analog values (an image, a feature vector)
// becomes the graph's input over T timesteps.
//
// - direct: the analog values at every timestep (the first layer then computes with MACs);
//   spikingjelly's and the papers' usual choice for static images.
// - rate: a spike with probability clamp(x, 0, 1) at each timestep, independently (Bernoulli,
//   counter-based Philox: reproducible for a seed whatever the batch).
// - latency: time-to-first-spike; one spike at step round((1 - x) * (T - 1)) for x in (0, 1],
//   none for x <= 0: stronger inputs fire earlier.
#include <cstdint>
#include <span>

#include "sim/graph/value.h"

namespace snnsim {

enum class EncoderKind { direct, rate, latency };

struct EncoderSpec {
  EncoderKind kind = EncoderKind::direct;
  std::uint64_t seed = 1;
};

/// Encodes `samples` ([batch][features] of `shape`), the samples numbered from `first_sample`
/// (so that rate coding draws the same spikes for a sample whatever batch it falls in).
Value encode_input(const EncoderSpec& spec, const Shape& shape, std::span<const float> samples,
                   std::size_t batch, std::size_t first_sample, std::size_t timesteps);

}  // namespace snnsim
