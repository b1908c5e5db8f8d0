#pragma once
// What the device runner of layer graphs (sim/graph/device_graph.h) decides before it runs,
// without a device: which operator each node is, whether the device runs it (the refusal that
// names every node it does not), what each node's buffer holds (analog values or spikes of which
// kind), and how much device memory a batch needs. Plain C++, shared by every device.
#include <cstdint>
#include <string>
#include <vector>

#include "sim/graph/layer_graph.h"

namespace snnsim {

/// The operators the device runner runs.
enum class DeviceOp {
  input,
  folded,   ///< a BatchNorm folded into its input: that node's buffer
  flatten,  ///< the input's buffer, reshaped
  linear,
  conv2d,
  pool2d,
  global_avgpool,
  upsample,
  add,
  channel_scale,
  batchnorm,  ///< not folded
  lif,        ///< LIF and IF
  threshold,  ///< threshold and multilevel
  unsupported,
};

DeviceOp device_op_of(const GraphNode& node);

/// "name (kind)" for each node the device runner cannot run, in node order; empty if none.
std::vector<std::string> nodes_without_device_support(const LayerGraph& graph);

/// Throws std::runtime_error, one line, naming every node the device cannot run:
/// "--backend cuda does not run these nodes yet: attn (attention), ln (layernorm); use --backend
/// cpu".
void require_device_support(const LayerGraph& graph);

/// What a node's dense device buffer holds: analog values, or spikes stored as level x
/// amplitude (the kind and amplitudes the CPU operators would give the value).
struct DeviceValueKind {
  bool spikes = false;
  SpikeKind kind = SpikeKind::binary;
  std::vector<float> amplitude;  ///< per timestep (ternary); empty: 1
};

/// Per node, the kind of its value when the graph runs on `input`, following the CPU operators'
/// rules (max pooling and upsampling of spikes give spikes, the sum of two unit spike inputs
/// gives integer spikes, neuron layers give spikes, the rest analog values).
std::vector<DeviceValueKind> device_value_kinds(const LayerGraph& graph, const Value& input);

/// The value of `shape` over steps x batch held by `dense` ([T][B][features]) as the CPU would
/// hold it: spikes (levels: value / amplitude) or analog values.
Value value_from_dense(const Shape& shape, std::size_t steps, std::size_t batch,
                       std::vector<float> dense, const DeviceValueKind& kind);

/// Device memory of one batch.
struct DeviceGraphMemory {
  std::uint64_t peak_bytes = 0;  ///< live buffers and scratch at the busiest node
  /// Per node: frames per im2col pass (convolutions that need one; 0 otherwise).
  std::vector<std::size_t> column_frames;
};

/// im2col buffers hold at most this many bytes: larger batches go through in several passes.
inline constexpr std::uint64_t kColumnBufferBytes = 256ull << 20;

/// Walks the execution order as the runner does (a node's buffer is allocated when it runs and
/// freed after its last consumer; flatten and folded nodes share their input's) and returns
/// the peak.
DeviceGraphMemory plan_device_graph_memory(const LayerGraph& graph, std::size_t frames);

/// Whether a convolution reads its input directly as the patch matrix (1 x 1 kernel, stride
/// 1, no padding): no im2col pass.
bool convolution_needs_columns(const GraphNode& node);

}  // namespace snnsim
