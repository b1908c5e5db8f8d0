#include "sim/cpu_backend.h"

#include <omp.h>

#include <algorithm>
#include <array>

#include "kernels/spike_delivery.h"

namespace snnsim {

namespace {
struct PlainAdd {
  void operator()(float* into, float value) const { *into += value; }
};
}  // namespace

CpuBackend::CpuBackend(Network& network, int threads)
    : network_(network), threads_(threads > 0 ? threads : omp_get_num_procs()) {
  const std::size_t populations = network.populations.size();
  rings_.resize(populations);
  currents_.resize(populations);
  for (std::size_t p = 0; p < populations; ++p) {
    const Population& population = network.populations[p];
    const std::uint32_t slots = network.ring_slots(p);
    for (std::size_t r = 0; r < population.model->receptors.size(); ++r) {
      rings_[p].emplace_back(static_cast<std::size_t>(slots) * population.size(), 0.0f);
    }
    ring_slots_.push_back(slots);
    if (network.has_current_drive(p)) currents_[p].assign(population.size(), 0.0f);
  }
  for (auto& parity : spikes_) {
    parity.assign(threads_, std::vector<std::vector<NeuronIndex>>(populations));
  }
  for (auto& parity : samples_) {
    parity.resize(network.probes.size());
    for (std::size_t i = 0; i < network.probes.size(); ++i) {
      parity[i].resize(network.probes[i].neurons.size());
    }
  }
  thread_counters_.assign(threads_, {});
}

CpuBackend::~CpuBackend() = default;

InputRing CpuBackend::ring(std::size_t population, int receptor) {
  return {rings_[population][receptor].data(), ring_slots_[population],
          network_.populations[population].size()};
}

std::pair<NeuronIndex, NeuronIndex> CpuBackend::chunk(std::size_t population, int thread) const {
  const std::uint64_t size = network_.populations[population].size();
  return {static_cast<NeuronIndex>(size * thread / threads_),
          static_cast<NeuronIndex>(size * (thread + 1) / threads_)};
}

void CpuBackend::update_neurons(Step step, int thread) {
  auto& spikes = spikes_[step & 1][thread];
  for (std::size_t p = 0; p < network_.populations.size(); ++p) {
    Population& population = network_.populations[p];
    const auto [begin, end] = chunk(p, thread);
    PopulationDynamics::StepInputs inputs;
    for (std::size_t r = 0; r < rings_[p].size(); ++r) {
      inputs.receptor[r] = ring(p, static_cast<int>(r)).slot(step);
    }
    if (!currents_[p].empty()) inputs.current = currents_[p].data();
    for (const auto& drive : network_.drives) {
      if (drive->population() != p) continue;
      float* into = drive->receptor() == ExternalDrive::kCurrent
                        ? currents_[p].data()
                        : ring(p, drive->receptor()).slot(step);
      drive->apply(step, begin, end, into);
    }
    spikes[p].clear();
    population.dynamics->update(begin, end, step, inputs, spikes[p]);
    thread_counters_[thread].neuron_updates += end - begin;
  }
  // Each thread samples the probed neurons it owns, into this step's parity of the buffers.
  for (std::size_t i = 0; i < network_.probes.size(); ++i) {
    const StateProbe& probe = network_.probes[i];
    if (step % probe.interval_steps != 0) continue;
    const auto [begin, end] = chunk(probe.population, thread);
    const auto values = network_.populations[probe.population].dynamics->state(probe.variable);
    auto& row = samples_[step & 1][i];
    for (std::size_t k = 0; k < probe.neurons.size(); ++k) {
      const NeuronIndex neuron = probe.neurons[k];
      if (neuron >= begin && neuron < end) row[k] = values[neuron];
    }
  }
}

void CpuBackend::deliver_spikes(Step step, int thread) {
  const auto& spikes = spikes_[step & 1];
  std::uint64_t events = 0;
  for (std::size_t j = 0; j < network_.projections.size(); ++j) {
    const Projection& projection = network_.projections[j];
    const Connectivity& c = projection.synapses;
    const SynapseRows rows{c.row_offsets.data(),
                           c.targets.data(),
                           c.weights.empty() ? nullptr : c.weights.data(),
                           c.weight,
                           c.delays.empty() ? nullptr : c.delays.data(),
                           c.delay};
    const InputRing target_ring = ring(projection.target, projection.receptor);
    const auto [low, high] = chunk(projection.target, thread);
    // Every thread walks every spike in the same order (source thread lists in order, indices
    // ascending) but adds only into its own block of targets: each target receives its inputs
    // in an order that does not depend on the thread count, so sums are bit-identical.
    for (int source_thread = 0; source_thread < threads_; ++source_thread) {
      const std::vector<NeuronIndex>& sources = spikes[source_thread][projection.source];
      for (std::size_t k = 0; k < sources.size(); ++k) {
        // Rows are scattered in memory: fetch the row offsets 16 spikes ahead and the row
        // itself 8 ahead, so the loads below hit the cache.
        if (k + 16 < sources.size()) __builtin_prefetch(&c.row_offsets[sources[k + 16]]);
        if (k + 8 < sources.size()) __builtin_prefetch(&c.targets[c.row_offsets[sources[k + 8]]]);
        const NeuronIndex source = sources[k];
        std::uint64_t begin = c.row_offsets[source], end = c.row_offsets[source + 1];
        if (threads_ > 1) {
          const NeuronIndex* row = c.targets.data();
          begin = std::lower_bound(row + begin, row + end, low) - row;
          end = std::lower_bound(row + begin, row + end, high) - row;
        }
        events += deliver_synapses(rows, begin, end, 1, step, target_ring, PlainAdd{});
      }
    }
  }
  thread_counters_[thread].synaptic_events += events;
}

void CpuBackend::report_step(Step step, RunObserver& observer) {
  const auto& spikes = spikes_[step & 1];
  const std::size_t populations = network_.populations.size();
  merged_spikes_.resize(populations);
  merged_views_.resize(populations);
  for (std::size_t p = 0; p < populations; ++p) {
    merged_spikes_[p].clear();
    for (int t = 0; t < threads_; ++t) {
      merged_spikes_[p].insert(merged_spikes_[p].end(), spikes[t][p].begin(), spikes[t][p].end());
    }
    merged_views_[p] = merged_spikes_[p];
  }
  observer.on_step(step, merged_views_);
  for (std::size_t i = 0; i < network_.probes.size(); ++i) {
    if (step % network_.probes[i].interval_steps == 0) {
      observer.on_state(step, i, samples_[step & 1][i]);
    }
  }
}

Step CpuBackend::run(Step first, Step last, RunObserver& observer) {
  // One parallel region for the whole run, one barrier per step. Thread t owns block t of every
  // population: it updates those neurons and it alone adds into their input rings, so the next
  // update can start as soon as the thread's own delivery is done. The spike lists and probe
  // samples are double-buffered by step parity because the master reports step s while the
  // other threads may already update step s + 1. The stop decision travels the same way: taken
  // by the master while reporting step s, read by everyone after the barrier of step s + 1.
  std::array<bool, 2> stop{false, false};
  Step completed = first;
  if (first >= last) return 0;
#pragma omp parallel num_threads(threads_)
  {
    const int thread = omp_get_thread_num();
    for (Step step = first; step < last; ++step) {
      update_neurons(step, thread);
#pragma omp barrier
      const bool stopping = stop[step & 1];
      if (thread == 0) {
        report_step(step, observer);
        stop[(step + 1) & 1] = observer.stop_requested();
        completed = step + 1;
      }
      deliver_spikes(step, thread);
      if (stopping) break;
    }
  }
  return completed - first;
}

BackendCounters CpuBackend::counters() const {
  BackendCounters total;
  for (const BackendCounters& c : thread_counters_) {
    total.neuron_updates += c.neuron_updates;
    total.synaptic_events += c.synaptic_events;
  }
  return total;
}

}  // namespace snnsim
