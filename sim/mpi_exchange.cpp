#include "sim/mpi_exchange.h"

// MPI's C interface only (Open MPI and MPICH otherwise pull in their deprecated C++ bindings).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <chrono>
#include <climits>
#include <cstdlib>
#include <stdexcept>

namespace snnsim {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// MPI counts are ints: refuse an interval whose spikes would overflow them.
int checked_count(std::size_t n) {
  if (n > static_cast<std::size_t>(INT_MAX)) {
    throw std::runtime_error("more than 2^31 spikes in one exchange interval");
  }
  return static_cast<int>(n);
}

class MpiSpikeExchange final : public SpikeExchange {
 public:
  explicit MpiSpikeExchange(Partition partition) : partition_(partition) {}

  Partition partition() const override { return partition_; }

  bool exchange(const IntervalSpikes& local, bool stop, IntervalSpikes& all) override {
    const int ranks = partition_.ranks;
    const std::size_t entries = local.counts().size();
    // Every rank's counts and stop flag first: this collective is where a rank waits for the
    // slowest one, so its time is the waiting time; the spikes follow.
    auto start = std::chrono::steady_clock::now();
    send_counts_.assign(local.counts().begin(), local.counts().end());
    send_counts_.push_back(stop ? 1 : 0);
    counts_.resize((entries + 1) * ranks);
    MPI_Allgather(send_counts_.data(), checked_count(entries + 1), MPI_UINT32_T, counts_.data(),
                  checked_count(entries + 1), MPI_UINT32_T, MPI_COMM_WORLD);
    times_.waiting_s += seconds_since(start);

    start = std::chrono::steady_clock::now();
    bool any_stop = false;
    receive_counts_.assign(ranks, 0);
    displacements_.assign(ranks, 0);
    rank_counts_.clear();
    std::size_t total = 0;
    for (int r = 0; r < ranks; ++r) {
      const std::uint32_t* rank_counts = counts_.data() + r * (entries + 1);
      std::size_t n = 0;
      for (std::size_t e = 0; e < entries; ++e)
        n += rank_counts[e];
      any_stop = any_stop || rank_counts[entries] != 0;
      rank_counts_.insert(rank_counts_.end(), rank_counts, rank_counts + entries);
      displacements_[r] = checked_count(total);
      receive_counts_[r] = checked_count(n);
      total += n;
    }
    checked_count(total);
    neurons_.resize(total);
    MPI_Allgatherv(local.neurons().data(), checked_count(local.neurons().size()), MPI_UINT32_T,
                   neurons_.data(), receive_counts_.data(), displacements_.data(), MPI_UINT32_T,
                   MPI_COMM_WORLD);
    all.merge(rank_counts_, neurons_, entries, ranks);
    times_.communication_s += seconds_since(start);
    times_.bytes += sizeof(std::uint32_t) * (counts_.size() + total);
    ++times_.exchanges;
    return any_stop;
  }

  void gather_to_root(std::span<const float> local, std::vector<float>& all) override {
    const int ranks = partition_.ranks;
    const int count = checked_count(local.size());
    std::vector<int> counts(ranks), displacements(ranks);
    MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::size_t total = 0;
    for (int r = 0; r < ranks; ++r) {
      displacements[r] = checked_count(total);
      total += counts[r];
    }
    all.resize(partition_.rank == 0 ? total : 0);
    MPI_Gatherv(local.data(), count, MPI_FLOAT, all.data(), counts.data(), displacements.data(),
                MPI_FLOAT, 0, MPI_COMM_WORLD);
  }

  std::uint64_t min_over_ranks(std::uint64_t value) override {
    std::uint64_t result = 0;
    MPI_Allreduce(&value, &result, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    return result;
  }

  std::uint64_t sum_over_ranks(std::uint64_t value) override {
    std::uint64_t result = 0;
    MPI_Allreduce(&value, &result, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
    return result;
  }

  std::vector<double> gather_values(double value) override {
    std::vector<double> values(partition_.rank == 0 ? partition_.ranks : 0);
    MPI_Gather(&value, 1, MPI_DOUBLE, values.data(), 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    return values;
  }

  ExchangeTimes times() const override { return times_; }

 private:
  Partition partition_;
  ExchangeTimes times_;
  // Buffers kept between exchanges.
  std::vector<std::uint32_t> send_counts_, counts_, rank_counts_;
  std::vector<int> receive_counts_, displacements_;
  std::vector<NeuronIndex> neurons_;
};

}  // namespace

MpiSession::MpiSession() {
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    throw std::runtime_error("MPI failed to start");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &partition_.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &partition_.ranks);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, partition_.rank, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &local_ranks_);
  MPI_Comm_free(&node);
}

MpiSession::~MpiSession() {
  MPI_Finalize();
}

std::optional<MpiSession::Failure> MpiSession::first_failure(const std::string& failure,
                                                             int exit_code) {
  const int mine = failure.empty() ? partition_.ranks : partition_.rank;
  int first = 0;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first == partition_.ranks) return std::nullopt;
  Failure result{first, exit_code, failure};
  int length = static_cast<int>(failure.size());
  int header[2] = {exit_code, length};
  MPI_Bcast(header, 2, MPI_INT, first, MPI_COMM_WORLD);
  result.exit_code = header[0];
  result.message.resize(header[1]);
  MPI_Bcast(result.message.data(), header[1], MPI_CHAR, first, MPI_COMM_WORLD);
  return result;
}

void MpiSession::abort_all(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::abort();  // MPI_Abort does not return
}

std::unique_ptr<SpikeExchange> MpiSession::make_exchange() {
  return std::make_unique<MpiSpikeExchange>(partition_);
}

}  // namespace snnsim
