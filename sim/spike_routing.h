#pragma once
// Where the spikes of a distributed run go (docs/distributed.md). Two patterns:
//
// - all-gather (MPI_Allgatherv): every spike to every process. One collective, no routing;
//   best when most neurons have targets on most processes, as in randomly connected networks.
// - all-to-all (MPI_Alltoallv): a spike only to the processes that hold one of its targets, and
//   to rank 0, which records every spike (trace, summary).
//
// The rule: all-to-all when a neuron's spikes would reach at most half of the processes on
// average (counting rank 0), all-gather otherwise: below that the smaller volume pays for the
// per-destination packing and counts. Every process learns at the start which of its neurons
// every other process needs, from the synapses it holds, so the rule's figure is exact.
#include <span>
#include <string>
#include <vector>

#include "sim/backend.h"
#include "sim/network.h"
#include "sim/spike_exchange.h"

namespace snnsim {

class SpikeRouter {
 public:
  enum class Pattern { all_gather, all_to_all };

  /// Collective: exchanges, per population, which neurons each process needs, and picks the
  /// pattern.
  SpikeRouter(const Network& network, SpikeExchange& exchange);

  Pattern pattern() const { return pattern_; }
  /// The processes a neuron's spikes reach, on average over every neuron of the network.
  double mean_destinations() const { return mean_destinations_; }
  /// For the run's summary: the pattern, and exchanges every `interval` steps, `overlapped`
  /// with the updates or not.
  std::string describe(Step interval, bool overlapped) const;

  /// Collective: starts trading this process's spikes of an interval (`local`, unchanged until
  /// finish()) and its wish to stop. With all-gather the transfer proceeds while the caller
  /// works, calling progress() now and then; all-to-all completes here.
  void start(const IntervalSpikes& local, bool stop);
  void progress();
  /// Completes it: `received` gets the spikes this process needs (on rank 0, or with all-gather:
  /// all of them). Returns whether any process wishes to stop.
  bool finish(IntervalSpikes& received);

 private:
  const Network& network_;
  SpikeExchange& exchange_;
  Pattern pattern_ = Pattern::all_gather;
  double mean_destinations_ = 0;
  /// All-to-all: per population, the destination ranks of each local neuron, as compressed rows.
  std::vector<std::vector<std::uint64_t>> row_offsets_;
  std::vector<std::vector<int>> destinations_;
  std::vector<IntervalSpikes> outgoing_;
  SpikeExchange::Received all_to_all_received_;
};

/// The rank that holds each probed neuron: owners[probe][k] for the probe's neuron k.
std::vector<std::vector<int>> probe_owners(const Network& network, Partition partition);

/// Tells `observer` an exchanged interval: every step's spikes, and on rank 0 the probes' rows,
/// rebuilt from `samples`: every rank's samples of the interval, rank after rank, each in (step,
/// probe, held neuron in the probe's order) order.
void report_interval(const Network& network, Partition partition,
                     const std::vector<std::vector<int>>& owners, Step first_step,
                     const IntervalSpikes& spikes, std::span<const float> samples,
                     RunObserver& observer);

}  // namespace snnsim
