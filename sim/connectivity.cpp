#include "sim/connectivity.h"

#include <algorithm>
#include <numeric>

namespace snnsim {

std::uint16_t Connectivity::max_delay() const {
  if (delays.empty()) return delay;
  return *std::max_element(delays.begin(), delays.end());
}

std::uint16_t Connectivity::min_delay() const {
  if (delays.empty()) return delay;
  return *std::min_element(delays.begin(), delays.end());
}

std::uint64_t Connectivity::bytes() const {
  return row_offsets.size() * sizeof(std::uint64_t) + targets.size() * sizeof(NeuronIndex) +
         weights.size() * sizeof(float) + delays.size() * sizeof(std::uint16_t);
}

void Connectivity::compact_homogeneous() {
  if (!weights.empty() &&
      std::all_of(weights.begin(), weights.end(), [&](float w) { return w == weights[0]; })) {
    weight = weights[0];
    weights = {};
  }
  if (!delays.empty() &&
      std::all_of(delays.begin(), delays.end(), [&](std::uint16_t d) { return d == delays[0]; })) {
    delay = delays[0];
    delays = {};
  }
}

Connectivity transposed(const Connectivity& c) {
  Connectivity t;
  t.source_size = c.target_size;
  t.target_size = c.source_size;
  t.weight = c.weight;
  t.delay = c.delay;
  t.row_offsets.assign(static_cast<std::size_t>(c.target_size) + 1, 0);
  for (NeuronIndex target : c.targets)
    ++t.row_offsets[target + 1];
  std::partial_sum(t.row_offsets.begin(), t.row_offsets.end(), t.row_offsets.begin());
  std::vector<std::uint64_t> fill(t.row_offsets.begin(), t.row_offsets.end() - 1);
  t.targets.resize(c.targets.size());
  t.weights.resize(c.weights.size());
  t.delays.resize(c.delays.size());
  // Walking sources in ascending order leaves every column sorted by source.
  for (NeuronIndex source = 0; source < c.source_size; ++source) {
    for (std::uint64_t k = c.row_offsets[source]; k < c.row_offsets[source + 1]; ++k) {
      const std::uint64_t at = fill[c.targets[k]]++;
      t.targets[at] = source;
      if (!c.weights.empty()) t.weights[at] = c.weights[k];
      if (!c.delays.empty()) t.delays[at] = c.delays[k];
    }
  }
  return t;
}

Connectivity connectivity_from_list(SynapseList list, NeuronIndex source_size,
                                    NeuronIndex target_size) {
  Connectivity c;
  c.source_size = source_size;
  c.target_size = target_size;
  const std::size_t n = list.sources.size();
  c.row_offsets.assign(static_cast<std::size_t>(source_size) + 1, 0);
  for (NeuronIndex s : list.sources)
    ++c.row_offsets[s + 1];
  std::partial_sum(c.row_offsets.begin(), c.row_offsets.end(), c.row_offsets.begin());
  std::vector<std::uint64_t> fill(c.row_offsets.begin(), c.row_offsets.end() - 1);
  c.targets.resize(n);
  if (!list.weights.empty()) c.weights.resize(n);
  if (!list.delays.empty()) c.delays.resize(n);
  auto place = [&](std::size_t k) {
    const std::uint64_t at = fill[list.sources[k]]++;
    c.targets[at] = list.targets[k];
    if (!list.weights.empty()) c.weights[at] = list.weights[k];
    if (!list.delays.empty()) c.delays[at] = list.delays[k];
  };
  // A counting sort by source is stable, so a list already ordered by target (as target-centred
  // rules produce it) comes out with every row sorted; other lists are ordered by target first.
  if (std::is_sorted(list.targets.begin(), list.targets.end())) {
    for (std::size_t k = 0; k < n; ++k)
      place(k);
  } else {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return list.targets[a] < list.targets[b];
    });
    for (std::size_t k : order)
      place(k);
  }
  return c;
}

}  // namespace snnsim
