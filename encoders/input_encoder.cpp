#include "encoders/input_encoder.h"

#include <algorithm>
#include <cmath>

#include "encoders/delta_encoder.h"
#include "sim/random.h"

namespace snnsim {

std::string_view encoder_name(EncoderKind kind) {
  constexpr std::string_view kNames[] = {"direct", "rate",         "latency",
                                         "delta",  "event_frames", "sequence"};
  return kNames[static_cast<int>(kind)];
}

Value encode_input(const EncoderSpec& spec, const Shape& shape, std::span<const float> samples,
                   std::size_t batch, std::size_t first_sample, std::size_t timesteps) {
  const std::size_t n = element_count(shape);
  if (spec.kind == EncoderKind::event_frames || spec.kind == EncoderKind::sequence) {
    // Samples are [batch][T][features]; values are [T][batch][features].
    Value v = Value::analog(shape, timesteps, batch);
    for (std::size_t b = 0; b < batch; ++b) {
      for (std::size_t t = 0; t < timesteps; ++t) {
        std::copy_n(samples.begin() + (b * timesteps + t) * n, n,
                    v.dense.begin() + (t * batch + b) * n);
      }
    }
    return v;
  }
  if (spec.kind == EncoderKind::delta) {
    SpikeTrain s;
    s.kind = SpikeKind::ternary;
    s.steps = timesteps;
    s.batch = batch;
    s.features = n;
    s.amplitude.assign(timesteps, spec.threshold);
    std::vector<std::vector<std::int8_t>> levels;
    for (std::size_t b = 0; b < batch; ++b) {
      levels.push_back(delta_encode(samples.subspan(b * timesteps * n, timesteps * n), timesteps, n,
                                    spec.threshold));
    }
    for (std::size_t t = 0; t < timesteps; ++t) {
      for (std::size_t b = 0; b < batch; ++b) {
        for (std::size_t i = 0; i < n; ++i) {
          if (const int level = levels[b][t * n + i]) s.add(static_cast<std::uint32_t>(i), level);
        }
        s.close_frame();
      }
    }
    return Value::of_spikes(shape, std::move(s));
  }
  if (spec.kind == EncoderKind::direct) {
    Value v = Value::analog(shape, timesteps, batch);
    for (std::size_t t = 0; t < timesteps; ++t)
      std::copy(samples.begin(), samples.begin() + batch * n, v.dense.begin() + t * batch * n);
    return v;
  }
  SpikeTrain s;
  s.steps = timesteps;
  s.batch = batch;
  s.features = n;
  const RandomStream random = RandomStream::make(spec.seed, "encoder:rate");
  append_frames_in_parallel(s, timesteps * batch, [&](std::size_t f, SpikeTrain& part) {
    const std::size_t t = f / batch, b = f % batch;
    const float* x = samples.data() + b * n;
    if (spec.kind == EncoderKind::rate) {
      // One Philox block per (sample, group of 4 features, step): the group's low 32 bits are
      // the block index, its high bits go above the step in the counter.
      for (std::size_t first = 0; first < n; first += 4) {
        const std::uint64_t group = (first_sample + b) * ((n + 3) / 4) + first / 4;
        const PhiloxBlock block =
            random.block(static_cast<std::uint32_t>(group), (group >> 32 << 32) | t);
        for (std::size_t i = first; i < std::min(first + 4, n); ++i) {
          if (uniform_float(block.v[i - first]) < std::clamp(x[i], 0.0f, 1.0f))
            part.add(static_cast<std::uint32_t>(i), 1);
        }
      }
      return;
    }
    for (std::size_t i = 0; i < n; ++i) {
      const bool first_spike =
          x[i] > 0.0f &&
          static_cast<std::size_t>(
              std::lround((1.0f - std::min(x[i], 1.0f)) * static_cast<float>(timesteps - 1))) == t;
      if (first_spike) part.add(static_cast<std::uint32_t>(i), 1);
    }
  });
  return Value::of_spikes(shape, std::move(s));
}

}  // namespace snnsim
