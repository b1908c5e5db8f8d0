#pragma once
// What the processes of a distributed run exchange, and the interface that exchanges it
// (sim/mpi_exchange.h is the MPI implementation). A spike cannot reach another neuron sooner
// than the network's shortest delay D, so processes advance D steps on their own and then trade
// those steps' spikes at once: one exchange per D steps, as NEST does (docs/distributed.md).
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "sim/partition.h"
#include "sim/types.h"

namespace snnsim {

/// One process's spikes of an interval as another process received them: its counts per (step,
/// population) and its neurons, laid out as IntervalSpikes lays them out.
struct RankSpikes {
  std::span<const std::uint32_t> counts;
  std::span<const NeuronIndex> neurons;
};

/// The spikes of consecutive steps of every population, in population (global) neuron indices:
/// step-major, then population, ascending within each (step, population).
class IntervalSpikes {
 public:
  explicit IntervalSpikes(std::size_t populations = 0) : populations_(populations) {}

  std::size_t populations() const { return populations_; }
  Step steps() const { return populations_ > 0 ? counts_.size() / populations_ : 0; }
  void clear() {
    counts_.clear();
    offsets_.assign(1, 0);
    neurons_.clear();
  }
  /// Appends spikes to the current (step, population) entry.
  void add(NeuronIndex neuron) { neurons_.push_back(neuron); }
  /// Ends the current entry; the next add() begins the next one.
  void end_entry() {
    counts_.push_back(static_cast<std::uint32_t>(neurons_.size() - offsets_.back()));
    offsets_.push_back(neurons_.size());
  }
  /// The spikes of population `population` at the `step`-th step of the interval.
  std::span<const NeuronIndex> at(Step step, std::size_t population) const {
    const std::size_t entry = step * populations_ + population;
    return std::span(neurons_).subspan(offsets_[entry], counts_[entry]);
  }
  RankSpikes view() const { return {counts_, neurons_}; }

  /// Fills this with the ranks' spikes, entry by entry, rank after rank: since rank r holds the
  /// r-th block of every population, the ranks' spikes of an entry, concatenated in rank order,
  /// are ascending.
  void merge(std::span<const RankSpikes> ranks);

 private:
  std::size_t populations_;
  std::vector<std::uint32_t> counts_;
  std::vector<std::size_t> offsets_{0};
  std::vector<NeuronIndex> neurons_;
};

/// Where a process's time went in a distributed run.
struct ExchangeTimes {
  double waiting_s = 0;        ///< for the slowest process to reach the exchange
  double communication_s = 0;  ///< moving the spikes
  std::uint64_t bytes = 0;     ///< received
  std::uint64_t exchanges = 0;
};

/// The collectives a distributed run needs. Every call is collective: every process makes it, in
/// the same order (and none before the processes agree that every one is ready: a process that
/// failed to build its part never reaches its first call).
class SpikeExchange {
 public:
  virtual ~SpikeExchange() = default;
  virtual Partition partition() const = 0;
  /// Whether a run may overlap exchanges with its updates (sim/cpu_backend.h says when it does).
  bool overlap = true;
  /// This process's place among the processes on its machine: which of the machine's GPUs it
  /// takes (the rank-on-machine-th, modulo their number).
  int rank_on_machine = 0;

  /// What a process receives: every rank's spikes, in rank order (views into the exchange's
  /// buffers, valid until its next call), and whether any rank wishes to stop.
  struct Received {
    std::span<const RankSpikes> ranks;
    bool stop = false;
  };
  /// Every process sends `local` (the same steps and populations everywhere) to every process:
  /// started here and completed by finish_all_gather(), between which `local` stays as it is and
  /// no other collective is made; progress() (cheap) lets the transfer advance meanwhile, so it
  /// overlaps with the caller's work.
  virtual void start_all_gather(const IntervalSpikes& local, bool stop) = 0;
  virtual void progress() = 0;
  virtual Received finish_all_gather() = 0;
  /// Every process sends `outgoing[r]` to rank r (each with the same steps and populations).
  virtual Received all_to_all(std::span<const IntervalSpikes> outgoing, bool stop) = 0;
  /// Rank 0 receives every rank's `local` values, concatenated in rank order (other ranks
  /// receive nothing).
  virtual void gather_to_root(std::span<const float> local, std::vector<float>& all) = 0;
  /// The smallest / the sum of every process's `value`.
  virtual std::uint64_t min_over_ranks(std::uint64_t value) = 0;
  virtual std::uint64_t sum_over_ranks(std::uint64_t value) = 0;
  /// Rank 0 receives every rank's `value`, in rank order (others: empty).
  virtual std::vector<double> gather_values(double value) = 0;
  virtual ExchangeTimes times() const = 0;
};

/// Collective: the steps between exchanges, from each process's shortest delay: the shortest of
/// all (no spike reaches another process sooner), at most 100 steps (so that a network without
/// synapses, or with long delays only, still reports progress and stops in good time).
inline Step exchange_interval(SpikeExchange& exchange, std::uint32_t shortest_local_delay) {
  constexpr std::uint32_t kLongest = 100;
  return exchange.min_over_ranks(std::min(shortest_local_delay, kLongest));
}

}  // namespace snnsim
