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
  /// Distributed runs: the steps between two exchanges, as sent or as received.
  struct Interval {
    Step first_step = 0;
    IntervalSpikes spikes;
    std::vector<float> samples;  ///< of this rank's probed neurons, or on rank 0 of all
  };
  Step run_distributed(Step first, Step last, RunObserver& observer);
  /// Appends step `step`'s spikes and probe samples to `interval`.
  void collect_interval(Step step, Interval& interval);
  /// Completes the exchange of `sent` into the next of received_; returns whether to stop.
  bool complete_exchange(const Interval& sent);

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
  /// Distributed runs: the interval being collected and the one in flight (they alternate), the
  /// intervals received at an interval's end (two when the last one in flight completes too),
  /// and the rank that holds each probed neuron.
  std::array<Interval, 2> sending_;
  std::array<Interval, 2> received_;
  int received_count_ = 0;
  bool overlapped_ = false;
  Step interval_ = 0;  ///< steps between exchanges
  std::vector<std::vector<int>> probe_owners_;
};

}  // namespace snnsim
