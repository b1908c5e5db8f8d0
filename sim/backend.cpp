#include "sim/backend.h"

#include <stdexcept>

#include "sim/cpu_backend.h"
#ifdef SNNSIM_WITH_CUDA
#include "sim/cuda_plugin.h"
#endif

namespace snnsim {

#ifndef SNNSIM_WITH_CUDA
int cuda_device_count() {
  return 0;
}

std::string cuda_unavailable_reason() {
  return "no CUDA device";
}
#endif

std::unique_ptr<Backend> make_backend(BackendKind kind, Network& network, int threads,
                                      SpikeExchange* exchange) {
  switch (kind) {
    case BackendKind::cpu:
      return std::make_unique<CpuBackend>(network, threads, exchange);
    case BackendKind::cuda:
#ifdef SNNSIM_WITH_CUDA
    {
      DevicePlanOptions options;
      options.exchange = exchange;
      return make_cuda_backend(network, options);
    }
#else
      throw std::runtime_error(
          "this snnsim was built without CUDA (no nvcc, or -DSNNSIM_CUDA=OFF); use --backend cpu");
#endif
    case BackendKind::automatic:
      return make_backend(cuda_device_count() > 0 ? BackendKind::cuda : BackendKind::cpu, network,
                          threads, exchange);
  }
  throw std::logic_error("unknown backend kind");
}

}  // namespace snnsim
