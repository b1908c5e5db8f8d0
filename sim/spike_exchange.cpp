#include "sim/spike_exchange.h"

namespace snnsim {

void IntervalSpikes::merge(std::span<const std::uint32_t> counts,
                           std::span<const NeuronIndex> neurons, std::size_t entries, int ranks) {
  clear();
  // Where each rank's neurons start in `neurons`, advanced entry by entry.
  std::vector<std::size_t> cursor(ranks);
  std::size_t at = 0;
  for (int r = 0; r < ranks; ++r) {
    cursor[r] = at;
    for (std::size_t e = 0; e < entries; ++e)
      at += counts[r * entries + e];
  }
  neurons_.reserve(at);
  for (std::size_t e = 0; e < entries; ++e) {
    for (int r = 0; r < ranks; ++r) {
      const std::uint32_t n = counts[r * entries + e];
      neurons_.insert(neurons_.end(), neurons.begin() + cursor[r], neurons.begin() + cursor[r] + n);
      cursor[r] += n;
    }
    counts_.push_back(static_cast<std::uint32_t>(neurons_.size() - offsets_.back()));
    offsets_.push_back(neurons_.size());
  }
}

}  // namespace snnsim
