#pragma once
// Neuron layers of layer graphs: they turn their input (analog, one value per feature per
// timestep) into spikes. Equations, and the implementation each one matches, in docs/neurons.md.
//
// | op             | spikes             | state    | matches                                   |
// |----------------|--------------------|----------|-------------------------------------------|
// | lif            | binary             | membrane | spikingjelly LIFNode (multi-step)         |
// | if             | binary             | membrane | spikingjelly IFNode                       |
// | threshold      | binary             | none     | T-RevSNN's SN: round(clamp(u, 0, 1))      |
// | multilevel     | integer {0..D}     | none     | round(clamp(u, 0, D))                     |
// | ternary        | {-1,0,1} x alpha_t | none     | SpikeLM's K/V quantizer                   |
// | elastic_bispike| {-1,0,1} x alpha_t | membrane | SpikeLM's SpikeLinear input neuron        |
//
// Rounding is half-to-even, as torch.round. Stateful layers start every sample from rest and
// advance over the T timesteps in order.
#include <optional>

#include "sim/graph/layer_op.h"

namespace snnsim {

struct LifParameters {
  double tau = 2.0;
  double v_threshold = 1.0;
  std::optional<double> v_reset = 0.0;  ///< none: soft reset (subtract the threshold)
  bool decay_input = true;
};

class NeuronLayer : public LayerOp {
 public:
  Shape bind(std::span<const Shape> inputs) override {
    shape_ = inputs[0];
    return shape_;
  }

 protected:
  Shape shape_;
};

class LifLayer final : public NeuronLayer {
 public:
  /// `leaky` false: IF (no leak; tau and decay_input unused).
  LifLayer(LifParameters p, bool leaky) : p_(p), leaky_(leaky) {}
  std::string_view kind() const override { return leaky_ ? "lif" : "if"; }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  Value forward_step(std::span<const Value* const> inputs, OpCounts& counts,
                     StepContext& context) const override;
  const LifParameters& parameters() const { return p_; }
  /// False for IF.
  bool leaky() const { return leaky_; }
  /// One timestep of n neurons: charges, resets, flags the neurons that fired (also run by a
  /// convolution fused with this layer, Conv2d::forward_into_lif).
  void charge_fire_reset(const float* drive, float* membrane, std::uint8_t* fired,
                         std::size_t n) const;
  /// The membrane at the start, and after a hard reset.
  float rest() const { return p_.v_reset ? static_cast<float>(*p_.v_reset) : 0.0f; }

 private:
  /// Runs x's timesteps from `membrane` ([B][features], updated): the spikes. Neurons are cut
  /// into chunks that threads run through all timesteps, so a batch of one uses every core.
  SpikeTrain fire(const Value& x, float* membrane) const;

  LifParameters p_;
  bool leaky_;
};

class ThresholdLayer final : public NeuronLayer {
 public:
  /// levels 1: binary spikes (T-RevSNN's SN); D > 1: integer spikes {0..D}.
  explicit ThresholdLayer(int levels) : levels_(levels) {}
  /// Binary spikes fire where the input is above this: round(clamp(u, 0, 1)), half to even,
  /// is 1 exactly when u > 0.5.
  static constexpr float kBinaryAbove = 0.5f;
  std::string_view kind() const override { return levels_ == 1 ? "threshold" : "multilevel"; }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  int levels() const { return levels_; }

 private:
  int levels_;
};

/// Ternary spikes with a per-timestep amplitude alpha_t (weight "alpha" [T]).
class TernaryLayer final : public NeuronLayer {
 public:
  /// `elastic` true: SpikeLM's elastic bi-spiking neuron (with membrane); false: the stateless
  /// quantizer.
  TernaryLayer(std::size_t timesteps, bool elastic) : timesteps_(timesteps), elastic_(elastic) {}
  std::string_view kind() const override { return elastic_ ? "elastic_bispike" : "ternary"; }
  std::vector<WeightSpec> weight_specs() const override { return {{"alpha", {timesteps_}}}; }
  void set_weight(const std::string&, std::vector<float> values) override {
    alpha_ = std::move(values);
    // The official quantizer divides by max(alpha, 1e-5) and scales by it; the leak takes alpha
    // as it is.
    step_ = alpha_;
    for (float& a : step_)
      a = a > 1e-5f ? a : 1e-5f;
  }
  Value forward(std::span<const Value* const> inputs, OpCounts& counts) const override;
  Value forward_step(std::span<const Value* const> inputs, OpCounts& counts,
                     StepContext& context) const override;

 private:
  /// Timestep t of n neurons: `u` membranes, `last` the previous spikes (alpha q), both
  /// updated; q the levels -1, 0, +1.
  void quantize(const float* x, std::size_t t, std::size_t n, float* u, float* last,
                std::int8_t* q) const;

  std::size_t timesteps_;
  bool elastic_;
  std::vector<float> alpha_;
  std::vector<float> step_;  ///< max(alpha, 1e-5): the quantizer's step and the amplitude
};

}  // namespace snnsim
