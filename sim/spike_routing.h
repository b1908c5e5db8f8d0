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
#include <vector>

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

}  // namespace snnsim
