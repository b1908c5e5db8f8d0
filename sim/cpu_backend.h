#pragma once
// The CPU backend, the reference implementation of the Backend interface: time-stepped neuron
// updates and event-driven spike delivery, multi-threaded with OpenMP, bit-identical results
// whatever the thread count (see run() for how). In a distributed run (sim/spike_exchange.h) it
// holds one block of every population and trades spikes with the other processes once per
// shortest delay, with the same results as one process.
#include <array>
#include <memory>
#include <utility>
#include <vector>

#include "kernels/spike_delivery.h"
#include "sim/backend.h"
#include "sim/spike_exchange.h"
#include "sim/spike_routing.h"

namespace snnsim {

class CpuBackend final : public Backend {
 public:
  /// `exchange`: the other processes of a distributed run, or null.
  CpuBackend(Network& network, int threads, SpikeExchange* exchange = nullptr);
  ~CpuBackend() override;

  std::string_view name() const override { return "cpu"; }
  int threads() const override { return threads_; }
  /// Distributed runs, once running: how spikes travel (sim/spike_routing.h).
  std::string description() const override;
  Step run(Step first, Step last, RunObserver& observer) override;
  BackendCounters counters() const override;

 private:
  InputRing ring(std::size_t population, int receptor);
  /// The neurons of `population` that `thread` owns: [first, second).
  std::pair<NeuronIndex, NeuronIndex> chunk(std::size_t population, int thread) const;
  void update_neurons(Step step, int thread);
  /// Adds the spikes `sources` (ascending) of `projection`'s source population, fired at `step`,
  /// into the rings of the targets [low, high); returns the synapses touched.
  std::uint64_t deliver(const Projection& projection, std::span<const NeuronIndex> sources,
                        Step step, NeuronIndex low, NeuronIndex high);
  void deliver_spikes(Step step, int thread);
  void report_step(Step step, RunObserver& observer);
  Step run_distributed(Step first, Step last, RunObserver& observer);
  /// Distributed runs: appends step `step`'s spikes and probe samples to the interval's.
  void collect_interval(Step step);
  /// Distributed runs, after the exchange: the interval's spikes (and, on rank 0, samples) to the
  /// observer.
  void report_interval(Step first_step, RunObserver& observer);

  Network& network_;
  int threads_;
  /// rings_[population][receptor]: ring_slots_[population] arrays of the population's size.
  std::vector<std::vector<std::vector<float>>> rings_;
  std::vector<std::uint32_t> ring_slots_;
  /// External current per population and neuron for this step (empty without current drives).
  std::vector<std::vector<float>> currents_;
  /// spikes_[step parity][thread][population]: the spikes of the thread's block.
  std::array<std::vector<std::vector<std::vector<NeuronIndex>>>, 2> spikes_;
  /// samples_[step parity][probe]: one row of each probe.
  std::array<std::vector<std::vector<float>>, 2> samples_;
  std::vector<std::vector<NeuronIndex>> merged_spikes_;
  std::vector<std::span<const NeuronIndex>> merged_views_;
  std::vector<BackendCounters> thread_counters_;

  SpikeExchange* exchange_;
  std::unique_ptr<SpikeRouter> router_;
  /// Distributed runs: this process's spikes and samples of the current interval, everyone's
  /// after the exchange, and the rank that holds each probed neuron.
  IntervalSpikes local_spikes_, all_spikes_;
  std::vector<float> local_samples_, all_samples_;
  std::vector<std::vector<int>> probe_owners_;
};

}  // namespace snnsim
