#pragma once
// NIR's primitives as layer-graph ops, for the graphs `snnsim import nir` reads
// (networks/nir_import_graph.cpp) where no other op computes the same thing: NIR's neuron models
// with a parameter per neuron, its Threshold, its element-wise Scale, and the reshape its Flatten
// and Conv1d need.
//
// | op            | NIR       | per step (forward Euler at dt; I the input of the step)          |
// |---------------|-----------|------------------------------------------------------------------|
// | nir_lif       | LIF       | v += dt/tau (v_leak - v + r I); spike if v > v_threshold, reset  |
// | nir_if        | IF        | v += dt r I; spike and reset as nir_lif                          |
// | nir_cuba_lif  | CubaLIF   | i += dt/tau_syn (w_in I - i); v += dt/tau_mem (v_leak - v + r i) |
// | nir_li        | LI        | as nir_lif without spikes; the output is v                       |
// | nir_cuba_li   | CubaLI    | as nir_cuba_lif without spikes; the output is v                  |
// | nir_i         | I         | v += dt r I; the output is v                                     |
// | nir_threshold | Threshold | spike if I > threshold                                           |
// | nir_scale     | Scale     | I * scale, element by element                                    |
// | reshape       | (Flatten) | the same values under another shape                              |
//
// These are docs/export.md's "NIR conventions": the spike is 1 in the step it happens, the reset
// (to v_reset, or subtracting v_threshold) in the same step, membranes start at v_leak (0 for IF
// and I), currents at 0. Every parameter is a tensor of the layer's shape ("NODE.tau", ...);
// times are in seconds, as dt.
#include <array>
#include <string>
#include <vector>

#include "sim/graph/neurons.h"

namespace snnsim {

enum class NirModel { lif, if_, cuba_lif, li, cuba_li, i };

/// The parameter tensors of the NIR neuron models, in the order of NIR's fields.
enum class NirParameter { tau, tau_syn, tau_mem, r, v_leak, v_threshold, v_reset, w_in, count };

class NirNeuronLayer final : public NeuronLayer {
 public:
  /// `dt` in seconds; `subtract_reset`: a spike subtracts v_threshold instead of setting
  /// v_reset (spiking models only).
  NirNeuronLayer(NirModel model, double dt, bool subtract_reset)
      : model_(model), dt_(dt), subtract_reset_(subtract_reset) {}
  std::string_view kind() const override;
  std::vector<WeightSpec> weight_specs() const override;
  void set_weight(const std::string& name, std::vector<float> values) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  Value forward_step(std::span<const Value* const> inputs, OpCounts& counts,
                     StepContext& context) const override;

  /// Whether the model spikes (LIF, IF, CubaLIF) or outputs its membrane (LI, CubaLI, I).
  static bool spiking(NirModel model);
  /// The parameters `model` takes, as NIR names them.
  static std::vector<NirParameter> parameters(NirModel model);
  static const char* parameter_name(NirParameter parameter);

 private:
  /// Timesteps of `x` from the state `v`, `i` ([B][features], updated): spikes, or membranes.
  Value run(const Value& x, std::vector<float>& v, std::vector<float>& i) const;
  /// The membranes and currents at the start.
  void initialise(std::size_t batch, std::vector<float>& v, std::vector<float>& i) const;
  const std::vector<float>& parameter(NirParameter p) const {
    return parameters_[static_cast<std::size_t>(p)];
  }

  NirModel model_;
  double dt_;
  bool subtract_reset_;
  std::array<std::vector<float>, static_cast<std::size_t>(NirParameter::count)> parameters_;
};

/// NIR's Threshold: a binary spike where the input exceeds its element's threshold (weight
/// "threshold", the layer's shape).
class NirThreshold final : public NeuronLayer {
 public:
  std::string_view kind() const override { return "nir_threshold"; }
  std::vector<WeightSpec> weight_specs() const override { return {{"threshold", shape_}}; }
  void set_weight(const std::string&, std::vector<float> values) override {
    threshold_ = std::move(values);
  }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  std::vector<float> threshold_;
};

/// NIR's Scale: the input times a factor per element (weight "scale", the input's shape); the
/// per-channel `scale` op covers the factors that are uniform over a channel.
class NirScale final : public LayerOp {
 public:
  std::string_view kind() const override { return "nir_scale"; }
  Shape bind(std::span<const Shape> inputs) override {
    shape_ = inputs[0];
    return shape_;
  }
  std::vector<WeightSpec> weight_specs() const override { return {{"scale", shape_}}; }
  void set_weight(const std::string&, std::vector<float> values) override {
    scale_ = std::move(values);
  }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  Shape shape_;
  std::vector<float> scale_;
};

/// The input under another shape with as many elements (C order kept): NIR's Flatten over part
/// of the dimensions, and Conv1d run as a conv2d over [C, 1, L].
class Reshape final : public LayerOp {
 public:
  explicit Reshape(Shape shape) : shape_(std::move(shape)) {}
  std::string_view kind() const override { return "reshape"; }
  Shape bind(std::span<const Shape> inputs) override;
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;

 private:
  Shape shape_;
};

}  // namespace snnsim
