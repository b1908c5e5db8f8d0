#pragma once
// SNNSIM_VECTOR_CLONES: a hot loop compiled three times, for the x86-64 levels v4 (AVX-512), v3
// (AVX2, with the popcount instruction, which the baseline lacks: std::popcount there is a
// library call) and the baseline (SSE2), the variant picked by the loader for the processor it
// runs on (GCC function multi-versioning). Floating-point contraction is off (ISO C++ mode), so no
// variant fuses a multiply and an add: they compute the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define SNNSIM_VECTOR_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SNNSIM_VECTOR_CLONES
#endif
