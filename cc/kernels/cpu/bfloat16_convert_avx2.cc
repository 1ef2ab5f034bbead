// AVX2 bfloat16 <-> float conversion (bfloat16_convert.h): the same bits as
// the portable loops, 8 elements per step. On the Sapphire Rapids class Xeon
// the portable (SSE2) narrowing of dx rows took 2.5x the time of the
// micro-kernels on a 1x1 layer with 144 output channels (perf). Only this
// translation unit is compiled with -mavx2; it runs only after the CPU
// reported AVX2.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cstdint>

#include "cc/kernels/cpu/bfloat16_convert.h"

namespace tf_custom_op {
namespace {

void WidenAvx2(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m256i wide = _mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), wide);
  }
  WidenBfloat16(src + i, dst + i, n - i);
}

// Eight floats to bfloat16 bits in the low half of each 32-bit lane:
// round to nearest even, NaN kept quiet with its sign (as NarrowToBfloat16).
inline __m256i NarrowLanes(__m256i bits) {
  const __m256i high = _mm256_srli_epi32(bits, 16);
  const __m256i lsb = _mm256_and_si256(high, _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_srli_epi32(
      _mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7fff)), lsb), 16);
  const __m256i quiet = _mm256_or_si256(high, _mm256_set1_epi32(0x40));
  const __m256i magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(0x7fffffff));
  const __m256i is_nan = _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7f800000));
  return _mm256_blendv_epi8(rounded, quiet, is_nan);
}

void NarrowAvx2(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i a = NarrowLanes(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i)));
    const __m256i b =
        NarrowLanes(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 8)));
    // packus works within 128-bit halves: a0 b0 a1 b1 -> a0 a1 b0 b1.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xd8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), packed);
  }
  NarrowToBfloat16(src + i, dst + i, n - i);
}

}  // namespace

const Bfloat16Converter kAvx2Bfloat16Converter = {&WidenAvx2, &NarrowAvx2};

}  // namespace tf_custom_op
#endif  // x86-64
