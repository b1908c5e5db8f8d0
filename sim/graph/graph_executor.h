#pragma once
// What runs a layer graph for `snnsim infer`: the CPU (LayerGraph::run) or a CUDA device
// (DeviceGraphRunner<CudaDevice>, kernels/cuda_graph.h), chosen by --backend like `snnsim run`'s
// backends (sim/backend.h). Both give the same GraphRun: outputs, spikes, per-node counts.
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "sim/backend.h"
#include "sim/graph/layer_graph.h"

namespace snnsim {

class GraphExecutor {
 public:
  virtual ~GraphExecutor() = default;
  /// LayerGraph::run's result for `input`, keeping the values of the nodes `keep_values`
  /// (GraphRun::kept_values; the CPU only).
  virtual GraphRun run(const Value& input, bool keep_spikes,
                       std::span<const std::size_t> keep_values) = 0;
  /// "cpu" or "cuda": the trace's backend attribute.
  virtual std::string_view name() const = 0;
  /// For the run's header: what runs the graph, and for auto, why.
  virtual std::string description() const = 0;
};

/// The executor of `kind` for `graph` (which must outlive it). `dense`: the CPU's --dense
/// (operators take their dense paths); the device always runs dense products and reports the
/// event-driven counts, so it ignores it. `automatic` picks cuda when this build has CUDA, a
/// device is present, and the device runs every node; the CPU otherwise. Throws
/// std::runtime_error, one line, when `kind` is cuda and it cannot run here.
std::unique_ptr<GraphExecutor> make_graph_executor(BackendKind kind, const LayerGraph& graph,
                                                   bool dense);

}  // namespace snnsim
