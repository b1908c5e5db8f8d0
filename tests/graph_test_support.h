#pragma once
// Random layer-graph values for the operator tests (tests/graph_ops_test.cpp on the CPU,
// tests/device_graph_test.cpp on the emulated device): analog values and spikes of every kind.
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "sim/graph/layer_op.h"
#include "sim/graph/value.h"

namespace snnsim {

inline std::vector<float> random_values(std::size_t n, std::mt19937& rng, float scale = 1.0f) {
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v)
    x = normal(rng);
  return v;
}

/// The input kinds every operator is checked with.
enum class InputKind { analog, binary, integer, ternary };
inline constexpr InputKind kInputKinds[] = {InputKind::analog, InputKind::binary,
                                            InputKind::integer, InputKind::ternary};

inline const char* kind_name(InputKind kind) {
  switch (kind) {
    case InputKind::analog:
      return "analog";
    case InputKind::binary:
      return "binary";
    case InputKind::integer:
      return "integer";
    case InputKind::ternary:
      return "ternary";
  }
  return "?";
}

/// A random value of `shape` over steps x batch frames: analog (normal, standard deviation
/// `scale`), or spikes at `density`: binary, integer levels 1-3, or ternary ±1 with amplitude
/// 0.5 + 0.75 t at timestep t.
inline Value random_input(const Shape& shape, InputKind kind, std::size_t steps, std::size_t batch,
                          double density, std::mt19937& rng, float scale = 1.0f) {
  if (kind == InputKind::analog) {
    Value v = Value::analog(shape, steps, batch);
    v.dense = random_values(v.dense.size(), rng, scale);
    return v;
  }
  SpikeTrain s;
  s.kind = kind == InputKind::binary    ? SpikeKind::binary
           : kind == InputKind::integer ? SpikeKind::integer
                                        : SpikeKind::ternary;
  s.steps = steps;
  s.batch = batch;
  s.features = element_count(shape);
  if (kind == InputKind::ternary) {
    for (std::size_t t = 0; t < steps; ++t)
      s.amplitude.push_back(0.5f + 0.75f * static_cast<float>(t));
  }
  std::bernoulli_distribution fires(density);
  std::uniform_int_distribution<int> level(1, 3), sign(0, 1);
  for (std::size_t f = 0; f < steps * batch; ++f) {
    for (std::size_t i = 0; i < s.features; ++i) {
      if (!fires(rng)) continue;
      s.add(static_cast<std::uint32_t>(i), kind == InputKind::binary    ? 1
                                           : kind == InputKind::integer ? level(rng)
                                                                        : (sign(rng) ? 1 : -1));
    }
    s.close_frame();
  }
  return Value::of_spikes(shape, std::move(s));
}

/// `op` bound to the inputs' shapes and run on them; its work added to `counts` when given.
inline Value bind_and_forward(LayerOp& op, std::vector<const Value*> inputs,
                              OpCounts* counts = nullptr) {
  std::vector<Shape> shapes;
  for (const Value* v : inputs)
    shapes.push_back(v->shape);
  op.bind(shapes);
  OpCounts ignored;
  return op.forward(inputs, counts ? *counts : ignored);
}

}  // namespace snnsim
