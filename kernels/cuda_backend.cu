// The CUDA backend: GridBackend (sim/grid_backend.h) on the CudaDevice. This translation unit is
// where nvcc compiles every kernel body (for sm_80 and sm_90), so a body that is not valid
// device code fails the build, with or without a GPU. It also holds the plugin's entry point
// (kernels/cuda_plugin.h).
#include "kernels/cuda_backend.h"
#include "kernels/cuda_device.cuh"
#include "kernels/cuda_graph.h"
#include "kernels/cuda_plugin.h"
#include "sim/grid_backend.h"
#include "sim/spike_exchange.h"
#include "sim/version.h"

namespace snnsim::plugin {

int cuda_device_count() {
  int count = 0;
  // Without a driver or a device this reports an error; both mean "no device".
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
  return count;
}

std::unique_ptr<Backend> make_cuda_backend(Network& network, const DevicePlanOptions& options) {
  require_cuda_device();
  // One device per rank of a distributed run: the ranks on a machine share its devices in turn.
  if (options.exchange != nullptr) {
    int count = 0;
    check_cuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    check_cuda(cudaSetDevice(options.exchange->rank_on_machine % count), "cudaSetDevice");
  }
  return std::make_unique<GridBackend<CudaDevice>>(network, options, CudaDevice{});
}

}  // namespace snnsim::plugin

extern "C" const snnsim::CudaPluginTable* snnsim_cuda_plugin_table() {
  static constexpr snnsim::CudaPluginTable table{
      snnsim::kCudaPluginAbiVersion, snnsim::kVersion, snnsim::plugin::cuda_device_count,
      snnsim::plugin::make_cuda_backend, snnsim::plugin::make_cuda_graph_executor};
  return &table;
}
