#pragma once
// What flows along the edges of a layer graph: for T timesteps and B samples, either analog
// values (float32, dense) or spikes (compact event lists).
//
// Spikes are first-class data, not floats in disguise. A SpikeTrain holds, per (timestep,
// sample) frame, the feature indices that spiked and, for multi-level and signed spikes, each
// spike's integer level; signed (ternary) spikes also carry one amplitude per timestep (SpikeLM's
// alpha_t). A layer fed by spikes only touches the weights of the inputs that spiked.
//
// Layout: frames are time-major, frame f = t * B + b; a dense value is [T][B][features], with
// the features of one sample in C order of its shape (channels, height, width for images).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace snnsim {

/// The per-sample shape of a value: {C, H, W} for feature maps, {N, D} for tokens, {D} for
/// vectors.
using Shape = std::vector<std::size_t>;

std::size_t element_count(const Shape& shape);
/// "[8, 14, 14]".
std::string shape_string(const Shape& shape);

enum class SpikeKind {
  binary,   ///< {0, 1}
  integer,  ///< {0, 1, ..., D}: multi-level integer spikes, level per event
  ternary,  ///< {-1, 0, +1} x alpha_t: signed spikes with a per-timestep amplitude
};

/// The spikes of one node over T timesteps x B samples.
struct SpikeTrain {
  SpikeKind kind = SpikeKind::binary;
  std::size_t steps = 0, batch = 0, features = 0;
  std::vector<std::uint64_t> offsets{0};  ///< per frame, its first event; frames + 1 entries
  std::vector<std::uint32_t> indices;     ///< feature index of each event, ascending per frame
  std::vector<std::int8_t> levels;        ///< per event (integer, ternary); empty for binary
  std::vector<float> amplitude;           ///< per timestep (ternary); empty: 1

  std::size_t frames() const { return steps * batch; }
  std::size_t events() const { return indices.size(); }
  std::span<const std::uint32_t> frame_indices(std::size_t frame) const {
    return std::span(indices).subspan(offsets[frame], offsets[frame + 1] - offsets[frame]);
  }
  /// The signed integer level of event k (1 for binary spikes).
  int level(std::size_t k) const { return levels.empty() ? 1 : levels[k]; }
  /// The amplitude of timestep t's spikes.
  float scale(std::size_t step) const { return amplitude.empty() ? 1.0f : amplitude[step]; }
  /// Appends an event to the frame being built (frames are built in order; end with
  /// close_frame()).
  void add(std::uint32_t index, int level) {
    indices.push_back(index);
    if (kind != SpikeKind::binary) levels.push_back(static_cast<std::int8_t>(level));
  }
  void close_frame() { offsets.push_back(indices.size()); }
  /// The dense [T][B][features] values: level x amplitude at each event, 0 elsewhere.
  std::vector<float> to_dense() const;
};

/// Appends the nonzero entries of levels[0 .. n) to the frame being built, as events first + i
/// with those levels (binary trains keep only the indices): the indices compacted without a
/// branch per entry (compact_nonzero), then the levels gathered.
void append_nonzero_levels(const std::int8_t* levels, std::size_t n, std::uint32_t first,
                           SpikeTrain& train);

/// Appends `frames` frames to `train`, built in parallel: fill(f, part) appends frame f's events
/// to `part`, an empty train of the same kind; the parts are then joined in frame order.
template <class Fill>
void append_frames_in_parallel(SpikeTrain& train, std::size_t frames, Fill fill) {
  std::vector<SpikeTrain> parts(frames);
#pragma omp parallel for schedule(dynamic, 1)
  for (std::size_t f = 0; f < frames; ++f) {
    parts[f].kind = train.kind;
    fill(f, parts[f]);
  }
  std::size_t events = train.events();
  for (const SpikeTrain& part : parts)
    events += part.events();
  // Reserved: grown by doubling, a train's size decided what the heap held (and the peak
  // memory of a long run, as event counts vary from step to step).
  train.indices.reserve(events);
  if (train.kind != SpikeKind::binary) train.levels.reserve(events);
  for (const SpikeTrain& part : parts) {
    train.indices.insert(train.indices.end(), part.indices.begin(), part.indices.end());
    train.levels.insert(train.levels.end(), part.levels.begin(), part.levels.end());
    train.close_frame();
  }
}

/// Calls visit(k, channel, row, column) for each event k of frame f of spikes over [C, H, W]
/// feature maps. Indices ascend within a frame, so (channel, row) follows by stepping rows
/// forward: no divisions, which at one or two 64-bit divisions per spike had cost a max pooling
/// a tenth of its time.
template <class Visit>
void for_each_pixel_event(const SpikeTrain& train, std::size_t f, std::size_t height,
                          std::size_t width, Visit visit) {
  std::size_t channel = 0, row = 0, row_start = 0;
  for (std::uint64_t k = train.offsets[f]; k < train.offsets[f + 1]; ++k) {
    const std::size_t index = train.indices[k];
    while (index >= row_start + width) {
      row_start += width;
      if (++row == height) row = 0, ++channel;
    }
    visit(k, channel, row, index - row_start);
  }
}

/// A node's output.
struct Value {
  Shape shape;  ///< per sample
  std::size_t steps = 0, batch = 0;
  std::vector<float> dense;          ///< [T][B][features] when analog
  std::optional<SpikeTrain> spikes;  ///< when spiking

  std::size_t features() const { return element_count(shape); }
  /// Values over every frame: frames x features.
  std::size_t dense_elements() const { return frames() * features(); }
  std::size_t frames() const { return steps * batch; }
  bool is_spikes() const { return spikes.has_value(); }
  /// The dense values (analog, or spikes expanded), as a copy to modify.
  std::vector<float> densified() const { return spikes ? spikes->to_dense() : dense; }

  /// The dense values to read, without copying analog ones (spikes are expanded into storage).
  struct DenseView {
    std::vector<float> storage;
    std::span<const float> values;
    const float* data() const { return values.data(); }
    std::size_t size() const { return values.size(); }
    float operator[](std::size_t i) const { return values[i]; }
  };
  DenseView dense_view() const;

  static Value analog(Shape shape, std::size_t steps, std::size_t batch);
  /// A spiking value of `shape`, its steps and batch those of `spikes`.
  static Value of_spikes(Shape shape, SpikeTrain spikes);
  /// Timestep `t` of this value, as a one-step value.
  Value step(std::size_t t) const;
  /// Appends a one-step value of the same shape and batch as the next timestep.
  void append_step(const Value& next);
};

}  // namespace snnsim
