#pragma once
// DeviceGraphRunner<Device>: layer graphs (sim/graph/layer_graph.h) on a device, written once
// over the device interface of sim/grid_backend.h plus a GEMM (kernels/gemm.h), so that it runs
// on a GPU (kernels/cuda_graph.cu: CudaDevice, cuBLAS) and, unchanged, on the CPU under grid
// emulation (sim/emulated_device.h: OpenBLAS), where the tests compare it with LayerGraph::run.
//
// Representation: every node's value is one dense float buffer [T][B][features] on the device,
// spikes stored as level x amplitude and 0 elsewhere (device_graph_plan.h tracks which values
// are spikes, and of which kind). Layers run one after another over all T x B frames, as the CPU
// runs them:
// - linear: a bias broadcast, then one GEMM over every (frame, token) row;
// - conv2d: a bias broadcast, then per pass of frames an im2col kernel (none for 1 x 1
//   convolutions) and one strided-batched GEMM per group, the CPU's dense path's product;
// - pooling, upsampling, add, scale, BatchNorm: one thread per output element;
// - flatten and folded BatchNorms: the input's buffer, shared;
// - LIF, IF, threshold, multi-level: one thread per (sample, feature) over the T steps.
//
// Why dense GEMMs for spike inputs: on a GPU a dense product at 10 % spikes is expected to beat
// scattering events (regular loads, near-peak throughput, no atomics; not yet measured, see
// docs/cuda.md), and its result equals the event sum within float rounding. The counts, however,
// describe the model (the energy estimate is that of an event-driven chip): a layer fed by spikes
// reports the accumulates the CPU's event-driven path does (linear: events x outputs; conv: per
// event its taps inside the output x the outputs per group), counted on the device; analog inputs
// report the CPU's MACs. Spikes per step are counted on the device as well.
//
// Memory: the weights are uploaded once; a batch's buffers are allocated as their node runs and
// freed after their last consumer, and the batch's peak (plan_device_graph_memory) is checked
// against the device's free memory before anything is allocated. Traces: a spiking node's
// buffer is downloaded when the node has run and turned into a SpikeTrain on the host.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/graph_kernels.h"
#include "sim/device_plan.h"
#include "sim/graph/device_graph_plan.h"
#include "sim/graph/layer_graph.h"
#include "sim/graph/neurons.h"
#include "sim/graph/ops/conv.h"
#include "sim/graph/ops/elementwise.h"
#include "sim/graph/ops/linear.h"
#include "sim/graph/ops/pooling.h"

namespace snnsim {

template <class Device>
class DeviceGraphRunner {
 public:
  /// Refuses graphs with nodes the device does not run (one line naming them all) and weights
  /// that do not fit; uploads the weights. `graph` must outlive the runner.
  explicit DeviceGraphRunner(const LayerGraph& graph, Device device = {});

  /// LayerGraph::run on the device: the same output (within float rounding of the products),
  /// spikes, reports and, with `keep_spikes`, spike values.
  GraphRun run(const Value& input, bool keep_spikes);

  /// "NVIDIA H100 (sm_90, 132 SMs), weights 1.2 MB".
  std::string description() const;
  Device& device() { return device_; }

 private:
  template <class T>
  using Array = typename Device::template Array<T>;
  /// Shared: flatten and folded nodes hold their input's buffer.
  using Buffer = std::shared_ptr<Array<float>>;

  /// A node's operator, resolved once, and its weights on the device.
  struct NodeArrays {
    DeviceOp op = DeviceOp::input;
    Array<float> weight, bias;  ///< linear, conv2d
    Array<float> scale, shift;  ///< channel scale, BatchNorm
  };
  /// What a node's kernels need to know about the batch.
  struct Batch {
    std::size_t steps, batch;
    std::size_t frames() const { return steps * batch; }
  };

