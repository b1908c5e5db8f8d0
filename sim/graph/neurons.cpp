#include "sim/graph/neurons.h"

#include <algorithm>
#include <cmath>

#include "sim/nonzero_scan.h"
#include "sim/vector_clones.h"

namespace snnsim {
namespace {

/// A spike train shaped like `x`, to be filled frame by frame.
SpikeTrain empty_train(const Value& x, SpikeKind kind) {
  SpikeTrain s;
  s.kind = kind;
  s.steps = x.steps;
  s.batch = x.batch;
  s.features = x.features();
  return s;
}

/// torch.round: half to even (the default floating-point rounding mode).
float round_half_even(float x) {
  return std::nearbyint(x);
}

}  // namespace

/// The branch-free part of a LIF/IF timestep for n neurons: charge, fire, reset, one spike flag
/// per neuron. Kind is a template parameter so that each loop has no branches and vectorises.
enum class Charge { integrate, decay_input, decay_membrane };

template <Charge kCharge>
SNNSIM_VECTOR_CLONES void charge_fire_reset_of(const float* __restrict x, float* __restrict v,
                                               std::uint8_t* __restrict fired, std::size_t n,
                                               float tau, float threshold, float reset, bool hard) {
  for (std::size_t i = 0; i < n; ++i) {
    // spikingjelly's neuronal_charge, in its order of operations.
    float h;
    if constexpr (kCharge == Charge::integrate) {
      h = v[i] + x[i];
    } else if constexpr (kCharge == Charge::decay_input) {
      h = v[i] + (x[i] - (v[i] - reset)) / tau;
    } else {
      h = v[i] - (v[i] - reset) / tau + x[i];
    }
    const bool spike = h >= threshold;
    const float after = hard ? reset : h - threshold;
    v[i] = spike ? after : h;
    fired[i] = spike;
  }
}

void LifLayer::charge_fire_reset(const float* drive, float* membrane, std::uint8_t* fired,
                                 std::size_t n) const {
  const float tau = static_cast<float>(p_.tau), threshold = static_cast<float>(p_.v_threshold);
  const bool hard = p_.v_reset.has_value();
  if (!leaky_) {
    charge_fire_reset_of<Charge::integrate>(drive, membrane, fired, n, tau, threshold, rest(),
                                            hard);
  } else if (p_.decay_input) {
    charge_fire_reset_of<Charge::decay_input>(drive, membrane, fired, n, tau, threshold, rest(),
                                              hard);
  } else {
    charge_fire_reset_of<Charge::decay_membrane>(drive, membrane, fired, n, tau, threshold, rest(),
                                                 hard);
  }
}

SpikeTrain LifLayer::fire(const Value& x, float* membrane) const {
  const Value::DenseView in = x.dense_view();
  const std::size_t n = x.features(), frames = x.frames();
  constexpr std::size_t kChunk = 16384;  // neurons; 80 KB of drive, membrane and flags
  const std::size_t chunks = (n + kChunk - 1) / kChunk;
  // parts[f * chunks + c]: the spikes of chunk c in frame f, joined in order at the end.
  std::vector<std::vector<std::uint32_t>> parts(frames * chunks);
#pragma omp parallel for schedule(dynamic, 1)
  for (std::size_t item = 0; item < chunks * x.batch; ++item) {
    const std::size_t c = item % chunks, b = item / chunks;
    const std::size_t begin = c * kChunk, count = std::min(kChunk, n - begin);
    std::vector<std::uint8_t> fired(count);
    std::vector<std::uint32_t> spiked(count + 8);
    for (std::size_t t = 0; t < x.steps; ++t) {
      const std::size_t f = t * x.batch + b;
      charge_fire_reset(in.data() + f * n + begin, membrane + b * n + begin, fired.data(), count);
      const std::size_t spikes =
          compact_nonzero(fired.data(), count, static_cast<std::uint32_t>(begin), spiked.data());
      parts[f * chunks + c].assign(spiked.begin(), spiked.begin() + spikes);
    }
  }
  SpikeTrain s = empty_train(x, SpikeKind::binary);
  for (std::size_t f = 0; f < frames; ++f) {
    for (std::size_t c = 0; c < chunks; ++c)
      s.indices.insert(s.indices.end(), parts[f * chunks + c].begin(), parts[f * chunks + c].end());
    s.close_frame();
  }
  return s;
}

Value LifLayer::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  std::vector<float> v(x.batch * x.features(), rest());
  return Value::of_spikes(x.shape, fire(x, v.data()));
}

Value LifLayer::forward_step(std::span<const Value* const> inputs, OpCounts&,
                             StepContext& context) const {
  const Value& x = *inputs[0];
  std::vector<float>& v = context.state[0];
  if (v.empty()) v.assign(x.batch * x.features(), rest());
  return Value::of_spikes(x.shape, fire(x, v.data()));
}

