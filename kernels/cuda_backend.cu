// The CUDA backend: GridBackend (sim/grid_backend.h) on the CudaDevice. This translation unit is
// where nvcc compiles every kernel body (for sm_80 and sm_90), so a body that is not valid
// device code fails the build, with or without a GPU.
#include "kernels/cuda_backend.h"
#include "kernels/cuda_device.cuh"
#include "sim/grid_backend.h"

namespace snnsim {

int cuda_device_count() {
  int count = 0;
  // Without a driver or a device this reports an error; both mean "no device".
  if (cudaGetDeviceCount(&count) != cudaSuccess) return 0;
  return count;
}

std::unique_ptr<Backend> make_cuda_backend(Network& network, const DevicePlanOptions& options) {
  require_cuda_device();
  return std::make_unique<GridBackend<CudaDevice>>(network, options, CudaDevice{});
}

}  // namespace snnsim
