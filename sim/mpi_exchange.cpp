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

  void start_all_gather(const IntervalSpikes& local, bool stop) override {
    gathering_ = local.view();
    const std::size_t entries = gathering_.counts.size();
    send_counts_.assign(gathering_.counts.begin(), gathering_.counts.end());
    send_counts_.push_back(stop ? 1 : 0);
    counts_.resize((entries + 1) * partition_.ranks);
    // Every rank's counts and stop flag first, then the spikes, once their sizes are known.
    MPI_Iallgather(send_counts_.data(), checked_count(entries + 1), MPI_UINT32_T, counts_.data(),
                   checked_count(entries + 1), MPI_UINT32_T, MPI_COMM_WORLD, &counts_request_);
    stage_ = Stage::counts;
  }

  void progress() override {
    int done = 0;
    if (stage_ == Stage::counts) {
      MPI_Test(&counts_request_, &done, MPI_STATUS_IGNORE);
      if (done) start_spikes();
    } else if (stage_ == Stage::spikes) {
      MPI_Test(&spikes_request_, &done, MPI_STATUS_IGNORE);
      if (done) stage_ = Stage::done;
    }
  }

  Received finish_all_gather() override {
    // Blocked on the counts is waiting for the slowest rank; blocked on the spikes, moving them.
    auto start = std::chrono::steady_clock::now();
    if (stage_ == Stage::counts) {
      MPI_Wait(&counts_request_, MPI_STATUS_IGNORE);
      start_spikes();
    }
    times_.waiting_s += seconds_since(start);
    start = std::chrono::steady_clock::now();
    if (stage_ == Stage::spikes) MPI_Wait(&spikes_request_, MPI_STATUS_IGNORE);
    stage_ = Stage::idle;
    return finish(start, gather_stop_);
  }

  Received all_to_all(std::span<const IntervalSpikes> outgoing, bool stop) override {
    const int ranks = partition_.ranks;
    const std::size_t entries = outgoing[0].view().counts.size();
    auto start = std::chrono::steady_clock::now();
    send_counts_.clear();
    send_neurons_.clear();
    send_sizes_.assign(ranks, 0);
    send_displacements_.assign(ranks, 0);
    for (int r = 0; r < ranks; ++r) {
      const RankSpikes out = outgoing[r].view();
      send_counts_.insert(send_counts_.end(), out.counts.begin(), out.counts.end());
      send_counts_.push_back(stop ? 1 : 0);
      send_displacements_[r] = checked_count(send_neurons_.size());
      send_sizes_[r] = checked_count(out.neurons.size());
      send_neurons_.insert(send_neurons_.end(), out.neurons.begin(), out.neurons.end());
    }
    counts_.resize((entries + 1) * ranks);
    MPI_Alltoall(send_counts_.data(), checked_count(entries + 1), MPI_UINT32_T, counts_.data(),
                 checked_count(entries + 1), MPI_UINT32_T, MPI_COMM_WORLD);
    times_.waiting_s += seconds_since(start);

    start = std::chrono::steady_clock::now();
    const bool any_stop = layout_received(entries);
    MPI_Alltoallv(send_neurons_.data(), send_sizes_.data(), send_displacements_.data(),
                  MPI_UINT32_T, neurons_.data(), receive_counts_.data(),
                  receive_displacements_.data(), MPI_UINT32_T, MPI_COMM_WORLD);
    return finish(start, any_stop);
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
  /// The all-gather's second collective, once the counts are in.
  void start_spikes() {
    gather_stop_ = layout_received(gathering_.counts.size());
    MPI_Iallgatherv(gathering_.neurons.data(), checked_count(gathering_.neurons.size()),
                    MPI_UINT32_T, neurons_.data(), receive_counts_.data(),
                    receive_displacements_.data(), MPI_UINT32_T, MPI_COMM_WORLD, &spikes_request_);
    stage_ = Stage::spikes;
  }

  /// From the received counts (entries + 1 per rank, the last a stop flag): where each rank's
  /// spikes go in neurons_, sized for them. Returns whether any rank wishes to stop.
  bool layout_received(std::size_t entries) {
    const int ranks = partition_.ranks;
    bool any_stop = false;
    receive_counts_.assign(ranks, 0);
    receive_displacements_.assign(ranks, 0);
    std::size_t total = 0;
    for (int r = 0; r < ranks; ++r) {
      const std::uint32_t* rank_counts = counts_.data() + r * (entries + 1);
      std::size_t n = 0;
      for (std::size_t e = 0; e < entries; ++e)
        n += rank_counts[e];
      any_stop = any_stop || rank_counts[entries] != 0;
      receive_displacements_[r] = checked_count(total);
      receive_counts_[r] = checked_count(n);
      total += n;
    }
    checked_count(total);
    neurons_.resize(total);
    return any_stop;
  }

  /// The views of what arrived, and the figures of this exchange.
  Received finish(std::chrono::steady_clock::time_point start, bool any_stop) {
    const int ranks = partition_.ranks;
    const std::size_t entries = counts_.size() / ranks - 1;
    views_.resize(ranks);
    for (int r = 0; r < ranks; ++r) {
      views_[r] = {std::span(counts_).subspan(r * (entries + 1), entries),
                   std::span(neurons_).subspan(receive_displacements_[r], receive_counts_[r])};
    }
    times_.communication_s += seconds_since(start);
    times_.bytes += sizeof(std::uint32_t) * (counts_.size() + neurons_.size());
    ++times_.exchanges;
    return {views_, any_stop};
  }

  Partition partition_;
  ExchangeTimes times_;
  // Buffers kept between exchanges.
  std::vector<std::uint32_t> send_counts_, counts_;
  std::vector<int> send_sizes_, send_displacements_, receive_counts_, receive_displacements_;
  std::vector<NeuronIndex> send_neurons_, neurons_;
  std::vector<RankSpikes> views_;
  // The all-gather in progress.
  enum class Stage { idle, counts, spikes, done };
  Stage stage_ = Stage::idle;
  RankSpikes gathering_;
  bool gather_stop_ = false;
  MPI_Request counts_request_ = MPI_REQUEST_NULL, spikes_request_ = MPI_REQUEST_NULL;
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
  MPI_Comm_rank(node, &local_rank_);
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
  auto exchange = std::make_unique<MpiSpikeExchange>(partition_);
  exchange->rank_on_machine = local_rank_;
  return exchange;
}

}  // namespace snnsim
