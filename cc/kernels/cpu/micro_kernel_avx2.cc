// AVX2 + FMA micro-kernels. This translation unit alone is compiled with
// -mavx2 -mfma; it is only called after the CPU reported both features, so the
// library still loads and runs on any x86-64.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cstdint>

#include "cc/kernels/cpu/fma_peak.h"
#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/pixel_tile.h"
#include "cc/kernels/cpu/winograd_tile.h"
#include "cc/kernels/cpu/x86_tile.h"

namespace tf_custom_op {
namespace {

// Vector traits of AVX2 (256-bit) for the shared tile (x86_tile.h).
struct F32 {
  using T = float;
  using V = __m256;
  static constexpr int kLanes = 8;
  static V Zero() { return _mm256_setzero_ps(); }
  static V Load(const T* p) { return _mm256_loadu_ps(p); }
  static V Broadcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static void Store(T* p, V v) { _mm256_storeu_ps(p, v); }
  static void Stream(T* p, V v) { _mm256_stream_ps(p, v); }
};
struct F64 {
  using T = double;
  using V = __m256d;
  static constexpr int kLanes = 4;
  static V Zero() { return _mm256_setzero_pd(); }
  static V Load(const T* p) { return _mm256_loadu_pd(p); }
  static V Broadcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static void Store(T* p, V v) { _mm256_storeu_pd(p, v); }
  static void Stream(T* p, V v) { _mm256_stream_pd(p, v); }
};

}  // namespace

// Float FMA throughput of this core at 256 bits: 12 independent chains.
double Avx2FmaPeakGflops() { return MeasureFmaPeakGflops<F32, 12>(); }

const MicroKernel<float> kAvx2FloatKernel = {
    kMR, kVectors * F32::kLanes, &Kernel<PlainTraits<F32>>, "avx2-f32-6x16", 1,
    &StreamingKernel<PlainTraits<F32>>};
const MicroKernel<double> kAvx2DoubleKernel = {
    kMR, kVectors * F64::kLanes, &Kernel<PlainTraits<F64>>, "avx2-f64-6x8", 1,
    &StreamingKernel<PlainTraits<F64>>};

// Pixel-vector tiles (pixel_tile.h): widest tiles of 6, 4, 2 and 1 vectors
// for 1, 2, 4 and 8 channels (at most 13 of the 16 registers).
const PixelKernel& Avx2PixelKernel() {
  static const PixelKernel kernel = MakePixelKernel<F32, 6, 4, 2, 1>("avx2-f32-pixels");
  return kernel;
}

// Winograd transforms (winograd_tile.h) over 8 channels per vector.
const WinogradKernel& Avx2WinogradKernel() {
  static const WinogradKernel kernel = MakeWinogradKernel<F32>("avx2-f32-winograd");
  return kernel;
}

}  // namespace tf_custom_op
#endif  // x86-64
