// The register-tiled x86 micro-kernel, written once for every vector width.
//
// Included by each ISA's translation unit (micro_kernel_avx2.cc,
// micro_kernel_avx512.cc), which compiles it with its own flags and supplies
// the vector traits: a type `Vec` with `T` (float or double), `V` (the
// register type), `kLanes`, and Zero/Load/Broadcast/Fma/Store. Everything
// here is in an anonymous namespace, so each translation unit gets its own
// copy, compiled for its own instruction set.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_X86_TILE_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_X86_TILE_H_

#include <cstdint>

namespace tf_custom_op {
namespace {

// Tiles are kMR = 6 pixels x kVectors = 2 vectors: 12 accumulators, two
// filter vectors and one broadcast per two FMAs (within AVX2's 16 registers;
// AVX-512 has 32, and 12 independent accumulators already cover its FMA
// latency).
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
  alignas(64) T spill[NV * Vec::kLanes];
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
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_X86_TILE_H_
