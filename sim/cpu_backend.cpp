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

CpuBackend::CpuBackend(Network& network, int threads, SpikeExchange* exchange)
    : network_(network),
      threads_(threads > 0 ? threads : omp_get_num_procs()),
      exchange_(exchange) {
  for (Interval& interval : sending_)
    interval.spikes = IntervalSpikes(network.populations.size());
  for (Interval& interval : received_)
    interval.spikes = IntervalSpikes(network.populations.size());
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
  if (exchange_ != nullptr) probe_owners_ = probe_owners(network, exchange_->partition());
}

CpuBackend::~CpuBackend() = default;

std::string CpuBackend::description() const {
  return router_ == nullptr ? std::string() : router_->describe(interval_, overlapped_);
}

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
    const NeuronIndex first = population.first;
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
      drive->apply(step, first + begin, first + end, first, into);
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
    const Population& population = network_.populations[probe.population];
    const auto values = population.dynamics->state(probe.variable);
    auto& row = samples_[step & 1][i];
    for (std::size_t k = 0; k < probe.neurons.size(); ++k) {
      const NeuronIndex neuron = probe.neurons[k];
      if (neuron >= population.first + begin && neuron < population.first + end) {
        row[k] = values[neuron - population.first];
      }
    }
  }
}

std::uint64_t CpuBackend::deliver(const Projection& projection,
                                  std::span<const NeuronIndex> sources, Step step, NeuronIndex low,
                                  NeuronIndex high) {
  const Connectivity& c = projection.synapses;
  const SynapseRows rows{c.row_offsets.data(),
                         c.targets.data(),
                         c.weights.empty() ? nullptr : c.weights.data(),
                         c.weight,
                         c.delays.empty() ? nullptr : c.delays.data(),
                         c.delay};
  const InputRing target_ring = ring(projection.target, projection.receptor);
  const bool all_targets = low == 0 && high == c.target_size;
  std::uint64_t events = 0;
  for (std::size_t k = 0; k < sources.size(); ++k) {
    // Rows are scattered in memory: fetch the row offsets 16 spikes ahead and the row itself 8
    // ahead, so the loads below hit the cache.
    if (k + 16 < sources.size()) __builtin_prefetch(&c.row_offsets[sources[k + 16]]);
    if (k + 8 < sources.size()) __builtin_prefetch(&c.targets[c.row_offsets[sources[k + 8]]]);
    const NeuronIndex source = sources[k];
    std::uint64_t begin = c.row_offsets[source], end = c.row_offsets[source + 1];
    if (!all_targets) {
      const NeuronIndex* row = c.targets.data();
      begin = std::lower_bound(row + begin, row + end, low) - row;
      end = std::lower_bound(row + begin, row + end, high) - row;
    }
    events += deliver_synapses(rows, begin, end, 1, step, target_ring, PlainAdd{});
  }
  return events;
}

