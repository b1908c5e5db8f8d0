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
  if (exchange != nullptr && kind != BackendKind::cpu) {
    if (kind == BackendKind::automatic)
      return make_backend(BackendKind::cpu, network, threads, exchange);
    throw std::runtime_error(
        "a distributed run (mpirun) runs on the CPU backend of every rank; the CUDA backend does "
        "not trade spikes between processes yet (use --backend cpu)");
  }
  switch (kind) {
    case BackendKind::cpu:
      return std::make_unique<CpuBackend>(network, threads, exchange);
    case BackendKind::cuda:
#ifdef SNNSIM_WITH_CUDA
      return make_cuda_backend(network, {});
#else
      throw std::runtime_error(
          "this snnsim was built without CUDA (no nvcc, or -DSNNSIM_CUDA=OFF); use --backend cpu");
#endif
    case BackendKind::automatic:
      return make_backend(cuda_device_count() > 0 ? BackendKind::cuda : BackendKind::cpu, network,
                          threads);
  }
  throw std::logic_error("unknown backend kind");
}

}  // namespace snnsim
