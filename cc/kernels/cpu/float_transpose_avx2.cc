// The AVX2 float transpose (float_transpose.h): 8 x 8 blocks through eight
// registers (unpack pairs, shuffle quads, swap 128-bit halves), the edges
// element by element. This translation unit alone is compiled with -mavx2;
// it runs only after CPUID reported AVX2.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "cc/kernels/cpu/float_transpose.h"

namespace tf_custom_op {
namespace {

// One 8 x 8 block: row r of src becomes column r of dst.
inline void TransposeBlock8(const float* src, int64_t src_stride, float* dst,
                            int64_t dst_stride) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * src_stride);
  __m256 t[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);      // a0 b0 a1 b1 | a4 b4 a5 b5
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);  // a2 b2 a3 b3 | a6 b6 a7 b7
  }
  __m256 u[8];
  for (int half = 0; half < 2; ++half) {  // rows 0-3, then rows 4-7
    const __m256* h = t + 4 * half;
    u[4 * half + 0] = _mm256_shuffle_ps(h[0], h[2], _MM_SHUFFLE(1, 0, 1, 0));  // column 0 | 4
    u[4 * half + 1] = _mm256_shuffle_ps(h[0], h[2], _MM_SHUFFLE(3, 2, 3, 2));  // column 1 | 5
    u[4 * half + 2] = _mm256_shuffle_ps(h[1], h[3], _MM_SHUFFLE(1, 0, 1, 0));  // column 2 | 6
    u[4 * half + 3] = _mm256_shuffle_ps(h[1], h[3], _MM_SHUFFLE(3, 2, 3, 2));  // column 3 | 7
  }
  for (int c = 0; c < 4; ++c) {
    _mm256_storeu_ps(dst + c * dst_stride, _mm256_permute2f128_ps(u[c], u[c + 4], 0x20));
    _mm256_storeu_ps(dst + (c + 4) * dst_stride, _mm256_permute2f128_ps(u[c], u[c + 4], 0x31));
  }
}

}  // namespace

void TransposeFloatsAvx2(const float* src, int64_t src_stride, int64_t rows, int64_t cols,
                         float* dst, int64_t dst_stride) {
  const int64_t whole_rows = rows / 8 * 8, whole_cols = cols / 8 * 8;
  for (int64_t r = 0; r < whole_rows; r += 8) {
    for (int64_t c = 0; c < whole_cols; c += 8) {
      TransposeBlock8(src + r * src_stride + c, src_stride, dst + c * dst_stride + r, dst_stride);
    }
  }
  // The edges: the last cols % 8 columns of every row, then the last
  // rows % 8 rows.
  for (int64_t r = 0; r < whole_rows; ++r) {
    for (int64_t c = whole_cols; c < cols; ++c) dst[c * dst_stride + r] = src[r * src_stride + c];
  }
  for (int64_t r = whole_rows; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) dst[c * dst_stride + r] = src[r * src_stride + c];
  }
}

}  // namespace tf_custom_op
#endif  // x86-64
