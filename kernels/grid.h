#pragma once
// The small vocabulary every kernel body is written in, so that one body runs as a CUDA kernel
// and, unchanged, on the CPU under emulate_grid():
//
// - GridIndex: which thread of which block this is (blockIdx, threadIdx, blockDim, gridDim),
//   with the derived warp and lane. Bodies use grid-stride loops, so any grid size is correct.
// - atomic_add: atomicAdd on the device, a plain add on the host (the emulation is sequential).
//
// Bodies use no barriers, shared memory or warp intrinsics: that keeps the sequential emulation
// exact. Work that needs them (stream compaction) is done by CUB, not by a body.
#include <cstdint>

#include "sim/hd.h"

namespace snnsim {

inline constexpr std::uint32_t kWarpSize = 32;

/// The shape of a launch: `blocks` blocks of `threads` threads (a multiple of kWarpSize).
struct GridShape {
  std::uint32_t blocks;
  std::uint32_t threads;
};

struct GridIndex {
  std::uint32_t block, thread, block_size, grid_size;

  SNN_HD std::uint64_t global_thread() const {
    return static_cast<std::uint64_t>(block) * block_size + thread;
  }
  SNN_HD std::uint64_t thread_stride() const {
    return static_cast<std::uint64_t>(grid_size) * block_size;
  }
  SNN_HD std::uint32_t lane() const { return thread % kWarpSize; }
  SNN_HD std::uint64_t global_warp() const { return global_thread() / kWarpSize; }
  SNN_HD std::uint64_t warp_stride() const { return thread_stride() / kWarpSize; }
};

SNN_HD void atomic_add(float* into, float value) {
#ifdef __CUDA_ARCH__
  atomicAdd(into, value);
#else
  *into += value;
#endif
}

/// Integer counts (spikes per step, accumulates): exact, so the order of the atomics does not
/// matter.
SNN_HD void atomic_add(std::uint64_t* into, std::uint64_t value) {
#ifdef __CUDA_ARCH__
  static_assert(sizeof(std::uint64_t) == sizeof(unsigned long long));
  atomicAdd(reinterpret_cast<unsigned long long*>(into), static_cast<unsigned long long>(value));
#else
  *into += value;
#endif
}

/// Runs `kernel` on the CPU for every (block, thread) of `shape`, blocks in order and threads in
/// order: the CPU stand-in for a launch, used by the emulated device and the kernel tests.
template <class Kernel>
void emulate_grid(GridShape shape, const Kernel& kernel) {
  for (std::uint32_t block = 0; block < shape.blocks; ++block) {
    for (std::uint32_t thread = 0; thread < shape.threads; ++thread) {
      kernel(GridIndex{block, thread, shape.threads, shape.blocks});
    }
  }
}

}  // namespace snnsim
