// AVX2 + FMA micro-kernels. This translation unit alone is compiled with
// -mavx2 -mfma; it is only called after the CPU reported both features, so the
// library still loads and runs on any x86-64.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cstdint>

#include "cc/kernels/cpu/micro_kernel.h"

namespace tf_custom_op {
namespace {

// 6 pixels x 16 channels: 12 accumulators, two filter vectors and one
// broadcast per two FMAs, which keeps both FMA pipes busy.
constexpr int kFloatMR = 6;
constexpr int kFloatNR = 16;

// Accumulators are named locals, not an array: GCC keeps an accumulator array
// in memory and stores it back on every iteration.
void Avx2Float6x16(int64_t taps, int64_t depth, const float* const* rows,
                   const float* packed, float* out, int64_t out_pixel_stride,
                   int m_valid, int n_valid) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  const float* w = packed;
  for (int64_t t = 0; t < taps; ++t) {
    const float* const* r = rows + t * kFloatMR;
    const float *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3], *r4 = r[4],
                *r5 = r[5];
    for (int64_t k = 0; k < depth; ++k, w += kFloatNR) {
      const __m256 w0 = _mm256_loadu_ps(w);
      const __m256 w1 = _mm256_loadu_ps(w + 8);
      __m256 a = _mm256_broadcast_ss(r0 + k);
      c00 = _mm256_fmadd_ps(a, w0, c00);
      c01 = _mm256_fmadd_ps(a, w1, c01);
      a = _mm256_broadcast_ss(r1 + k);
      c10 = _mm256_fmadd_ps(a, w0, c10);
      c11 = _mm256_fmadd_ps(a, w1, c11);
      a = _mm256_broadcast_ss(r2 + k);
      c20 = _mm256_fmadd_ps(a, w0, c20);
      c21 = _mm256_fmadd_ps(a, w1, c21);
      a = _mm256_broadcast_ss(r3 + k);
      c30 = _mm256_fmadd_ps(a, w0, c30);
      c31 = _mm256_fmadd_ps(a, w1, c31);
      a = _mm256_broadcast_ss(r4 + k);
      c40 = _mm256_fmadd_ps(a, w0, c40);
      c41 = _mm256_fmadd_ps(a, w1, c41);
      a = _mm256_broadcast_ss(r5 + k);
      c50 = _mm256_fmadd_ps(a, w0, c50);
      c51 = _mm256_fmadd_ps(a, w1, c51);
    }
  }
  const __m256 acc[kFloatMR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                   {c30, c31}, {c40, c41}, {c50, c51}};
  if (n_valid == kFloatNR) {
    for (int m = 0; m < m_valid; ++m) {
      float* dst = out + m * out_pixel_stride;
      _mm256_storeu_ps(dst, acc[m][0]);
      _mm256_storeu_ps(dst + 8, acc[m][1]);
    }
    return;
  }
  // Channel tail: spill the tile and copy the valid part (no masked loads
  // past the end of dx).
  alignas(32) float tile[kFloatNR];
  for (int m = 0; m < m_valid; ++m) {
    _mm256_store_ps(tile, acc[m][0]);
    _mm256_store_ps(tile + 8, acc[m][1]);
    float* dst = out + m * out_pixel_stride;
    for (int n = 0; n < n_valid; ++n) dst[n] = tile[n];
  }
}

// 6 pixels x 8 channels of double: the same register budget as above.
constexpr int kDoubleMR = 6;
constexpr int kDoubleNR = 8;

void Avx2Double6x8(int64_t taps, int64_t depth, const double* const* rows,
                   const double* packed, double* out, int64_t out_pixel_stride,
                   int m_valid, int n_valid) {
  __m256d c00 = _mm256_setzero_pd(), c01 = _mm256_setzero_pd();
  __m256d c10 = _mm256_setzero_pd(), c11 = _mm256_setzero_pd();
  __m256d c20 = _mm256_setzero_pd(), c21 = _mm256_setzero_pd();
  __m256d c30 = _mm256_setzero_pd(), c31 = _mm256_setzero_pd();
  __m256d c40 = _mm256_setzero_pd(), c41 = _mm256_setzero_pd();
  __m256d c50 = _mm256_setzero_pd(), c51 = _mm256_setzero_pd();
  const double* w = packed;
  for (int64_t t = 0; t < taps; ++t) {
    const double* const* r = rows + t * kDoubleMR;
    const double *r0 = r[0], *r1 = r[1], *r2 = r[2], *r3 = r[3], *r4 = r[4],
                 *r5 = r[5];
    for (int64_t k = 0; k < depth; ++k, w += kDoubleNR) {
      const __m256d w0 = _mm256_loadu_pd(w);
      const __m256d w1 = _mm256_loadu_pd(w + 4);
      __m256d a = _mm256_broadcast_sd(r0 + k);
      c00 = _mm256_fmadd_pd(a, w0, c00);
      c01 = _mm256_fmadd_pd(a, w1, c01);
      a = _mm256_broadcast_sd(r1 + k);
      c10 = _mm256_fmadd_pd(a, w0, c10);
      c11 = _mm256_fmadd_pd(a, w1, c11);
      a = _mm256_broadcast_sd(r2 + k);
      c20 = _mm256_fmadd_pd(a, w0, c20);
      c21 = _mm256_fmadd_pd(a, w1, c21);
      a = _mm256_broadcast_sd(r3 + k);
      c30 = _mm256_fmadd_pd(a, w0, c30);
      c31 = _mm256_fmadd_pd(a, w1, c31);
      a = _mm256_broadcast_sd(r4 + k);
      c40 = _mm256_fmadd_pd(a, w0, c40);
      c41 = _mm256_fmadd_pd(a, w1, c41);
      a = _mm256_broadcast_sd(r5 + k);
      c50 = _mm256_fmadd_pd(a, w0, c50);
      c51 = _mm256_fmadd_pd(a, w1, c51);
    }
  }
  const __m256d acc[kDoubleMR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                                     {c30, c31}, {c40, c41}, {c50, c51}};
  alignas(32) double tile[kDoubleNR];
  for (int m = 0; m < m_valid; ++m) {
    double* dst = out + m * out_pixel_stride;
    if (n_valid == kDoubleNR) {
      _mm256_storeu_pd(dst, acc[m][0]);
      _mm256_storeu_pd(dst + 4, acc[m][1]);
      continue;
    }
    _mm256_store_pd(tile, acc[m][0]);
    _mm256_store_pd(tile + 4, acc[m][1]);
    for (int n = 0; n < n_valid; ++n) dst[n] = tile[n];
  }
}

}  // namespace

const MicroKernel<float> kAvx2FloatKernel = {kFloatMR, kFloatNR,
                                             &Avx2Float6x16, "avx2-f32-6x16"};
const MicroKernel<double> kAvx2DoubleKernel = {kDoubleMR, kDoubleNR,
                                               &Avx2Double6x8, "avx2-f64-6x8"};

}  // namespace tf_custom_op
#endif  // x86-64
