#pragma once
// The CPU backend, the reference implementation of the Backend interface: time-stepped neuron
// updates and event-driven spike delivery, multi-threaded with OpenMP, bit-identical results
// whatever the thread count (see run() for how).
#include <array>
#include <utility>
#include <vector>

#include "kernels/spike_delivery.h"
#include "sim/backend.h"

namespace snnsim {

class CpuBackend final : public Backend {
 public:
  CpuBackend(Network& network, int threads);
  ~CpuBackend() override;

  std::string_view name() const override { return "cpu"; }
  int threads() const override { return threads_; }
  Step run(Step first, Step last, RunObserver& observer) override;
  BackendCounters counters() const override;

 private:
  InputRing ring(std::size_t population, int receptor);
  /// The neurons of `population` that `thread` owns: [first, second).
  std::pair<NeuronIndex, NeuronIndex> chunk(std::size_t population, int thread) const;
  void update_neurons(Step step, int thread);
  void deliver_spikes(Step step, int thread);
  void report_step(Step step, RunObserver& observer);

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
};

}  // namespace snnsim
