#include "sim/graph/value.h"

#include "sim/nonzero_scan.h"

namespace snnsim {

std::size_t element_count(const Shape& shape) {
  std::size_t n = 1;
  for (std::size_t d : shape)
    n *= d;
  return n;
}

std::string shape_string(const Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

void append_nonzero_levels(const std::int8_t* levels, std::size_t n, std::uint32_t first,
                           SpikeTrain& train) {
  const std::size_t start = train.indices.size();
  train.indices.resize(start + n + 8);
  std::uint32_t* indices = train.indices.data() + start;
  const std::size_t count = compact_nonzero(levels, n, first, indices);
  train.indices.resize(start + count);
  if (train.kind == SpikeKind::binary) return;
  train.levels.resize(start + count);
  for (std::size_t k = 0; k < count; ++k)
    train.levels[start + k] = levels[indices[k] - first];
}

std::vector<float> SpikeTrain::to_dense() const {
  std::vector<float> dense(frames() * features, 0.0f);
#pragma omp parallel for schedule(static)
  for (std::size_t frame = 0; frame < frames(); ++frame) {
    const float amplitude = scale(frame / batch);
    float* out = dense.data() + frame * features;
    for (std::uint64_t k = offsets[frame]; k < offsets[frame + 1]; ++k)
      out[indices[k]] += static_cast<float>(level(k)) * amplitude;
  }
  return dense;
}

Value Value::analog(Shape shape, std::size_t steps, std::size_t batch) {
  Value value;
  value.steps = steps;
  value.batch = batch;
  value.dense.assign(steps * batch * element_count(shape), 0.0f);
  value.shape = std::move(shape);
  return value;
}

Value::DenseView Value::dense_view() const {
  DenseView view;
  if (spikes) {
    view.storage = spikes->to_dense();
    view.values = view.storage;
  } else {
    view.values = dense;
  }
  return view;  // returned in place (NRVO); a move would keep storage's buffer, and so the span
}

Value Value::of_spikes(Shape shape, SpikeTrain spikes) {
  Value value;
  value.shape = std::move(shape);
  value.steps = spikes.steps;
  value.batch = spikes.batch;
  value.spikes = std::move(spikes);
  return value;
}

Value Value::step(std::size_t t) const {
  Value one;
  one.shape = shape;
  one.steps = 1;
  one.batch = batch;
  const std::size_t frame = batch * features();
  if (!spikes) {
    one.dense.assign(dense.begin() + t * frame, dense.begin() + (t + 1) * frame);
    return one;
  }
  const SpikeTrain& s = *spikes;
  SpikeTrain part;
  part.kind = s.kind;
  part.steps = 1;
  part.batch = batch;
  part.features = s.features;
  if (!s.amplitude.empty()) part.amplitude = {s.amplitude[t]};
  for (std::size_t f = t * batch; f < (t + 1) * batch; ++f) {
    for (std::uint64_t k = s.offsets[f]; k < s.offsets[f + 1]; ++k)
      part.add(s.indices[k], s.level(k));
    part.close_frame();
  }
  one.spikes = std::move(part);
  return one;
}

void Value::append_step(const Value& next) {
  if (steps == 0) {
    *this = next;
    return;
  }
  ++steps;
  if (!spikes) {
    const std::vector<float> values = next.densified();
    dense.insert(dense.end(), values.begin(), values.end());
    return;
  }
  SpikeTrain& s = *spikes;
  const SpikeTrain& n = *next.spikes;
  ++s.steps;
  if (!s.amplitude.empty()) s.amplitude.push_back(n.scale(0));
  for (std::size_t f = 0; f < n.frames(); ++f) {
    for (std::uint64_t k = n.offsets[f]; k < n.offsets[f + 1]; ++k)
      s.add(n.indices[k], n.level(k));
    s.close_frame();
  }
}

}  // namespace snnsim