void CpuBackend::deliver_spikes(Step step, int thread) {
  const auto& spikes = spikes_[step & 1];
  std::uint64_t events = 0;
  for (const Projection& projection : network_.projections) {
    const auto [low, high] = chunk(projection.target, thread);
    // Every thread walks every spike in the same order (source thread lists in order, indices
    // ascending) but adds only into its own block of targets: each target receives its inputs
    // in an order that does not depend on the thread count, so sums are bit-identical.
    for (int source_thread = 0; source_thread < threads_; ++source_thread) {
      events += deliver(projection, spikes[source_thread][projection.source], step, low, high);
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
  if (exchange_ != nullptr) return run_distributed(first, last, observer);
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

void CpuBackend::collect_interval(Step step, Interval& interval) {
  const auto& spikes = spikes_[step & 1];
  for (std::size_t p = 0; p < network_.populations.size(); ++p) {
    for (int t = 0; t < threads_; ++t) {
      for (NeuronIndex neuron : spikes[t][p])
        interval.spikes.add(network_.populations[p].first + neuron);
    }
    interval.spikes.end_entry();
  }
  const int rank = exchange_->partition().rank;
  for (std::size_t i = 0; i < network_.probes.size(); ++i) {
    if (step % network_.probes[i].interval_steps != 0) continue;
    const std::vector<float>& row = samples_[step & 1][i];
    for (std::size_t k = 0; k < row.size(); ++k) {
      if (probe_owners_[i][k] == rank) interval.samples.push_back(row[k]);
    }
  }
}

bool CpuBackend::complete_exchange(const Interval& sent) {
  Interval& received = received_[received_count_++];
  const bool stop = router_->finish(received.spikes);
  exchange_->gather_to_root(sent.samples, received.samples);
  received.first_step = sent.first_step;
  return stop;
}

Step CpuBackend::run_distributed(Step first, Step last, RunObserver& observer) {
  // As run(), but spikes go to the other processes before delivery. No spike reaches a target
  // sooner than the shortest delay D, so each process updates D steps on its own, then they
  // trade those steps' spikes, and every process delivers all of them, step by step, into its
  // own neurons' rings: the same additions in the same order as one process makes, since the
  // ranks' spike lists of a step, concatenated in rank order, are one ascending list. A stop
  // asked for on any process ends every one at the same interval's end.
  //
  // Overlap: with all-gather and D >= 2, intervals are D / 2 steps and each exchange completes
  // one interval after it started, while the next interval is updated: a spike of interval k is
  // due D or more steps after it, past the end of interval k + 1, when interval k is delivered.
  //
  // Collectives: made here, once every rank has built its part and is ready to run (a rank that
  // failed before is not there to take part; sim/mpi_exchange.h).
  const Step shortest = exchange_interval(*exchange_, network_.min_delay());
  if (router_ == nullptr) router_ = std::make_unique<SpikeRouter>(network_, *exchange_);
  overlapped_ = exchange_->overlap && shortest >= 2 &&
                router_->pattern() == SpikeRouter::Pattern::all_gather &&
                exchange_->partition().ranks > 1;
  interval_ = overlapped_ ? shortest / 2 : shortest;
  if (first >= last) return 0;
  Step completed = first;
  bool stop = false;
  int filling = 0;  // sending_[filling] collects the current interval
  bool in_flight = false;
  for (Interval& buffer : sending_) {
    buffer.spikes.clear();
    buffer.samples.clear();
  }
  sending_[0].first_step = first;
#pragma omp parallel num_threads(threads_)
  {
    const int thread = omp_get_thread_num();
    for (Step step = first; step < last; ++step) {
      update_neurons(step, thread);
#pragma omp barrier
      const bool interval_end = (step + 1 - first) % interval_ == 0 || step + 1 == last;
      if (thread == 0) {
        collect_interval(step, sending_[filling]);
        if (in_flight) router_->progress();
        if (interval_end) {
          // The previous interval in, this one out; at the end, or stopping, this one in too.
          received_count_ = 0;
          if (in_flight) stop = complete_exchange(sending_[filling ^ 1]);
          router_->start(sending_[filling].spikes, observer.stop_requested());
          in_flight = true;
          if (!overlapped_ || stop || step + 1 == last) {
            stop = complete_exchange(sending_[filling]) || stop;
            in_flight = false;
          }
          filling ^= 1;
          sending_[filling].spikes.clear();
          sending_[filling].samples.clear();
          sending_[filling].first_step = step + 1;
        }
      }
      if (!interval_end) continue;
#pragma omp barrier
      std::uint64_t events = 0;
      for (int r = 0; r < received_count_; ++r) {
        const Interval& received = received_[r];
        for (Step k = 0; k < received.spikes.steps(); ++k) {
          for (const Projection& projection : network_.projections) {
            const auto [low, high] = chunk(projection.target, thread);
            events += deliver(projection, received.spikes.at(k, projection.source),
                              received.first_step + k, low, high);
          }
        }
      }
      thread_counters_[thread].synaptic_events += events;
      if (thread == 0) {
        for (int r = 0; r < received_count_; ++r) {
          report_interval(network_, exchange_->partition(), probe_owners_, received_[r].first_step,
                          received_[r].spikes, received_[r].samples, observer);
        }
        if (!in_flight) completed = step + 1;
      }
      // The master refills the received intervals only after the next update's barrier, which
      // every thread reaches once done with them.
      if (stop && !in_flight) break;
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
