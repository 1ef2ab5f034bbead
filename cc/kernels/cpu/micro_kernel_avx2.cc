// AVX2 + FMA micro-kernels. This translation unit alone is compiled with
// -mavx2 -mfma; it is only called after the CPU reported both features, so the
// library still loads and runs on any x86-64.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cstdint>

#include "cc/kernels/cpu/micro_kernel.h"

namespace tf_custom_op {
namespace {

// Vector traits, so one tile template serves float and double.
struct F32 {
  using T = float;
  using V = __m256;
  static constexpr int kLanes = 8;
  static V Zero() { return _mm256_setzero_ps(); }
  static V Load(const T* p) { return _mm256_loadu_ps(p); }
  static V Broadcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V Fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static void Store(T* p, V v) { _mm256_storeu_ps(p, v); }
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
};

// Tiles are 6 pixels x 2 vectors: 12 accumulators, two filter vectors and one
// broadcast per two FMAs, within AVX2's 16 registers.
constexpr int kMR = 6;
constexpr int kVectors = 2;

// An M x (NV vectors) tile with M and NV known at compile time: every loop
// below is unrolled, so the accumulators live in registers (a runtime index
// into them would force GCC to keep them in memory). Pixel and channel tails
// get their own instantiation instead of computing padding.
template <typename Vec, int M, int NV>
void Tile(int64_t taps, int64_t depth, const typename Vec::T* const* rows,
          const typename Vec::T* packed, typename Vec::T* out,
          int64_t out_pixel_stride, int n_valid) {
  using T = typename Vec::T;
  using V = typename Vec::V;
  constexpr int kNR = kVectors * Vec::kLanes;  // packing width
  V acc[M][NV];
  _Pragma("GCC unroll 8") for (int m = 0; m < M; ++m) {
    _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) acc[m][v] = Vec::Zero();
  }
  const T* w = packed;
  for (int64_t t = 0; t < taps; ++t) {
    const T* r[M];
    _Pragma("GCC unroll 8") for (int m = 0; m < M; ++m) r[m] = rows[t * kMR + m];
    for (int64_t k = 0; k < depth; ++k, w += kNR) {
      V wv[NV];
      _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) wv[v] = Vec::Load(w + v * Vec::kLanes);
      _Pragma("GCC unroll 8") for (int m = 0; m < M; ++m) {
        const V a = Vec::Broadcast(r[m] + k);
        _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) acc[m][v] = Vec::Fma(a, wv[v], acc[m][v]);
      }
    }
  }
  if (n_valid == NV * Vec::kLanes) {
    _Pragma("GCC unroll 8") for (int m = 0; m < M; ++m) {
      _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) {
        Vec::Store(out + m * out_pixel_stride + v * Vec::kLanes, acc[m][v]);
      }
    }
    return;
  }
  // Channel tail: spill each pixel's vectors and copy the valid channels
  // (never write past the tile's channels).
  alignas(32) T spill[NV * Vec::kLanes];
  _Pragma("GCC unroll 8") for (int m = 0; m < M; ++m) {
    _Pragma("GCC unroll 2") for (int v = 0; v < NV; ++v) Vec::Store(spill + v * Vec::kLanes, acc[m][v]);
    T* dst = out + m * out_pixel_stride;
    for (int n = 0; n < n_valid; ++n) dst[n] = spill[n];
  }
}

template <typename Vec, int M>
void TileForChannels(int64_t taps, int64_t depth,
                     const typename Vec::T* const* rows,
                     const typename Vec::T* packed, typename Vec::T* out,
                     int64_t out_pixel_stride, int n_valid) {
  if (n_valid <= Vec::kLanes) {
    // Half the packing width is padding: skip its FMAs. The packed panel
    // keeps its full width, so the loop still strides by kNR.
    Tile<Vec, M, 1>(taps, depth, rows, packed, out, out_pixel_stride, n_valid);
  } else {
    Tile<Vec, M, kVectors>(taps, depth, rows, packed, out, out_pixel_stride,
                           n_valid);
  }
}

template <typename Vec>
void Kernel(int64_t taps, int64_t depth, const typename Vec::T* const* rows,
            const typename Vec::T* packed, typename Vec::T* out,
            int64_t out_pixel_stride, int m_valid, int n_valid) {
  switch (m_valid) {
    case 6:
      return TileForChannels<Vec, 6>(taps, depth, rows, packed, out,
                                     out_pixel_stride, n_valid);
    case 5:
      return TileForChannels<Vec, 5>(taps, depth, rows, packed, out,
                                     out_pixel_stride, n_valid);
    case 4:
      return TileForChannels<Vec, 4>(taps, depth, rows, packed, out,
                                     out_pixel_stride, n_valid);
    case 3:
      return TileForChannels<Vec, 3>(taps, depth, rows, packed, out,
                                     out_pixel_stride, n_valid);
    case 2:
      return TileForChannels<Vec, 2>(taps, depth, rows, packed, out,
                                     out_pixel_stride, n_valid);
    case 1:
      return TileForChannels<Vec, 1>(taps, depth, rows, packed, out,
                                     out_pixel_stride, n_valid);
    default:
      return;
  }
}

}  // namespace

const MicroKernel<float> kAvx2FloatKernel = {
    kMR, kVectors * F32::kLanes, &Kernel<F32>, "avx2-f32-6x16"};
const MicroKernel<double> kAvx2DoubleKernel = {
    kMR, kVectors * F64::kLanes, &Kernel<F64>, "avx2-f64-6x8"};

}  // namespace tf_custom_op
#endif  // x86-64
