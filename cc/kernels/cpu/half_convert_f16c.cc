// F16C half <-> float conversion. Only this translation unit is compiled with
// -mavx2 -mf16c; it runs only after the CPU reported F16C.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cstdint>

#include "cc/kernels/cpu/half_convert.h"

namespace tf_custom_op {
namespace {

void HalfToFloat(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) _mm_store_ss(dst + i, _mm_cvtph_ps(_mm_cvtsi32_si128(src[i])));
}

void FloatToHalf(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h =
        _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
  }
  for (; i < n; ++i) {
    const __m128i h = _mm_cvtps_ph(_mm_set_ss(src[i]), _MM_FROUND_TO_NEAREST_INT);
    dst[i] = static_cast<uint16_t>(_mm_cvtsi128_si32(h));
  }
}

}  // namespace

const HalfConverter kF16cHalfConverter = {&HalfToFloat, &FloatToHalf};

}  // namespace tf_custom_op
#endif  // x86-64
