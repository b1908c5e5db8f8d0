#include "sim/spike_exchange.h"

namespace snnsim {

void IntervalSpikes::merge(std::span<const RankSpikes> ranks) {
  clear();
  // Where each rank's next entry starts in its neurons.
  std::vector<std::size_t> cursor(ranks.size(), 0);
  std::size_t total = 0;
  for (const RankSpikes& rank : ranks)
    total += rank.neurons.size();
  neurons_.reserve(total);
  const std::size_t entries = ranks.empty() ? 0 : ranks[0].counts.size();
  for (std::size_t e = 0; e < entries; ++e) {
    for (std::size_t r = 0; r < ranks.size(); ++r) {
      const auto first = ranks[r].neurons.begin() + cursor[r];
      neurons_.insert(neurons_.end(), first, first + ranks[r].counts[e]);
      cursor[r] += ranks[r].counts[e];
    }
    end_entry();
  }
}

}  // namespace snnsim
