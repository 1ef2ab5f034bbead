// AMX-BF16 micro-kernel: bfloat16 rows and weights, float accumulation in
// tiles, 16 pixels x 32 channels per call.
//
// Tiles (one configuration per call, loaded at entry and released at exit):
//   0, 1  C: 16 pixels x 16 channels of float each (channels 0-15, 16-31)
//   2     A: 16 pixels x 32 k of bfloat16 (16 k pairs; 64 bytes per row)
//   3, 4  B: 16 k pairs x 16 channels x (k, k+1): the packed panel's rows
//         (k_pack 2, NR 32: 128 bytes per pair row, B0 its first half, B1 the
//         second), read in place with a 128-byte stride
//   5-7   A, B0, B1 for the last, shorter step when depth is not a multiple
//         of 32 (as many pair rows as are left), so no tile ever reads past
//         the tap's weights.
// A's rows are the dy rows of the 16 pixels, which the indirection gives as
// arbitrary pointers: each tap's rows are first copied into a contiguous
// 16 x depth block (zero-padded to whole pairs), which TILELOADD then reads
// with one stride. Compiled alone with the AMX flags (build_tools/sources.py);
// only selected when CPUID reports AMX-TILE and AMX-BF16 and the kernel
// granted this process the tile state (isa_tier.cc); the TF-free tester also
// runs it as plain C++ (x86_intrinsics.h).
#if defined(__x86_64__) || defined(_M_X64)
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cc/kernels/cpu/micro_kernel.h"
#include "cc/kernels/cpu/x86_intrinsics.h"

namespace tf_custom_op {
namespace {

constexpr int kRows = 16;         // pixels per tile, and k pairs per step
constexpr int kChannels = 32;     // NR: two C tiles of 16 floats
constexpr int kStepK = 2 * kRows; // bfloat16 values of k per full step

// The hardware's 64-byte tile configuration (palette 1).
struct TileConfig {
  uint8_t palette_id;
  uint8_t start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];  // bytes per row of each tile
  uint8_t rows[16];
};
static_assert(sizeof(TileConfig) == 64, "AMX tile configuration is 64 bytes");

TileConfig MakeConfig(int tail_pairs) {
  TileConfig config;
  std::memset(&config, 0, sizeof(config));
  config.palette_id = 1;
  for (int t = 0; t < 5; ++t) {
    config.rows[t] = kRows;
    config.colsb[t] = 64;
  }
  if (tail_pairs > 0) {
    config.rows[5] = kRows;
    config.colsb[5] = static_cast<uint16_t>(4 * tail_pairs);
    config.rows[6] = config.rows[7] = static_cast<uint8_t>(tail_pairs);
    config.colsb[6] = config.colsb[7] = 64;
  }
  return config;
}

void AmxBf16Kernel(int64_t taps, int64_t depth, const BFloat16Bits* const* rows,
                   const BFloat16Bits* packed, float* out, int64_t out_pixel_stride,
                   int m_valid, int n_valid, int64_t taps_per_run, int64_t run_stride) {
  const int64_t pairs = (depth + 1) / 2;
  const int64_t full_steps = pairs / kRows;
  const int tail_pairs = static_cast<int>(pairs % kRows);
  // The A block of one tap: 16 rows of whole pairs (an odd depth gets a zero).
  const int64_t a_stride = 2 * pairs;  // bfloat16 values per row
  thread_local std::vector<BFloat16Bits> a_block;
  a_block.resize(static_cast<size_t>(kRows * a_stride));
  const TileConfig config = MakeConfig(tail_pairs);
  _tile_loadconfig(&config);
  _tile_zero(0);
  _tile_zero(1);
  constexpr long kBStride = kChannels * 2 * sizeof(BFloat16Bits);  // one pair row
  const long a_bytes = static_cast<long>(a_stride * sizeof(BFloat16Bits));
  const BFloat16Bits* w = packed;
  for (int64_t t = 0; t < taps; ++t) {
    if (t % taps_per_run == 0) w = packed + (t / taps_per_run) * run_stride;
    for (int m = 0; m < kRows; ++m) {
      BFloat16Bits* a_row = a_block.data() + m * a_stride;
      std::memcpy(a_row, rows[t * kRows + m], static_cast<size_t>(depth) * sizeof(BFloat16Bits));
      if (depth < a_stride) a_row[depth] = BFloat16Bits{0};  // the odd k's partner
    }
    for (int64_t s = 0; s < full_steps; ++s, w += kRows * kChannels * 2) {
      _tile_loadd(2, a_block.data() + s * kStepK, a_bytes);
      _tile_loadd(3, w, kBStride);
      _tile_loadd(4, w + 2 * 16, kBStride);
      _tile_dpbf16ps(0, 2, 3);
      _tile_dpbf16ps(1, 2, 4);
    }
    if (tail_pairs > 0) {
      _tile_loadd(5, a_block.data() + full_steps * kStepK, a_bytes);
      _tile_loadd(6, w, kBStride);
      _tile_loadd(7, w + 2 * 16, kBStride);
      _tile_dpbf16ps(0, 5, 6);
      _tile_dpbf16ps(1, 5, 7);
      w += tail_pairs * kChannels * 2;
    }
  }
  alignas(64) float spill[kRows][kChannels];
  _tile_stored(0, &spill[0][0], kChannels * sizeof(float));
  _tile_stored(1, &spill[0][16], kChannels * sizeof(float));
  _tile_release();
  for (int m = 0; m < m_valid; ++m) {
    std::memcpy(out + m * out_pixel_stride, spill[m], static_cast<size_t>(n_valid) * sizeof(float));
  }
}

}  // namespace

const MicroKernel<float, BFloat16Bits> kAmxBf16Kernel = {kRows, kChannels, &AmxBf16Kernel,
                                                         "amx-bf16-16x32", 2};

}  // namespace tf_custom_op
#endif  // x86-64
