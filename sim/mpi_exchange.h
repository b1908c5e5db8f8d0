#pragma once
// Distributed runs over MPI (docs/distributed.md): the MPI session of a process started by
// `mpirun`, and the SpikeExchange that trades each interval's spikes with MPI_Allgatherv. A build
// without MPI (SNNSIM_MPI off, or no MPI found) compiles sim/mpi_unavailable.cpp instead, which
// refuses to run under mpirun rather than run R copies of the same network.
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "sim/spike_exchange.h"

namespace snnsim {

/// Whether this process was started by an MPI launcher: Open MPI's mpirun, or the PMI / PMIx
/// process managers of MPICH's mpiexec and Slurm's srun.
inline bool launched_by_mpi() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE"}) {
    if (std::getenv(variable) != nullptr) return true;
  }
  return false;
}

/// MPI, initialised for the lifetime of the object (threads: only the one that made it calls
/// MPI).
class MpiSession {
 public:
  /// Throws std::runtime_error when this build has no MPI or MPI fails to start.
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  Partition partition() const { return partition_; }
  /// The processes of this run on this machine (to share its cores between them).
  int ranks_on_this_machine() const { return local_ranks_; }

  /// Collective: every process says how its part of a phase ended (an empty `failure` when it
  /// succeeded). Returns the failure of the lowest-numbered failed rank, with its exit code, on
  /// every rank, or nothing when all succeeded: so a problem on one rank (a file missing on one
  /// host) ends every rank, with one message, instead of leaving the others waiting.
  struct Failure {
    int rank;
    int exit_code;
    std::string message;
  };
  std::optional<Failure> first_failure(const std::string& failure, int exit_code);

  /// Ends every rank of the run now, with `exit_code` (after a failure on this rank alone,
  /// during the run, when the others are already waiting for it).
  [[noreturn]] void abort_all(int exit_code);

  std::unique_ptr<SpikeExchange> make_exchange();

 private:
  Partition partition_;
  int local_ranks_ = 1;
  int local_rank_ = 0;
};

}  // namespace snnsim
