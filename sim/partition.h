#pragma once
// How a distributed run divides each population between its processes (MPI ranks): rank r of R
// owns the contiguous block [N r / R, N (r + 1) / R) of every population of N neurons, the rule
// the CPU backend also uses for its threads. Every population is split, so ranks hold equal
// shares of every kind of neuron whatever the populations' sizes; blocks (not round-robin) keep
// a neuron's global index its local one plus an offset, and the concatenation of the ranks'
// ascending spike lists, in rank order, ascending: what makes delivery order, and so every sum,
// independent of the number of ranks (docs/distributed.md).
#include "sim/types.h"

namespace snnsim {

struct Partition {
  int rank = 0;
  int ranks = 1;

  /// The first neuron of a population of `size` that this rank owns.
  NeuronIndex first(NeuronIndex size) const { return block_start(size, rank); }
  /// One past the last.
  NeuronIndex end(NeuronIndex size) const { return block_start(size, rank + 1); }
  /// The rank that owns neuron `neuron` of a population of `size`.
  int owner(NeuronIndex neuron, NeuronIndex size) const {
    int r = static_cast<int>(static_cast<std::uint64_t>(neuron) * ranks / size);
    while (neuron >= block_start(size, r + 1))
      ++r;
    while (neuron < block_start(size, r))
      --r;
    return r;
  }

 private:
  NeuronIndex block_start(NeuronIndex size, int r) const {
    return static_cast<NeuronIndex>(static_cast<std::uint64_t>(size) * r / ranks);
  }
};

}  // namespace snnsim
