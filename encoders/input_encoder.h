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
// - delta: a sequence sample [T][features] becomes signed spikes by delta modulation
//   (encoders/delta_encoder.h): +1 / -1 each time the value has moved by `threshold`.
// - event_frames: an event-camera recording (x, y, t, polarity) binned into T frames of
//   per-pixel counts [2][H][W] (encoders/event_frames.h), presented one frame per timestep.
// - sequence: a sample that is already a sequence [T][features], one frame per timestep as it
//   is (the inputs of NIR graphs, recorded spike trains, time series).
#include <cstdint>
#include <span>
#include <string_view>

#include "encoders/event_frames.h"
#include "sim/graph/value.h"

namespace snnsim {

enum class EncoderKind { direct, rate, latency, delta, event_frames, sequence };

struct EncoderSpec {
  EncoderKind kind = EncoderKind::direct;
  std::uint64_t seed = 1;
  float threshold = 0.1f;                  ///< delta
  FrameSplit split = FrameSplit::by_time;  ///< event_frames
};

/// "direct", "rate", ... as network files write them.
std::string_view encoder_name(EncoderKind kind);

/// Whether a sample of this encoder holds one value per timestep ([T][features]: delta, event
/// frames and sequences) rather than one value ([features]).
inline bool encodes_sequences(EncoderKind kind) {
  return kind == EncoderKind::delta || kind == EncoderKind::event_frames ||
         kind == EncoderKind::sequence;
}

/// Encodes `samples` ([batch][features] of `shape`, or [batch][T][features] for sequence
/// encoders), the samples numbered from `first_sample` (so that rate coding draws the same
/// spikes for a sample whatever batch it falls in).
Value encode_input(const EncoderSpec& spec, const Shape& shape, std::span<const float> samples,
                   std::size_t batch, std::size_t first_sample, std::size_t timesteps);

}  // namespace snnsim
