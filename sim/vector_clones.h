#pragma once
// SNNSIM_VECTOR_CLONES: a hot loop compiled three times, for AVX-512, AVX2 and the x86-64
// baseline (SSE2), the variant picked by the loader for the processor it runs on (GCC function
// multi-versioning). Floating-point contraction is off (ISO C++ mode), so no variant fuses a
// multiply and an add: they compute the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__)
#define SNNSIM_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SNNSIM_VECTOR_CLONES
#endif