  Buffer allocate(std::size_t n) {
    return std::make_shared<Array<float>>(device_.template allocate<float>(n));
  }
  Array<float> upload(std::span<const float> values) {
    Array<float> array = device_.template allocate<float>(values.size());
    if (!values.empty()) device_.upload(array.data(), values.data(), values.size());
    return array;
  }
  template <class T>
  std::vector<T> download(const Array<T>& array) {
    std::vector<T> host(array.size());
    device_.download(host.data(), array.data(), host.size());
    return host;
  }
  /// Runs node `n` on its inputs' buffers; returns its buffer and adds its work to `counts`.
  Buffer run_node(std::size_t n, const std::vector<Buffer>& values, const Batch& batch,
                  const std::vector<DeviceValueKind>& kinds,
                  const std::vector<std::uint64_t>& events, const DeviceGraphMemory& memory,
                  OpCounts& counts);
  Buffer run_linear(const GraphNode& node, const NodeArrays& arrays, const float* x,
                    const Batch& batch, bool spikes, std::uint64_t events, OpCounts& counts);
  Buffer run_conv2d(const GraphNode& node, const NodeArrays& arrays, const float* x,
                    const Batch& batch, bool spikes, std::size_t column_frames, OpCounts& counts);
  /// Spikes (non-zero elements) per timestep of a [T][frame_size] buffer.
  std::vector<std::uint64_t> count_per_step(const Array<float>& values, const Batch& batch,
                                            std::size_t features);

