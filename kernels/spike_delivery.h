#pragma once
// Spike delivery: adding the synapses of the neurons that spiked into the delay rings of their
// targets. One body, deliver_synapses(), walks (part of) a row; the CPU backend calls it with
// plain adds over its own block of targets, the grid kernels below with atomics.
//
// The ring of a (population, receptor) holds `slots` arrays of `size` floats; the input due at
// step s lives in slot s % slots. A spike at step s with delay d (>= 1 step) lands in slot
// (s + d) % slots, read by the target's update at step s + d.
//
// Two grid strategies, chosen per projection (sim/device_plan.h documents the rule):
// - PreSpanDelivery: one warp per spike of the step's spike list, its lanes striding over the
//   row, atomicAdd into the target's slot. Work is proportional to the spikes: the event-driven
//   choice for sparse activity.
// - PostSpanDelivery: one thread per target, walking the target's column of the transposed
//   matrix and testing each source's spike flag. Work is proportional to the synapses, with no
//   atomics and a fixed summation order (so bit-identical results): the choice for dense
//   projections where a spike touches most targets and atomics would collide.
#include <cstdint>

#include "kernels/grid.h"
#include "sim/types.h"

namespace snnsim {

/// A projection's synapses as plain pointers (valid on the host or on the device): rows by
/// source (CSR), or, for post-span delivery, the transpose: rows by target holding sources.
struct SynapseRows {
  const std::uint64_t* row_offsets;
  const NeuronIndex* targets;  ///< in the transpose: the sources
  const float* weights;        ///< null: all `weight`
  float weight;
  const std::uint16_t* delays;  ///< null: all `delay`
  std::uint16_t delay;

  SNN_HD float weight_at(std::uint64_t k) const { return weights ? weights[k] : weight; }
  SNN_HD std::uint16_t delay_at(std::uint64_t k) const { return delays ? delays[k] : delay; }
};

/// The input ring of one (population, receptor).
struct InputRing {
  float* values;
  std::uint32_t slots;
  NeuronIndex size;
  SNN_HD float* slot(Step step) const { return values + (step % slots) * size; }
};

/// Adds synapses begin, begin + stride, ... (< end) of a row (a spike at `step`) into `ring`.
/// `Accumulate` is a functor `(float* into, float value)`: a plain add on the CPU, an atomic add
/// in a kernel. Returns the number of synapses delivered.
template <class Accumulate>
SNN_HD std::uint64_t deliver_synapses(const SynapseRows& rows, std::uint64_t begin,
                                      std::uint64_t end, std::uint32_t stride, Step step,
                                      const InputRing& ring, Accumulate accumulate) {
  if (begin >= end) return 0;
  if (rows.delays == nullptr) {
    float* slot = ring.slot(step + rows.delay);
    if (rows.weights == nullptr) {
      for (std::uint64_t k = begin; k < end; k += stride)
        accumulate(&slot[rows.targets[k]], rows.weight);
    } else {
      for (std::uint64_t k = begin; k < end; k += stride)
        accumulate(&slot[rows.targets[k]], rows.weights[k]);
    }
  } else {
    for (std::uint64_t k = begin; k < end; k += stride) {
      accumulate(&ring.slot(step + rows.delays[k])[rows.targets[k]], rows.weight_at(k));
    }
  }
  return (end - begin + stride - 1) / stride;
}

struct AtomicAdd {
  SNN_HD void operator()(float* into, float value) const { atomic_add(into, value); }
};

/// One warp per spike of the step's list (grid-stride over the list, whose length the update
/// left in device memory), lanes striding over the spike's row.
struct PreSpanDelivery {
  SynapseRows rows;
  InputRing ring;
  const NeuronIndex* spikes;
  const std::uint32_t* spike_count;
  Step step;

  SNN_HD void operator()(GridIndex grid) const {
    const std::uint32_t count = *spike_count;
    for (std::uint64_t s = grid.global_warp(); s < count; s += grid.warp_stride()) {
      const NeuronIndex source = spikes[s];
      deliver_synapses(rows, rows.row_offsets[source] + grid.lane(), rows.row_offsets[source + 1],
                       kWarpSize, step, ring, AtomicAdd{});
    }
  }
};

/// One thread per target, summing the weights of its spiking sources in ascending source order
/// (the order of the CPU backend, hence the same float sums).
struct PostSpanDelivery {
  SynapseRows columns;  ///< the transpose: row t lists the sources of target t, ascending
  InputRing ring;
  const std::uint8_t* source_spiked;
  Step step;

  SNN_HD void operator()(GridIndex grid) const {
    for (std::uint64_t t = grid.global_thread(); t < ring.size; t += grid.thread_stride()) {
      const std::uint64_t begin = columns.row_offsets[t], end = columns.row_offsets[t + 1];
      if (columns.delays == nullptr) {
        // One delay: sum in a register, one read and one write of the slot.
        float* into = &ring.slot(step + columns.delay)[t];
        float sum = *into;
        for (std::uint64_t k = begin; k < end; ++k) {
          if (source_spiked[columns.targets[k]]) sum += columns.weight_at(k);
        }
        *into = sum;
      } else {
        for (std::uint64_t k = begin; k < end; ++k) {
          if (source_spiked[columns.targets[k]])
            ring.slot(step + columns.delays[k])[t] += columns.weight_at(k);
        }
      }
    }
  }
};

}  // namespace snnsim
