#include "sim/backend.h"

#include <stdexcept>

#include "sim/cpu_backend.h"

namespace snnsim {

std::unique_ptr<Backend> make_backend(BackendKind kind, Network& network, int threads) {
  switch (kind) {
    case BackendKind::cpu:
      return std::make_unique<CpuBackend>(network, threads);
    case BackendKind::cuda:
      throw std::runtime_error("the CUDA backend is not part of this build yet; use --backend cpu");
  }
  throw std::logic_error("unknown backend kind");
}

}  // namespace snnsim