  const LayerGraph& graph_;
  Device device_;
  std::vector<NodeArrays> nodes_;
  std::uint64_t weight_bytes_ = 0;
};

template <class Device>
DeviceGraphRunner<Device>::DeviceGraphRunner(const LayerGraph& graph, Device device)
    : graph_(graph), device_(std::move(device)) {
  require_device_support(graph);
  std::vector<std::vector<float>> host(graph.nodes().size() * 4);  // weight, bias, scale, shift
  for (std::size_t n = 0; n < graph.nodes().size(); ++n) {
    const GraphNode& node = graph.nodes()[n];
    std::vector<float>* w = &host[4 * n];
    switch (device_op_of(node)) {
      case DeviceOp::linear: {
        const auto& linear = static_cast<const Linear&>(*node.op);
        w[0] = linear.weight();
        w[1] = linear.bias();
        break;
      }
      case DeviceOp::conv2d: {
        const auto& conv = static_cast<const Conv2d&>(*node.op);
        w[0] = conv.weight();
        w[1] = conv.bias();
        break;
      }
      case DeviceOp::channel_scale:
        w[2] = static_cast<const ChannelScale&>(*node.op).scale();
        break;
      case DeviceOp::batchnorm:
        static_cast<const BatchNorm&>(*node.op).affine(w[2], w[3]);
        break;
      default:
        break;
    }
    for (std::size_t k = 0; k < 4; ++k)
      weight_bytes_ += w[k].size() * sizeof(float);
  }
  if (weight_bytes_ > device_.free_bytes()) {
    throw std::runtime_error("the layer graph's weights need " + megabytes(weight_bytes_) +
                             " of GPU memory but " + device_.description() + " has " +
                             megabytes(device_.free_bytes()) + " free; use --backend cpu");
  }
  nodes_.resize(graph.nodes().size());
  for (std::size_t n = 0; n < graph.nodes().size(); ++n) {
    NodeArrays& a = nodes_[n];
    a.op = device_op_of(graph.nodes()[n]);
    a.weight = upload(host[4 * n]);
    a.bias = upload(host[4 * n + 1]);
    a.scale = upload(host[4 * n + 2]);
    a.shift = upload(host[4 * n + 3]);
  }
}

template <class Device>
std::string DeviceGraphRunner<Device>::description() const {
  return device_.description() + ", weights " + megabytes(weight_bytes_);
}

template <class Device>
GraphRun DeviceGraphRunner<Device>::run(const Value& input, bool keep_spikes) {
  const std::vector<GraphNode>& nodes = graph_.nodes();
  if (input.shape != graph_.input_shape()) {
    throw GraphError("the input has shape " + shape_string(input.shape) + "; the graph takes " +
                     shape_string(graph_.input_shape()));
  }
  const Batch batch{input.steps, input.batch};
  const std::vector<DeviceValueKind> kinds = device_value_kinds(graph_, input);
  const DeviceGraphMemory memory = plan_device_graph_memory(graph_, batch.frames());
  if (const std::uint64_t free = device_.free_bytes(); memory.peak_bytes > free) {
    throw std::runtime_error("a batch of " + std::to_string(batch.batch) + " needs " +
                             megabytes(memory.peak_bytes) +
                             " of GPU memory for its values (besides the weights, " +
                             megabytes(weight_bytes_) + ") but " + device_.description() + " has " +
                             megabytes(free) + " free; use a smaller --batch or --backend cpu");
  }
  const std::size_t output = static_cast<std::size_t>(&graph_.output() - nodes.data());
  std::vector<std::size_t> remaining(nodes.size(), 0);
  for (const GraphNode& node : nodes) {
    for (std::size_t i : node.inputs)
      ++remaining[i];
  }
  std::vector<Buffer> values(nodes.size());
  std::vector<std::uint64_t> events(nodes.size(), 0);  // spikes of each spiking value
  values[0] = std::make_shared<Array<float>>(upload(input.densified()));
  if (input.is_spikes()) events[0] = input.spikes->events();

  GraphRun result = graph_.blank_run();
  for (const std::size_t n : graph_.execution_order()) {
    const GraphNode& node = nodes[n];
    if (node.op == nullptr) continue;
    NodeReport& report = result.report_of(n);
    values[n] = run_node(n, values, batch, kinds, events, memory, report.counts);
    const std::size_t features = element_count(node.shape);
    if (kinds[n].spikes) {
      // As LayerGraph::count_spikes.
      report.spiking = true;
      report.per_step = count_per_step(*values[n], batch, features);
      report.spikes =
          std::accumulate(report.per_step.begin(), report.per_step.end(), std::uint64_t{0});
      events[n] = report.spikes;
      const double slots = static_cast<double>(features) * batch.frames();
      report.firing_rate = slots > 0 ? report.spikes / slots : 0.0;
    }
    if (keep_spikes && kinds[n].spikes) {
      result.spikes_of(n) =
          value_from_dense(node.shape, batch.steps, batch.batch, download(*values[n]), kinds[n]);
    }
    for (std::size_t i : node.inputs) {
      if (--remaining[i] == 0 && i != output) values[i].reset();
    }
    if (remaining[n] == 0 && n != output) values[n].reset();
  }
  result.output = value_from_dense(graph_.output().shape, batch.steps, batch.batch,
                                   download(*values[output]), kinds[output]);
  return result;
}

template <class Device>
typename DeviceGraphRunner<Device>::Buffer DeviceGraphRunner<Device>::run_node(
    std::size_t n, const std::vector<Buffer>& values, const Batch& batch,
    const std::vector<DeviceValueKind>& kinds, const std::vector<std::uint64_t>& events,
    const DeviceGraphMemory& memory, OpCounts& counts) {
  const GraphNode& node = graph_.nodes()[n];
  const NodeArrays& arrays = nodes_[n];
  const std::size_t in_node = node.inputs[0];
  const Array<float>& in = *values[in_node];
  const Shape& in_shape = graph_.nodes()[in_node].shape;
  const std::uint64_t size = std::uint64_t{batch.frames()} * element_count(node.shape);
  const bool spikes_in = kinds[in_node].spikes;
  switch (arrays.op) {
    case DeviceOp::folded:
    case DeviceOp::flatten:
      return values[in_node];
    case DeviceOp::linear:
      return run_linear(node, arrays, in.data(), batch, spikes_in, events[in_node], counts);
    case DeviceOp::conv2d:
      return run_conv2d(node, arrays, in.data(), batch, spikes_in, memory.column_frames[n], counts);
    case DeviceOp::pool2d: {
      const Pool2dParameters& p = static_cast<const Pool2d&>(*node.op).parameters();
      Buffer out = allocate(size);
      const WindowGeometry w{in_shape[0], in_shape[1],   in_shape[2],  p.kernel_h,
                             p.kernel_w,  p.stride_h,    p.stride_w,   p.padding_h,
                             p.padding_w, node.shape[1], node.shape[2]};
      const PoolOperation operation = p.kind == PoolKind::max       ? PoolOperation::max
                                      : p.kind == PoolKind::average ? PoolOperation::average
                                                                    : PoolOperation::sum;
      device_.launch(
          device_.items_shape(size),
          Pool2dKernel{in.data(), out->data(), w, batch.frames(), operation, kinds[n].spikes});
      return out;
    }
    case DeviceOp::global_avgpool: {
      Buffer out = allocate(size);
      device_.launch(
          device_.items_shape(size),
          GlobalAveragePoolKernel{in.data(), out->data(), size, in_shape[1] * in_shape[2]});
      return out;
    }
    case DeviceOp::upsample: {
      Buffer out = allocate(size);
      const std::uint64_t planes = std::uint64_t{batch.frames()} * in_shape[0];
      device_.launch(device_.items_shape(size),
                     UpsampleKernel{in.data(), out->data(), planes, in_shape[1], in_shape[2],
                                    static_cast<const Upsample&>(*node.op).scale()});
      return out;
    }
    case DeviceOp::add: {
      Buffer out = allocate(size);
      device_.launch(device_.items_shape(size),
                     AddKernel{in.data(), values[node.inputs[1]]->data(), out->data(), size});
      return out;
    }
    case DeviceOp::channel_scale:
    case DeviceOp::batchnorm: {
      Buffer out = allocate(size);
      const std::uint64_t features = element_count(node.shape);
      device_.launch(
          device_.items_shape(size),
          ChannelAffineKernel{in.data(), out->data(), arrays.scale.data(),
                              arrays.op == DeviceOp::batchnorm ? arrays.shift.data() : nullptr,
                              size, features, features / node.shape[0]});
      counts.macs += size;
      return out;
    }
    case DeviceOp::lif: {
      const auto& layer = static_cast<const LifLayer&>(*node.op);
      const LifParameters& p = layer.parameters();
      Buffer out = allocate(size);
      const std::uint64_t frame_size = std::uint64_t{batch.batch} * element_count(node.shape);
      const LifCharge charge = !layer.leaky()  ? LifCharge::integrate
                               : p.decay_input ? LifCharge::decay_input
                                               : LifCharge::decay_membrane;
      // As LifLayer: the rest (and reset) is v_reset, or 0 with a soft reset.
      const float reset = p.v_reset ? static_cast<float>(*p.v_reset) : 0.0f;
      device_.launch(device_.items_shape(frame_size),
                     LifLayerKernel{in.data(), out->data(), frame_size, batch.steps, charge,
                                    static_cast<float>(p.tau), static_cast<float>(p.v_threshold),
                                    reset, p.v_reset.has_value()});
      return out;
    }
    case DeviceOp::threshold: {
      Buffer out = allocate(size);
      device_.launch(
          device_.items_shape(size),
          ThresholdLayerKernel{
              in.data(), out->data(), size,
              static_cast<float>(static_cast<const ThresholdLayer&>(*node.op).levels())});
      return out;
    }
    case DeviceOp::input:
    case DeviceOp::unsupported:
      break;
  }
  throw std::logic_error("node " + node.name + " has no device operator");
}

template <class Device>
typename DeviceGraphRunner<Device>::Buffer DeviceGraphRunner<Device>::run_linear(
    const GraphNode& node, const NodeArrays& arrays, const float* x, const Batch& batch,
    bool spikes, std::uint64_t events, OpCounts& counts) {
  const LinearParameters& p = static_cast<const Linear&>(*node.op).parameters();
  const std::uint64_t rows = std::uint64_t{batch.frames()} * element_count(node.shape) /
                             p.out_features;  // (frame, token) rows
  if (rows > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
    throw std::runtime_error("node " + node.name + ": " + std::to_string(rows) +
                             " rows are more than one GEMM takes; use a smaller --batch");
  }
  Buffer y = allocate(rows * p.out_features);
  // y = bias, then y += x W^T: the CPU's dense path.
  device_.launch(
      device_.items_shape(y->size()),
      BroadcastChannelsKernel{arrays.bias.data(), 1, p.out_features, y->data(), y->size()});
  GemmArguments g;
  g.transpose_b = true;
  g.m = static_cast<int>(rows);
  g.n = static_cast<int>(p.out_features);
  g.k = static_cast<int>(p.in_features);
  g.a = x;
  g.lda = g.k;
  g.b = arrays.weight.data();
  g.ldb = g.k;
  g.beta = 1.0f;
  g.c = y->data();
  g.ldc = g.n;
  device_.gemm(g);
  if (spikes) {
    counts.acs += events * p.out_features;  // each spike adds one weight column
  } else {
    counts.macs += rows * p.in_features * p.out_features;
  }
  return y;
}

template <class Device>
typename DeviceGraphRunner<Device>::Buffer DeviceGraphRunner<Device>::run_conv2d(
    const GraphNode& node, const NodeArrays& arrays, const float* x, const Batch& batch,
    bool spikes, std::size_t column_frames, OpCounts& counts) {
  const Conv2dParameters& p = static_cast<const Conv2d&>(*node.op).parameters();
  const Shape& in_shape = graph_.nodes()[node.inputs[0]].shape;
  const WindowGeometry w{in_shape[0], in_shape[1],   in_shape[2],  p.kernel_h,
                         p.kernel_w,  p.stride_h,    p.stride_w,   p.padding_h,
                         p.padding_w, node.shape[1], node.shape[2]};
  const std::uint64_t taps = p.kernel_h * p.kernel_w, out_plane = w.out_plane();
  const std::uint64_t in_per_group = p.in_channels / p.groups;
  const std::uint64_t out_per_group = p.out_channels / p.groups;
  const std::uint64_t patch = in_per_group * taps;
  const std::uint64_t in_frame = p.in_channels * w.plane(), out_frame = p.out_channels * out_plane;
  const std::uint64_t frames = batch.frames();
  Buffer y = allocate(frames * out_frame);
  device_.launch(
      device_.items_shape(y->size()),
      BroadcastChannelsKernel{arrays.bias.data(), out_plane, p.out_channels, y->data(), y->size()});
  // A 1 x 1 convolution with stride 1 and no padding reads its input as the patch matrix.
  const bool im2col = convolution_needs_columns(node);
  const std::uint64_t chunk = im2col ? column_frames : frames;
  Array<float> columns;
  if (im2col) columns = device_.template allocate<float>(chunk * p.in_channels * taps * out_plane);
  for (std::uint64_t first = 0; first < frames; first += chunk) {
    const std::uint64_t count = std::min(chunk, frames - first);
    const float* patches = x + first * in_frame;
    if (im2col) {
      device_.launch(device_.items_shape(count * p.in_channels * taps * out_plane),
                     Im2colKernel{patches, columns.data(), w, count});
      patches = columns.data();
    }
    const std::uint64_t patches_per_frame = im2col ? p.in_channels * taps * out_plane : in_frame;
    for (std::uint64_t group = 0; group < p.groups; ++group) {
      // out[f][group] (out_per_group x pixels) += W[group] (out_per_group x patch) x
      // patches[f][group] (patch x pixels), for every frame f of the pass.
      GemmArguments g;
      g.m = static_cast<int>(out_per_group);
      g.n = static_cast<int>(out_plane);
      g.k = static_cast<int>(patch);
      g.a = arrays.weight.data() + group * out_per_group * patch;
      g.lda = g.k;
      g.b = patches + group * patch * out_plane;
      g.ldb = g.n;
      g.stride_b = static_cast<std::int64_t>(patches_per_frame);
      g.beta = 1.0f;
      g.c = y->data() + first * out_frame + group * out_per_group * out_plane;
      g.ldc = g.n;
      g.stride_c = static_cast<std::int64_t>(out_frame);
      g.batch = static_cast<int>(count);
      device_.gemm(g);
    }
  }
  if (spikes) {
    Array<std::uint64_t> total = device_.template allocate<std::uint64_t>(1);
    device_.launch(device_.items_shape(frames * in_frame),
                   ConvolutionAccumulatesKernel{x, w, frames, out_per_group, total.data()});
    counts.acs += download(total)[0];
  } else {
    counts.macs += frames * out_frame * patch;
  }
  return y;
}

template <class Device>
std::vector<std::uint64_t> DeviceGraphRunner<Device>::count_per_step(const Array<float>& values,
                                                                     const Batch& batch,
                                                                     std::size_t features) {
  Array<std::uint64_t> counts = device_.template allocate<std::uint64_t>(batch.steps);
  const std::uint64_t frame_size = std::uint64_t{batch.batch} * features;
  device_.launch(device_.items_shape(frame_size * batch.steps),
                 CountSpikesPerStepKernel{values.data(), frame_size, batch.steps, counts.data()});
  return download(counts);
}

}  // namespace snnsim
