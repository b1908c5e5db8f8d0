// The MPI session of a build without MPI (sim/mpi_exchange.h): it cannot start one.
#include <cstdlib>
#include <stdexcept>

#include "sim/mpi_exchange.h"

namespace snnsim {

MpiSession::MpiSession() {
  throw std::runtime_error(
      "started by an MPI launcher, but this build has no MPI (install libopenmpi-dev and "
      "rebuild; see docs/distributed.md)");
}

MpiSession::~MpiSession() = default;

std::optional<MpiSession::Failure> MpiSession::first_failure(const std::string&, int) {
  return std::nullopt;
}

void MpiSession::abort_all(int exit_code) {
  std::exit(exit_code);
}

std::unique_ptr<SpikeExchange> MpiSession::make_exchange() {
  return nullptr;
}

}  // namespace snnsim
