#include "sim/graph/nir_neurons.h"

#include <algorithm>
#include <iterator>

namespace snnsim {

bool NirNeuronLayer::spiking(NirModel model) {
  return model == NirModel::lif || model == NirModel::if_ || model == NirModel::cuba_lif;
}

std::vector<NirParameter> NirNeuronLayer::parameters(NirModel model) {
  using P = NirParameter;
  switch (model) {
    case NirModel::lif:
      return {P::tau, P::r, P::v_leak, P::v_threshold, P::v_reset};
    case NirModel::if_:
      return {P::r, P::v_threshold, P::v_reset};
    case NirModel::cuba_lif:
      return {P::tau_syn, P::tau_mem, P::r, P::v_leak, P::v_threshold, P::v_reset, P::w_in};
    case NirModel::li:
      return {P::tau, P::r, P::v_leak};
    case NirModel::cuba_li:
      return {P::tau_syn, P::tau_mem, P::r, P::v_leak, P::w_in};
    case NirModel::i:
      return {P::r};
  }
  return {};
}

const char* NirNeuronLayer::parameter_name(NirParameter parameter) {
  static const char* const kNames[] = {"tau",    "tau_syn",     "tau_mem", "r",
                                       "v_leak", "v_threshold", "v_reset", "w_in"};
  static_assert(std::size(kNames) == static_cast<std::size_t>(NirParameter::count));
  return kNames[static_cast<std::size_t>(parameter)];
}

std::string_view NirNeuronLayer::kind() const {
  switch (model_) {
    case NirModel::lif:
      return "nir_lif";
    case NirModel::if_:
      return "nir_if";
    case NirModel::cuba_lif:
      return "nir_cuba_lif";
    case NirModel::li:
      return "nir_li";
    case NirModel::cuba_li:
      return "nir_cuba_li";
    case NirModel::i:
      return "nir_i";
  }
  return "nir_lif";
}

std::vector<WeightSpec> NirNeuronLayer::weight_specs() const {
  std::vector<WeightSpec> specs;
  for (NirParameter p : parameters(model_)) {
    // With a subtractive reset v_reset is never used, and NIR's writers may leave it out.
    const bool optional = p == NirParameter::v_reset && subtract_reset_;
    specs.push_back({parameter_name(p), shape_, optional});
  }
  return specs;
}

void NirNeuronLayer::set_weight(const std::string& name, std::vector<float> values) {
  for (NirParameter p : parameters(model_)) {
    if (name == parameter_name(p)) parameters_[static_cast<std::size_t>(p)] = std::move(values);
  }
}

void NirNeuronLayer::initialise(std::size_t batch, std::vector<float>& v,
                                std::vector<float>& i) const {
  const std::size_t n = element_count(shape_);
  v.assign(batch * n, 0.0f);
  i.assign(batch * n, 0.0f);
  if (model_ == NirModel::if_ || model_ == NirModel::i) return;
  const std::vector<float>& leak = parameter(NirParameter::v_leak);
  for (std::size_t b = 0; b < batch; ++b)
    std::copy(leak.begin(), leak.end(), v.begin() + b * n);
}

Value NirNeuronLayer::run(const Value& x, std::vector<float>& v, std::vector<float>& i) const {
  const Value::DenseView in = x.dense_view();
  const std::size_t n = x.features();
  const bool spikes = spiking(model_);
  // Only the model's parameters are loaded; the others stay empty and are not read.
  const std::vector<float>& tau = parameter(NirParameter::tau);
  const std::vector<float>& tau_syn = parameter(NirParameter::tau_syn);
  const std::vector<float>& tau_mem = parameter(NirParameter::tau_mem);
  const std::vector<float>& r = parameter(NirParameter::r);
  const std::vector<float>& leak = parameter(NirParameter::v_leak);
  const std::vector<float>& threshold = parameter(NirParameter::v_threshold);
  const std::vector<float>& reset = parameter(NirParameter::v_reset);
  const std::vector<float>& w_in = parameter(NirParameter::w_in);
  SpikeTrain s;
  s.steps = x.steps;
  s.batch = x.batch;
  s.features = n;
  Value y = spikes ? Value{} : Value::analog(x.shape, x.steps, x.batch);
  for (std::size_t f = 0; f < x.frames(); ++f) {
    const float* drive = in.data() + f * n;
    float* membrane = v.data() + (f % x.batch) * n;
    float* current = i.data() + (f % x.batch) * n;
    for (std::size_t k = 0; k < n; ++k) {
      // In double, so that float32 state is the only rounding against NIR's equations.
      double u = membrane[k];
      switch (model_) {
        case NirModel::lif:
        case NirModel::li:
          u += dt_ / tau[k] * (leak[k] - u + double(r[k]) * drive[k]);
          break;
        case NirModel::if_:
        case NirModel::i:
          u += dt_ * r[k] * drive[k];
          break;
        case NirModel::cuba_lif:
        case NirModel::cuba_li: {
          const double c =
              current[k] + dt_ / tau_syn[k] * (double(w_in[k]) * drive[k] - current[k]);
          u += dt_ / tau_mem[k] * (leak[k] - u + r[k] * c);
          current[k] = static_cast<float>(c);
          break;
        }
      }
      if (spikes && u > threshold[k]) {
        s.add(static_cast<std::uint32_t>(k), 1);
        u = subtract_reset_ ? u - threshold[k] : double(reset[k]);
      }
      membrane[k] = static_cast<float>(u);
      if (!spikes) y.dense[f * n + k] = membrane[k];
    }
    if (spikes) s.close_frame();
  }
  return spikes ? Value::of_spikes(x.shape, std::move(s)) : y;
}

Value NirNeuronLayer::forward(std::span<const Value* const> inputs, OpCounts&) const {
  std::vector<float> v, i;
  initialise(inputs[0]->batch, v, i);
  return run(*inputs[0], v, i);
}

Value NirNeuronLayer::forward_step(std::span<const Value* const> inputs, OpCounts&,
                                   StepContext& context) const {
  if (context.state[0].empty()) initialise(inputs[0]->batch, context.state[0], context.state[1]);
  return run(*inputs[0], context.state[0], context.state[1]);
}

Value NirThreshold::forward(std::span<const Value* const> inputs, OpCounts&) const {
  const Value& x = *inputs[0];
  const Value::DenseView in = x.dense_view();
  const std::size_t n = x.features();
  SpikeTrain s;
  s.steps = x.steps;
  s.batch = x.batch;
  s.features = n;
  for (std::size_t f = 0; f < x.frames(); ++f) {
    for (std::size_t k = 0; k < n; ++k) {
      if (in[f * n + k] > threshold_[k]) s.add(static_cast<std::uint32_t>(k), 1);
    }
    s.close_frame();
  }
  return Value::of_spikes(x.shape, std::move(s));
}

Value NirScale::forward(std::span<const Value* const> inputs, OpCounts& counts) const {
  const Value& x = *inputs[0];
  Value y = Value::analog(x.shape, x.steps, x.batch);
  y.dense = x.densified();
  const std::size_t n = x.features();
  for (std::size_t k = 0; k < y.dense.size(); ++k)
    y.dense[k] *= scale_[k % n];
  counts.macs += y.dense.size();
  return y;
}

Shape Reshape::bind(std::span<const Shape> inputs) {
  // Sizes come from the network file: an empty shape, or one whose count overflows, could
  // otherwise pass the comparison below.
  std::size_t elements = 1;
  for (std::size_t size : shape_) {
    if (size == 0 || elements > element_count(inputs[0]) / size) {
      elements = 0;
      break;
    }
    elements *= size;
  }
  if (shape_.empty() || elements != element_count(inputs[0])) {
    throw GraphError("cannot reshape " + shape_string(inputs[0]) + " to " + shape_string(shape_));
  }
  return shape_;
}

Value Reshape::forward(std::span<const Value* const> inputs, OpCounts&) const {
  Value y = *inputs[0];
  y.shape = shape_;
  return y;
}

}  // namespace snnsim
