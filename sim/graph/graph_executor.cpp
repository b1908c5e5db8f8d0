#include "sim/graph/graph_executor.h"

#include <cblas.h>
#include <omp.h>

#include <cstdlib>
#include <stdexcept>

#include "sim/graph/device_graph_plan.h"
#ifdef SNNSIM_WITH_CUDA
#include "sim/cuda_plugin.h"
#endif

namespace snnsim {
namespace {

/// OpenBLAS's kernels, which set the speed of the dense products: OpenBLAS's choice for this
/// processor, or OPENBLAS_CORETYPE's (which can name older ones: AVX2 kernels on a processor
/// with AVX-512 run SGEMM at half its speed, docs/performance.md).
std::string blas_kernels() {
  return std::string("OpenBLAS ") + openblas_get_corename() + " kernels" +
         (std::getenv("OPENBLAS_CORETYPE") != nullptr ? " (OPENBLAS_CORETYPE)" : "");
}

class CpuGraphExecutor final : public GraphExecutor {
 public:
  CpuGraphExecutor(const LayerGraph& graph, bool dense, std::string why)
      : graph_(graph), dense_(dense), why_(std::move(why)) {}
  GraphRun run(const Value& input, bool keep_spikes,
               std::span<const std::size_t> keep_values) override {
    return graph_.run(input, keep_spikes, dense_, keep_values);
  }
  std::string_view name() const override { return "cpu"; }
  std::string description() const override {
    const int threads = omp_get_max_threads();
    return "cpu, " + std::to_string(threads) + " thread" + (threads == 1 ? "" : "s") +
           (dense_ ? ", dense paths" : "") + ", " + blas_kernels() + why_;
  }

 private:
  const LayerGraph& graph_;
  bool dense_;
  std::string why_;  ///< for auto: why not cuda
};

}  // namespace

std::unique_ptr<GraphExecutor> make_graph_executor(BackendKind kind, const LayerGraph& graph,
                                                   bool dense) {
  switch (kind) {
    case BackendKind::cpu:
      return std::make_unique<CpuGraphExecutor>(graph, dense, "");
    case BackendKind::cuda:
#ifdef SNNSIM_WITH_CUDA
      return make_cuda_graph_executor(graph);
#else
      require_device_support(graph);
      throw std::runtime_error(
          "this snnsim was built without CUDA (no nvcc, or -DSNNSIM_CUDA=OFF); use --backend cpu");
#endif
    case BackendKind::automatic: {
      const std::string no_cuda = cuda_unavailable_reason();
      if (!no_cuda.empty())
        return std::make_unique<CpuGraphExecutor>(graph, dense, " (auto: " + no_cuda + ")");
      const std::vector<std::string> unsupported = nodes_without_device_support(graph);
      if (!unsupported.empty()) {
        return std::make_unique<CpuGraphExecutor>(
            graph, dense,
            " (auto: cuda does not run " + unsupported.front() +
                (unsupported.size() > 1
                     ? " and " + std::to_string(unsupported.size() - 1) + " more node(s)"
                     : std::string()) +
                ")");
      }
      return make_graph_executor(BackendKind::cuda, graph, dense);
    }
  }
  throw std::logic_error("unknown backend kind");
}

}  // namespace snnsim
