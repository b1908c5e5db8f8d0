// Layer graphs on a CUDA device: DeviceGraphRunner (sim/graph/device_graph.h) on the
// CudaDevice, with cuBLAS for the products. As in kernels/cuda_backend.cu, this translation unit
// is where nvcc compiles the graph kernel bodies (kernels/graph_kernels.h) for sm_80 and sm_90,
// so a body that is not valid device code fails the build, with or without a GPU.
#include <stdexcept>

#include "kernels/cuda_device.cuh"
#include "kernels/cuda_graph.h"
#include "sim/graph/device_graph.h"

namespace snnsim::plugin {
namespace {

class CudaGraphExecutor final : public GraphExecutor {
 public:
  explicit CudaGraphExecutor(const LayerGraph& graph) : runner_(graph, CudaDevice{}) {}
  GraphRun run(const Value& input, bool keep_spikes,
               std::span<const std::size_t> keep_values) override {
    if (!keep_values.empty())
      throw std::runtime_error("recording a node's values (--record) needs --backend cpu");
    return runner_.run(input, keep_spikes);
  }
  std::string_view name() const override { return "cuda"; }
  std::string description() const override { return "cuda: " + runner_.description(); }

 private:
  DeviceGraphRunner<CudaDevice> runner_;
};

}  // namespace

std::unique_ptr<GraphExecutor> make_cuda_graph_executor(const LayerGraph& graph) {
  require_cuda_device();
  return std::make_unique<CudaGraphExecutor>(graph);
}

}  // namespace snnsim::plugin