Value ThresholdLayer::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  const Value::DenseView in = x.dense_view();
  const std::size_t n = x.features();
  SpikeTrain s = empty_train(x, levels_ == 1 ? SpikeKind::binary : SpikeKind::integer);
  if (levels_ == 1) {
    // Frames are cut into chunks for the threads (a batch of one is one frame), each
    // compacting its spikes.
    constexpr std::size_t kChunk = std::size_t{1} << 14;
    const std::size_t chunks = (n + kChunk - 1) / kChunk;
    std::vector<std::vector<std::uint32_t>> parts(x.frames() * chunks);
#pragma omp parallel for schedule(dynamic, 1)
    for (std::size_t item = 0; item < parts.size(); ++item) {
      const std::size_t begin = item % chunks * kChunk, end = std::min(n, begin + kChunk);
      const float* u = in.data() + item / chunks * n;
      std::vector<std::uint32_t>& part = parts[item];
      part.resize(end - begin + 16);
      part.resize(compact_above(u + begin, end - begin, kBinaryAbove,
                                static_cast<std::uint32_t>(begin), part.data()));
    }
    std::size_t events = 0;
    for (const std::vector<std::uint32_t>& part : parts)
      events += part.size();
    s.indices.reserve(events);  // as append_frames_in_parallel does
    for (std::size_t f = 0; f < x.frames(); ++f) {
      for (std::size_t c = 0; c < chunks; ++c) {
        const std::vector<std::uint32_t>& part = parts[f * chunks + c];
        s.indices.insert(s.indices.end(), part.begin(), part.end());
      }
      s.close_frame();
    }
    return Value::of_spikes(x.shape, std::move(s));
  }
  const float top = static_cast<float>(levels_);
  for (std::size_t f = 0; f < x.frames(); ++f) {
    const float* u = in.data() + f * n;
    for (std::size_t i = 0; i < n; ++i) {
      const int level = static_cast<int>(round_half_even(std::clamp(u[i], 0.0f, top)));
      if (level != 0) s.add(static_cast<std::uint32_t>(i), level);
    }
    s.close_frame();
  }
  return Value::of_spikes(x.shape, std::move(s));
}

SNNSIM_VECTOR_CLONES void TernaryLayer::quantize(const float* x, std::size_t t, std::size_t n,
                                                 float* u, float* last, std::int8_t* q) const {
  const float step = step_[t], leak = t > 0 ? alpha_[t - 1] : 0.0f;
  const bool leaky = elastic_ && t > 0;
  for (std::size_t i = 0; i < n; ++i) {
    // SpikeLM: u_t = 0.25 (alpha_{t-1} - s_{t-1}) u_{t-1} + x_t, with s = alpha q.
    const float charge = leaky ? 0.25f * (leak - last[i]) * u[i] + x[i] : x[i];
    // round(charge / step) clamped to [-1, 1], ties to even: +-0.5 give 0. As selects, so that
    // the loop vectorizes.
    const float ratio = charge / step;
    const float level = ratio > 0.5f ? 1.0f : ratio < -0.5f ? -1.0f : 0.0f;
    u[i] = charge;
    last[i] = step * level;
    q[i] = static_cast<std::int8_t>(level);
  }
}

Value TernaryLayer::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  if (x.steps != timesteps_) {
    throw GraphError("alpha has " + std::to_string(timesteps_) + " timesteps; the run has " +
                     std::to_string(x.steps));
  }
  const Value::DenseView in = x.dense_view();
  const std::size_t n = x.features(), frames = x.frames();
  // As LifLayer::fire: chunks of neurons that threads run through every timestep, their events
  // joined in frame order at the end.
  constexpr std::size_t kChunk = 16384;
  const std::size_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<SpikeTrain> parts(frames * chunks);
#pragma omp parallel for schedule(dynamic, 1)
  for (std::size_t item = 0; item < chunks * x.batch; ++item) {
    const std::size_t c = item % chunks, b = item / chunks;
    const std::size_t begin = c * kChunk, count = std::min(kChunk, n - begin);
    std::vector<float> u(count, 0.0f), last(count, 0.0f);
    std::vector<std::int8_t> q(count);
    for (std::size_t t = 0; t < x.steps; ++t) {
      const std::size_t f = t * x.batch + b;
      quantize(in.data() + f * n + begin, t, count, u.data(), last.data(), q.data());
      parts[f * chunks + c].kind = SpikeKind::ternary;
      append_nonzero_levels(q.data(), count, static_cast<std::uint32_t>(begin),
                            parts[f * chunks + c]);
    }
  }
  SpikeTrain s = empty_train(x, SpikeKind::ternary);
  s.amplitude = step_;
  for (std::size_t f = 0; f < frames; ++f) {
    for (std::size_t c = 0; c < chunks; ++c) {
      const SpikeTrain& part = parts[f * chunks + c];
      s.indices.insert(s.indices.end(), part.indices.begin(), part.indices.end());
      s.levels.insert(s.levels.end(), part.levels.begin(), part.levels.end());
    }
    s.close_frame();
  }
  return Value::of_spikes(x.shape, std::move(s));
}

Value TernaryLayer::forward_step(std::span<const Value* const> inputs, OpCounts&,
                                 StepContext& context) const {
  const Value& x = *inputs[0];
  if (context.step >= timesteps_) {
    throw GraphError("alpha has " + std::to_string(timesteps_) + " timesteps; the run has more");
  }
  const Value::DenseView in = x.dense_view();
  const std::size_t n = x.features();
  if (context.state[0].empty()) {
    context.state[0].assign(x.batch * n, 0.0f);
    context.state[1].assign(x.batch * n, 0.0f);
  }
  SpikeTrain s = empty_train(x, SpikeKind::ternary);
  s.amplitude = {step_[context.step]};
  std::vector<std::int8_t> q(n);
  for (std::size_t b = 0; b < x.batch; ++b) {
    quantize(in.data() + b * n, context.step, n, context.state[0].data() + b * n,
             context.state[1].data() + b * n, q.data());
    append_nonzero_levels(q.data(), n, 0, s);
    s.close_frame();
  }
  return Value::of_spikes(x.shape, std::move(s));
}

}  // namespace snnsim
