#pragma once
// SNNSIM_VECTOR_CLONES: a hot loop compiled twice, for AVX2 and for the x86-64 baseline (SSE2),
// the variant picked by the loader for the processor it runs on (GCC function multi-versioning).
// FMA stays off in both, so they compute the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define SNNSIM_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SNNSIM_VECTOR_CLONES
#endif
