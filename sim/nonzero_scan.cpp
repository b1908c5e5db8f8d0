#include "sim/nonzero_scan.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__CUDACC__)
#include <immintrin.h>
#define SNNSIM_AVX512_COMPRESS 1
#endif

namespace snnsim {
namespace {

std::size_t compact_above_portable(const float* values, std::size_t n, float threshold,
                                   std::uint32_t first, std::uint32_t* out) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    out[count] = first + static_cast<std::uint32_t>(i);
    count += values[i] > threshold;
  }
  return count;
}

#ifdef SNNSIM_AVX512_COMPRESS
__attribute__((target("avx512f,popcnt"))) std::size_t compact_above_avx512(
    const float* values, std::size_t n, float threshold, std::uint32_t first, std::uint32_t* out) {
  const __m512 limit = _mm512_set1_ps(threshold);
  const __m512i sixteen = _mm512_set1_epi32(16);
  __m512i index =
      _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(first)),
                       _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  std::size_t count = 0, i = 0;
  for (; i + 16 <= n; i += 16) {
    const __mmask16 above = _mm512_cmp_ps_mask(_mm512_loadu_ps(values + i), limit, _CMP_GT_OQ);
    // Compressed in a register, then stored whole: a compressing store is slow on some cores.
    _mm512_storeu_si512(out + count, _mm512_maskz_compress_epi32(above, index));
    count += static_cast<std::size_t>(__builtin_popcount(above));
    index = _mm512_add_epi32(index, sixteen);
  }
  return count + compact_above_portable(values + i, n - i, threshold,
                                        first + static_cast<std::uint32_t>(i), out + count);
}
#endif

}  // namespace

std::size_t compact_above(const float* values, std::size_t n, float threshold, std::uint32_t first,
                          std::uint32_t* out) {
#ifdef SNNSIM_AVX512_COMPRESS
  static const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("popcnt");
  if (avx512) return compact_above_avx512(values, n, threshold, first, out);
#endif
  return compact_above_portable(values, n, threshold, first, out);
}

}  // namespace snnsim
