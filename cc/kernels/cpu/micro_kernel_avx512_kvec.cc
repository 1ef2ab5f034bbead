// AVX-512 micro-kernel for few channels per group (C_g <= 4: a generator's
// RGB or mask output, the input gradient of a network's stem).
//
// The channel-vector tiles (x86_tile.h) put 32 channels in their vectors; with
// C_g = 1 or 3, 29 to 31 of those lanes multiply padding. This kernel turns the
// vectors the other way: 16 consecutive k of one dy pixel against the same 16
// k of one channel's weights, an MR x NR tile of such vector accumulators,
// and one horizontal sum per dx element at the end. Its packing is the
// engine's with k_pack = 16 (filter_packing.h): per tap and step of 16 k, the
// NR channels' 16 weights side by side. The k past K_g in the last step are
// zero in the panel and never loaded from dy (masked loads), so a dy row is
// not read past its K_g values.
//
// Compiled with the AVX-512 flags (build_tools/sources.py) and selected per
// shape (cpu_kernel.cc) when CPUID reports the avx512 tier; the TF-free
// tester also runs it emulated (x86_intrinsics.h).
#if defined(__x86_64__) || defined(_M_X64)
#include <array>
#include <cstdint>
#include <utility>

#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/x86_intrinsics.h"

// GCC 12's _mm512_reduce_add_ps starts from _mm256_undefined_ps(), which
// -Wuninitialized reports where it is inlined: a false positive in the
// compiler's own header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace tf_custom_op {
namespace {

constexpr int kTileMR = 6;   // pixels: 6 x 4 = 24 accumulators at most
constexpr int kTileNR = 4;   // channels
constexpr int kLanes = 16;   // k per step

// One step of 16 k (the last one masked to `mask`) for M pixels and NV
// channels.
template <int M, int NV, bool kMasked>
inline void KStep(const float* const* r, int64_t k, const float* w, __mmask16 mask,
                  __m512 (&acc)[M][NV]) {
  __m512 wv[NV];
  _Pragma("GCC unroll 4") for (int n = 0; n < NV; ++n) wv[n] = _mm512_loadu_ps(w + n * kLanes);
  _Pragma("GCC unroll 8") for (int m = 0; m < M; ++m) {
    const __m512 d = kMasked ? _mm512_maskz_loadu_ps(mask, r[m] + k) : _mm512_loadu_ps(r[m] + k);
    _Pragma("GCC unroll 4") for (int n = 0; n < NV; ++n) acc[m][n] = _mm512_fmadd_ps(d, wv[n], acc[m][n]);
  }
}

template <int M, int NV>
void KvecTile(int64_t taps, int64_t depth, const float* const* rows, const float* packed,
              float* out, int64_t out_pixel_stride, int64_t taps_per_run, int64_t run_stride) {
  __m512 acc[M][NV];
  _Pragma("GCC unroll 8") for (int m = 0; m < M; ++m) {
    _Pragma("GCC unroll 4") for (int n = 0; n < NV; ++n) acc[m][n] = _mm512_setzero_ps();
  }
  const int64_t whole = depth - depth % kLanes;
  const __mmask16 tail_mask = static_cast<__mmask16>((1u << (depth % kLanes)) - 1u);
  const float* w = packed;
  for (int64_t t = 0; t < taps; ++t) {
    if (t % taps_per_run == 0) w = packed + (t / taps_per_run) * run_stride;
    const float* r[M];
    _Pragma("GCC unroll 8") for (int m = 0; m < M; ++m) r[m] = rows[t * kTileMR + m];
    for (int64_t k = 0; k < whole; k += kLanes, w += kTileNR * kLanes) {
      KStep<M, NV, false>(r, k, w, tail_mask, acc);
    }
    if (whole < depth) {
      KStep<M, NV, true>(r, whole, w, tail_mask, acc);
      w += kTileNR * kLanes;
    }
  }
  _Pragma("GCC unroll 8") for (int m = 0; m < M; ++m) {
    _Pragma("GCC unroll 4") for (int n = 0; n < NV; ++n) {
      out[m * out_pixel_stride + n] = _mm512_reduce_add_ps(acc[m][n]);
    }
  }
}

using TileFn = void (*)(int64_t, int64_t, const float* const*, const float*, float*, int64_t,
                        int64_t, int64_t);

template <int M, int... kChannels>
constexpr std::array<TileFn, kTileNR> RowOfTiles(std::integer_sequence<int, kChannels...>) {
  return {&KvecTile<M, kChannels + 1>...};
}

template <int... kPixels>
constexpr std::array<std::array<TileFn, kTileNR>, kTileMR> TableOfTiles(
    std::integer_sequence<int, kPixels...>) {
  return {RowOfTiles<kPixels + 1>(std::make_integer_sequence<int, kTileNR>())...};
}

// [m_valid - 1][n_valid - 1]: one instantiation per tile shape, so that the
// accumulators stay in registers.
constexpr std::array<std::array<TileFn, kTileNR>, kTileMR> kTiles =
    TableOfTiles(std::make_integer_sequence<int, kTileMR>());

void KvecKernel(int64_t taps, int64_t depth, const float* const* rows, const float* packed,
                float* out, int64_t out_pixel_stride, int m_valid, int n_valid,
                int64_t taps_per_run, int64_t run_stride) {
  if (m_valid < 1 || m_valid > kTileMR || n_valid < 1 || n_valid > kTileNR) return;
  kTiles[m_valid - 1][n_valid - 1](taps, depth, rows, packed, out, out_pixel_stride,
                                   taps_per_run, run_stride);
}

}  // namespace

const MicroKernel<float> kAvx512FewChannelsKernel = {kTileMR, kTileNR, &KvecKernel,
                                                     "avx512-f32-kvec-6x4", kLanes};

}  // namespace tf_custom_op

#pragma GCC diagnostic pop
#endif  // x86-64
