#include "sim/spike_routing.h"

#include <cstdio>

namespace snnsim {

SpikeRouter::SpikeRouter(const Network& network, SpikeExchange& exchange)
    : network_(network), exchange_(exchange) {
  const Partition partition = exchange.partition();
  const std::size_t populations = network.populations.size();
  // What this process needs from each rank: per population, the sources in that rank's block
  // with a synapse held here.
  std::vector<std::vector<bool>> needed(populations);
  for (std::size_t p = 0; p < populations; ++p)
    needed[p].assign(network.populations[p].total, false);
  for (const Projection& projection : network.projections) {
    const Connectivity& c = projection.synapses;
    std::vector<bool>& sources = needed[projection.source];
    for (NeuronIndex s = 0; s < c.source_size; ++s) {
      if (c.row_offsets[s + 1] > c.row_offsets[s]) sources[s] = true;
    }
  }
  std::vector<IntervalSpikes> requests(partition.ranks, IntervalSpikes(populations));
  for (int r = 0; r < partition.ranks; ++r) {
    for (std::size_t p = 0; p < populations; ++p) {
      const NeuronIndex total = network.populations[p].total;
      const Partition owner{r, partition.ranks};
      for (NeuronIndex s = owner.first(total); s < owner.end(total); ++s) {
        // Rank 0 records every spike.
        if (needed[p][s] || partition.rank == 0) requests[r].add(s);
      }
      requests[r].end_entry();
    }
  }
  const SpikeExchange::Received asked = exchange.all_to_all(requests, false);

  // Destination rows of the neurons held here: the ranks that asked for them, ascending.
  std::uint64_t destinations = 0;
  row_offsets_.resize(populations);
  destinations_.resize(populations);
  for (std::size_t p = 0; p < populations; ++p) {
    const Population& population = network.populations[p];
    std::vector<std::uint64_t>& offsets = row_offsets_[p];
    offsets.assign(population.size() + 1, 0);
    std::vector<std::size_t> begin(partition.ranks);
    for (int q = 0; q < partition.ranks; ++q) {
      const RankSpikes& from = asked.ranks[q];
      std::size_t at = 0;
      for (std::size_t e = 0; e < p; ++e)
        at += from.counts[e];
      begin[q] = at;
      for (std::uint32_t k = 0; k < from.counts[p]; ++k)
        ++offsets[from.neurons[at + k] - population.first + 1];
    }
    for (std::size_t i = 1; i < offsets.size(); ++i)
      offsets[i] += offsets[i - 1];
    destinations_[p].resize(offsets.back());
    std::vector<std::uint64_t> fill(offsets.begin(), offsets.end() - 1);
    for (int q = 0; q < partition.ranks; ++q) {
      const RankSpikes& from = asked.ranks[q];
      for (std::uint32_t k = 0; k < from.counts[p]; ++k)
        destinations_[p][fill[from.neurons[begin[q] + k] - population.first]++] = q;
    }
    destinations += offsets.back();
  }
  NeuronIndex neurons = 0;
  for (const Population& population : network.populations)
    neurons += population.total;
  const std::uint64_t all_destinations = exchange.sum_over_ranks(destinations);
  mean_destinations_ = neurons > 0 ? static_cast<double>(all_destinations) / neurons : 0.0;
  // Every process computes the same figure, so every process picks the same pattern.
  if (2 * mean_destinations_ <= partition.ranks) {
    pattern_ = Pattern::all_to_all;
    outgoing_.assign(partition.ranks, IntervalSpikes(populations));
  } else {
    row_offsets_.clear();
    destinations_.clear();
  }
}

std::string SpikeRouter::describe(Step interval, bool overlapped) const {
  char line[400];
  std::snprintf(line, sizeof line,
                "%d ranks (MPI): a neuron's spikes reach %.2f of them on average, sent %s\n"
                "  exchanged every %llu steps%s",
                exchange_.partition().ranks, mean_destinations_,
                pattern_ == Pattern::all_gather
                    ? "to every rank (MPI_Allgatherv)"
                    : "only where they have targets, and to rank 0 (MPI_Alltoallv)",
                static_cast<unsigned long long>(interval),
                overlapped
                    ? " (half the shortest delay), each overlapping the next interval's updates"
                    : (interval > 1 ? " (at most the shortest delay)" : ""));
  return line;
}

void SpikeRouter::start(const IntervalSpikes& local, bool stop) {
  if (pattern_ == Pattern::all_gather) {
    exchange_.start_all_gather(local, stop);
    return;
  }
  for (IntervalSpikes& out : outgoing_)
    out.clear();
  const std::size_t populations = network_.populations.size();
  for (Step k = 0; k < local.steps(); ++k) {
    for (std::size_t p = 0; p < populations; ++p) {
      const NeuronIndex first = network_.populations[p].first;
      for (NeuronIndex neuron : local.at(k, p)) {
        const std::uint64_t row = neuron - first;
        for (std::uint64_t d = row_offsets_[p][row]; d < row_offsets_[p][row + 1]; ++d)
          outgoing_[destinations_[p][d]].add(neuron);
      }
      for (IntervalSpikes& out : outgoing_)
        out.end_entry();
    }
  }
  all_to_all_received_ = exchange_.all_to_all(outgoing_, stop);
}

void SpikeRouter::progress() {
  if (pattern_ == Pattern::all_gather) exchange_.progress();
}

bool SpikeRouter::finish(IntervalSpikes& received) {
  const SpikeExchange::Received all =
      pattern_ == Pattern::all_gather ? exchange_.finish_all_gather() : all_to_all_received_;
  received.merge(all.ranks);
  return all.stop;
}

std::vector<std::vector<int>> probe_owners(const Network& network, Partition partition) {
  std::vector<std::vector<int>> owners;
  for (const StateProbe& probe : network.probes) {
    std::vector<int>& of_probe = owners.emplace_back();
    for (NeuronIndex neuron : probe.neurons)
      of_probe.push_back(partition.owner(neuron, network.populations[probe.population].total));
  }
  return owners;
}

void report_interval(const Network& network, Partition partition,
                     const std::vector<std::vector<int>>& owners, Step first_step,
                     const IntervalSpikes& spikes, std::span<const float> samples,
                     RunObserver& observer) {
  const std::size_t populations = network.populations.size();
  std::vector<std::span<const NeuronIndex>> views(populations);
  // A cursor per rank walks its samples as the rows are rebuilt.
  std::vector<std::size_t> cursor(partition.ranks, 0);
  if (partition.rank == 0) {
    std::vector<std::size_t> per_rank(partition.ranks, 0);
    for (Step k = 0; k < spikes.steps(); ++k) {
      for (std::size_t i = 0; i < network.probes.size(); ++i) {
        if ((first_step + k) % network.probes[i].interval_steps != 0) continue;
        for (int owner : owners[i])
          ++per_rank[owner];
      }
    }
    for (int r = 1; r < partition.ranks; ++r)
      cursor[r] = cursor[r - 1] + per_rank[r - 1];
  }
  std::vector<float> row;
  for (Step k = 0; k < spikes.steps(); ++k) {
    const Step step = first_step + k;
    for (std::size_t p = 0; p < populations; ++p)
      views[p] = spikes.at(k, p);
    observer.on_step(step, views);
    if (partition.rank != 0) continue;
    for (std::size_t i = 0; i < network.probes.size(); ++i) {
      if (step % network.probes[i].interval_steps != 0) continue;
      row.resize(owners[i].size());
      for (std::size_t n = 0; n < row.size(); ++n)
        row[n] = samples[cursor[owners[i][n]]++];
      observer.on_state(step, i, row);
    }
  }
}

}  // namespace snnsim
