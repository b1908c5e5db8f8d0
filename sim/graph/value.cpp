#include "sim/graph/value.h"

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

std::string_view spike_kind_name(SpikeKind kind) {
  switch (kind) {
    case SpikeKind::binary:
      return "binary";
    case SpikeKind::integer:
      return "integer";
    case SpikeKind::ternary:
      return "ternary";
  }
  return "?";
}

void SpikeTrain::add(std::uint32_t index, int level) {
  indices.push_back(index);
  if (kind != SpikeKind::binary) levels.push_back(static_cast<std::int8_t>(level));
}

std::vector<float> SpikeTrain::to_dense() const {
  std::vector<float> dense(frames() * features, 0.0f);
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

}  // namespace snnsim
