#include "sim/graph/device_graph_plan.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "sim/graph/neurons.h"
#include "sim/graph/ops/conv.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/ops/linear.h"
#include "sim/graph/ops/pooling.h"

namespace snnsim {

DeviceOp device_op_of(const GraphNode& node) {
  const LayerOp* op = node.op.get();
  if (op == nullptr) return DeviceOp::input;
  // The device runs every node at every timestep, with one operator.
  if (node.once || node.first_step > 0 || node.final_step_only || op->varies_with_step())
    return DeviceOp::unsupported;
  if (node.folded) return DeviceOp::folded;
  if (dynamic_cast<const Flatten*>(op)) return DeviceOp::flatten;
  if (dynamic_cast<const Linear*>(op)) return DeviceOp::linear;
  if (dynamic_cast<const Conv2d*>(op)) return DeviceOp::conv2d;
  if (dynamic_cast<const Pool2d*>(op)) return DeviceOp::pool2d;
  if (dynamic_cast<const GlobalAveragePool*>(op)) return DeviceOp::global_avgpool;
  if (dynamic_cast<const Upsample*>(op)) return DeviceOp::upsample;
  if (dynamic_cast<const Add*>(op)) return DeviceOp::add;
  if (dynamic_cast<const ChannelScale*>(op)) return DeviceOp::channel_scale;
  if (const auto* norm = dynamic_cast<const BatchNorm*>(op))
    return norm->channel_axis() == 0 ? DeviceOp::batchnorm : DeviceOp::unsupported;
  if (dynamic_cast<const LifLayer*>(op)) return DeviceOp::lif;
  if (dynamic_cast<const ThresholdLayer*>(op)) return DeviceOp::threshold;
  // Attention, layer norm, GELU, softmax, embeddings, token selection, ternary and elastic
  // bi-spiking neurons, delay nodes (step-by-step graphs).
  return DeviceOp::unsupported;
}

std::vector<std::string> nodes_without_device_support(const LayerGraph& graph) {
  std::vector<std::string> names;
  for (const GraphNode& node : graph.nodes()) {
    if (device_op_of(node) == DeviceOp::unsupported)
      names.push_back(node.name + " (" + std::string(node.op->kind()) + ")");
  }
  return names;
}

void require_device_support(const LayerGraph& graph) {
  const std::vector<std::string> names = nodes_without_device_support(graph);
  if (names.empty()) return;
  std::string list;
  for (const std::string& name : names)
    list += (list.empty() ? "" : ", ") + name;
  throw std::runtime_error("--backend cuda does not run these nodes yet: " + list +
                           "; use --backend cpu");
}

std::vector<DeviceValueKind> device_value_kinds(const LayerGraph& graph, const Value& input) {
  const std::vector<GraphNode>& nodes = graph.nodes();
  std::vector<DeviceValueKind> kinds(nodes.size());
  if (input.is_spikes()) kinds[0] = {true, input.spikes->kind, input.spikes->amplitude};
  const auto unit_spikes = [](const DeviceValueKind& k) {
    return k.spikes && k.kind != SpikeKind::ternary;
  };
  for (const std::size_t n : graph.execution_order()) {
    const GraphNode& node = nodes[n];
    DeviceValueKind& kind = kinds[n];
    const DeviceValueKind* in = node.inputs.empty() ? nullptr : &kinds[node.inputs[0]];
    switch (device_op_of(node)) {
      case DeviceOp::input:
        break;
      case DeviceOp::folded:
      case DeviceOp::flatten:
      case DeviceOp::upsample:
        kind = *in;
        break;
      case DeviceOp::pool2d:
        if (static_cast<const Pool2d&>(*node.op).parameters().kind == PoolKind::max &&
            unit_spikes(*in)) {
          kind = *in;
        }
        break;
      case DeviceOp::add:
        if (unit_spikes(*in) && unit_spikes(kinds[node.inputs[1]]))
          kind = {true, SpikeKind::integer, {}};
        break;
      case DeviceOp::lif:
        kind = {true, SpikeKind::binary, {}};
        break;
      case DeviceOp::threshold:
        kind = {true,
                static_cast<const ThresholdLayer&>(*node.op).levels() == 1 ? SpikeKind::binary
                                                                           : SpikeKind::integer,
                {}};
        break;
      case DeviceOp::linear:
      case DeviceOp::conv2d:
      case DeviceOp::global_avgpool:
      case DeviceOp::channel_scale:
      case DeviceOp::batchnorm:
        break;
      case DeviceOp::unsupported:
        require_device_support(graph);
        break;
    }
  }
  return kinds;
}

Value value_from_dense(const Shape& shape, std::size_t steps, std::size_t batch,
                       std::vector<float> dense, const DeviceValueKind& kind) {
  if (!kind.spikes) {
    Value value;
    value.shape = shape;
    value.steps = steps;
    value.batch = batch;
    value.dense = std::move(dense);
    return value;
  }
  SpikeTrain s;
  s.kind = kind.kind;
  s.steps = steps;
  s.batch = batch;
  s.features = element_count(shape);
  s.amplitude = kind.amplitude;
  for (std::size_t f = 0; f < s.frames(); ++f) {
    const float amplitude = s.scale(f / batch);
    const float* frame = dense.data() + f * s.features;
    for (std::size_t i = 0; i < s.features; ++i) {
      // As spikes_from_dense (sim/graph/ops/pooling.h): levels are whole multiples of the
      // amplitude.
      if (frame[i] != 0.0f)
        s.add(static_cast<std::uint32_t>(i), static_cast<int>(std::lround(frame[i] / amplitude)));
    }
    s.close_frame();
  }
  return Value::of_spikes(shape, std::move(s));
}

bool convolution_needs_columns(const GraphNode& node) {
  const Conv2dParameters& p = static_cast<const Conv2d&>(*node.op).parameters();
  return !(p.kernel_h == 1 && p.kernel_w == 1 && p.stride_h == 1 && p.stride_w == 1 &&
           p.padding_h == 0 && p.padding_w == 0);
}

DeviceGraphMemory plan_device_graph_memory(const LayerGraph& graph, std::size_t frames) {
  const std::vector<GraphNode>& nodes = graph.nodes();
  const std::size_t output = static_cast<std::size_t>(&graph.output() - nodes.data());
  DeviceGraphMemory plan;
  plan.column_frames.assign(nodes.size(), 0);
  const auto bytes = [&](std::size_t n) {
    return std::uint64_t{frames} * element_count(nodes[n].shape) * sizeof(float);
  };
  std::vector<std::size_t> remaining(nodes.size(), 0), owner(nodes.size()),
      holders(nodes.size(), 0);
  for (const GraphNode& node : nodes) {
    for (std::size_t i : node.inputs)
      ++remaining[i];
  }
  std::uint64_t live = 0;
  const auto release = [&](std::size_t n) {
    if (--holders[owner[n]] == 0) live -= bytes(owner[n]);
  };
  for (const std::size_t n : graph.execution_order()) {
    const GraphNode& node = nodes[n];
    const DeviceOp op = device_op_of(node);
    if (op == DeviceOp::folded || op == DeviceOp::flatten) {
      owner[n] = owner[node.inputs[0]];
    } else {
      owner[n] = n;
      live += bytes(n);
    }
    ++holders[owner[n]];
    // Scratch while the node runs: im2col columns, and the counters (a few words).
    std::uint64_t scratch = (graph.timesteps() + 1) * sizeof(std::uint64_t);
    if (op == DeviceOp::conv2d && convolution_needs_columns(node)) {
      const Conv2dParameters& p = static_cast<const Conv2d&>(*node.op).parameters();
      const std::uint64_t per_frame = std::uint64_t{p.in_channels} * p.kernel_h * p.kernel_w *
                                      node.shape[1] * node.shape[2] * sizeof(float);
      plan.column_frames[n] = static_cast<std::size_t>(std::clamp<std::uint64_t>(
          kColumnBufferBytes / per_frame, 1, std::max<std::size_t>(frames, 1)));
      scratch += plan.column_frames[n] * per_frame;
    }
    plan.peak_bytes = std::max(plan.peak_bytes, live + scratch);
    for (std::size_t i : node.inputs) {
      if (--remaining[i] == 0 && i != output) release(i);
    }
    if (remaining[n] == 0 && n != output && n != 0) release(n);
  }
  return plan;
}

}  // namespace snnsim
