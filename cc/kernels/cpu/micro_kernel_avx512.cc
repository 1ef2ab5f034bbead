// AVX-512 micro-kernels (float and double): the shared x86 tile (x86_tile.h)
// with 512-bit vectors, 12 pixels x 32 floats or 16 doubles. This translation
// unit alone is compiled with the AVX-512 flags (build_tools/sources.py); its
// kernels are only selected after CPUID reported the avx512 tier
// (isa_tier.cc), so the library still loads and runs on any x86-64. The
// TF-free tester also runs it as plain C++ (x86_intrinsics.h).
#if defined(__x86_64__) || defined(_M_X64)
#include <cstdint>

#include "cc/kernels/cpu/x86_intrinsics.h"

#include "cc/kernels/cpu/fma_peak.h"
#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/pixel_tile.h"
#include "cc/kernels/cpu/winograd_tile.h"
#include "cc/kernels/cpu/x86_tile.h"

namespace tf_custom_op {
namespace {

// Vector traits of AVX-512 (512-bit) for the shared tile.
struct F32x16 {
  using T = float;
  using V = __m512;
  static constexpr int kLanes = 16;
  static V Zero() { return _mm512_setzero_ps(); }
  static V Load(const T* p) { return _mm512_loadu_ps(p); }
  static V Broadcast(const T* p) { return _mm512_set1_ps(*p); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static void Store(T* p, V v) { _mm512_storeu_ps(p, v); }
  static void Stream(T* p, V v) { _mm512_stream_ps(p, v); }
};
struct F64x8 {
  using T = double;
  using V = __m512d;
  static constexpr int kLanes = 8;
  static V Zero() { return _mm512_setzero_pd(); }
  static V Load(const T* p) { return _mm512_loadu_pd(p); }
  static V Broadcast(const T* p) { return _mm512_set1_pd(*p); }
  static V Fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static void Store(T* p, V v) { _mm512_storeu_pd(p, v); }
  static void Stream(T* p, V v) { _mm512_stream_pd(p, v); }
};

}  // namespace

// Float FMA throughput of this core at 512 bits: 24 independent chains
// (enough for two FMA ports of any latency up to 12 cycles).
double Avx512FmaPeakGflops() { return MeasureFmaPeakGflops<F32x16, 24>(); }

// AVX-512 has 32 registers: 12 pixels x 2 vectors = 24 accumulators, two
// weight vectors and a broadcast. Twice the pixels of the 6-pixel AVX2 tile
// halve the packed weights streamed from L2 per multiply-add. Measured with
// build/cpu_engine_bench (1 thread) on an Intel Xeon (Sapphire Rapids class):
// 6x32 -> 12x32 took r50_3x3_c128 from 160 to 178 GFLOP/s, dcgan64_g2 (4x4
// s2, K 512 on 8x8 maps) from 116 to 182, a 3x3 x 512 layer on 14x14 from
// 87 to 185; 14x32 was no better than 12x32 (and spills more readily).
constexpr int kWideMR = 12;
const MicroKernel<float> kAvx512FloatKernel = {
    kWideMR, kVectors * F32x16::kLanes, &Kernel<PlainTraits<F32x16>, false, kWideMR>,
    "avx512-f32-12x32", 1, &StreamingKernel<PlainTraits<F32x16>, kWideMR>};
const MicroKernel<double> kAvx512DoubleKernel = {
    kWideMR, kVectors * F64x8::kLanes, &Kernel<PlainTraits<F64x8>, false, kWideMR>,
    "avx512-f64-12x16", 1, &StreamingKernel<PlainTraits<F64x8>, kWideMR>};

// Pixel-vector tiles (pixel_tile.h): widest tiles of 8, 8, 5 and 3 vectors
// for 1, 2, 4 and 8 channels (at most 28 of the 32 registers).
const PixelKernel& Avx512PixelKernel() {
  static const PixelKernel kernel = MakePixelKernel<F32x16, 8, 8, 5, 3>("avx512-f32-pixels");
  return kernel;
}

// Winograd transforms (winograd_tile.h) over 16 channels per vector.
const WinogradKernel& Avx512WinogradKernel() {
  static const WinogradKernel kernel = MakeWinogradKernel<F32x16>("avx512-f32-winograd");
  return kernel;
}

}  // namespace tf_custom_op
#endif  // x86-64
