// Micro-kernels of the pixel-vector path (pixel_engine.h): vectors over the
// pixels of a phase row instead of over channels.
//
// A grouped layer with few channels per group (ResNeXt's 8 of 16 lanes, a
// depthwise layer's 1) leaves most lanes of a channel-vector tile idle. Here
// a vector holds consecutive pixels of one phase row for one channel. The
// engine has transposed every dy row to [k][column] with zero margins, so a
// tap's pixels are one unaligned load per k, and each weight is broadcast:
//   out[c][j] = sum_t sum_k tap_rows[t][pixel0 + j + k * k_stride]
//                           * tap_weights[t][k * weight_k_stride + c0 + c]
// for CB channels c and V vectors of pixels j. The tile is stored whole,
// channel-major (CB rows of V * kLanes values); the engine scatters the
// valid pixels into dx. Written once over vector traits (Zero, Load,
// Broadcast, Fma, Store, kLanes: as x86_tile.h) and instantiated per tier.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_PIXEL_TILE_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_PIXEL_TILE_H_

#include <array>
#include <cstdint>
#include <utility>

namespace tf_custom_op {

using PixelTileFn = void (*)(int64_t taps, int64_t depth, const float* const* tap_rows,
                             const float* const* tap_weights, int64_t k_stride,
                             int64_t weight_k_stride, int64_t pixel0, int64_t c0, float* out);

// Channel blocks a pixel kernel has tiles for: CB = 1, 2, 4, 8 (index
// log2 CB); a group's channels are covered by the largest blocks first.
constexpr int kPixelChannelBlocks = 4;
constexpr int kPixelMaxChannels = 8;
// Tiles of 1..kPixelMaxVectors vectors of pixels: full tiles of a block's
// most vectors, and one narrower tile for what is left of a phase row (a
// 56-pixel row in 48-pixel tiles would otherwise compute 96).
constexpr int kPixelMaxVectors = 8;

// One tier's tiles: fn[b][v - 1] computes CB = 1 << b channels x v vectors.
struct PixelKernel {
  const char* name;
  int lanes;                                                 // pixels per vector
  int max_vectors[kPixelChannelBlocks];                      // widest tile per block
  PixelTileFn fn[kPixelChannelBlocks][kPixelMaxVectors];
};

// What a phase row may be read past its last pixel: the engine's zero margin.
inline int MaxTilePixels(const PixelKernel& kernel) {
  int most = 0;
  for (int b = 0; b < kPixelChannelBlocks; ++b) {
    most = kernel.max_vectors[b] > most ? kernel.max_vectors[b] : most;
  }
  return most * kernel.lanes;
}

template <typename Vec, int CB, int V>
void PixelTile(int64_t taps, int64_t depth, const float* const* tap_rows,
               const float* const* tap_weights, int64_t k_stride, int64_t weight_k_stride,
               int64_t pixel0, int64_t c0, float* out) {
  using Reg = typename Vec::V;
  constexpr int L = Vec::kLanes;
  Reg acc[CB][V];
  _Pragma("GCC unroll 8") for (int c = 0; c < CB; ++c) {
    _Pragma("GCC unroll 8") for (int v = 0; v < V; ++v) acc[c][v] = Vec::Zero();
  }
  for (int64_t t = 0; t < taps; ++t) {
    const float* row = tap_rows[t] + pixel0;
    const float* w = tap_weights[t] + c0;
    for (int64_t k = 0; k < depth; ++k) {
      Reg x[V];
      _Pragma("GCC unroll 8") for (int v = 0; v < V; ++v) x[v] = Vec::Load(row + v * L);
      _Pragma("GCC unroll 8") for (int c = 0; c < CB; ++c) {
        const Reg b = Vec::Broadcast(w + c);
        _Pragma("GCC unroll 8") for (int v = 0; v < V; ++v) acc[c][v] = Vec::Fma(x[v], b, acc[c][v]);
      }
      row += k_stride;
      w += weight_k_stride;
    }
  }
  _Pragma("GCC unroll 8") for (int c = 0; c < CB; ++c) {
    _Pragma("GCC unroll 8") for (int v = 0; v < V; ++v) Vec::Store(out + (c * V + v) * L, acc[c][v]);
  }
}

template <typename Vec, int CB, int... kV>
constexpr std::array<PixelTileFn, kPixelMaxVectors> PixelTilesOf(std::integer_sequence<int, kV...>) {
  return {&PixelTile<Vec, CB, kV + 1>...};
}

// A tier's PixelKernel from its vector traits and the widest tile of each
// channel block (CB * V accumulators, V loaded pixel vectors and a broadcast
// must fit the register file).
template <typename Vec, int V1, int V2, int V4, int V8>
PixelKernel MakePixelKernel(const char* name) {
  PixelKernel kernel{name, Vec::kLanes, {V1, V2, V4, V8}, {}};
  const std::array<PixelTileFn, kPixelMaxVectors> tiles[kPixelChannelBlocks] = {
      PixelTilesOf<Vec, 1>(std::make_integer_sequence<int, kPixelMaxVectors>()),
      PixelTilesOf<Vec, 2>(std::make_integer_sequence<int, kPixelMaxVectors>()),
      PixelTilesOf<Vec, 4>(std::make_integer_sequence<int, kPixelMaxVectors>()),
      PixelTilesOf<Vec, 8>(std::make_integer_sequence<int, kPixelMaxVectors>())};
  for (int b = 0; b < kPixelChannelBlocks; ++b) {
    for (int v = 0; v < kPixelMaxVectors; ++v) kernel.fn[b][v] = tiles[b][v];
  }
  return kernel;
}

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_PIXEL_TILE_H_
