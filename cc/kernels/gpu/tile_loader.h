// The global-memory side shared by both GEMM kernels: the block setup that
// finds the block's phase and decodes its rows once (DecodeBlockRows), and
// the Fetcher that walks the (row tap, col tap, k chunk) reduction with
// increments only and loads each step's dy and filter runs into registers.
//
// Everything that divides is in DecodeBlockRows, once per row per block; the
// main loop (main_loop.h) only calls Fetcher::Advance and Fetcher::Fetch.
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_TILE_LOADER_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_TILE_LOADER_H_

#include <cstdint>

#include "cc/kernels/gpu/device_math.h"
#include "cc/kernels/gpu/kernel_args.h"

namespace tf_custom_op {
namespace gpu {

constexpr int32_t kInvalidRow = -(1 << 30);  // i + offset never lands in dy

// Finds this block's phase (a short scan at block start) and decodes the
// block's BM rows into shared tables: dx offset (-1 past the phase's end),
// dy offset of (n, i, j, group) and the phase-local (i, j). The only
// divisions of the kernels are here, once per row per block.
template <typename T, int BM, int NT>
__device__ __forceinline__ PhaseDesc DecodeBlockRows(const GemmArgs<T>& args,
                                                     int64_t* s_dx_off,
                                                     int64_t* s_dy_off,
                                                     int32_t* s_i,
                                                     int32_t* s_j) {
  const PhaseDesc d = args.table.phase[PhaseOfBlock(
      args.table, static_cast<int32_t>(blockIdx.x))];
  const int64_t m_start =
      static_cast<int64_t>(static_cast<int32_t>(blockIdx.x) - d.tile_begin) *
      BM;
  const int64_t g = args.group_begin + static_cast<int64_t>(blockIdx.z);
  const int64_t plane = static_cast<int64_t>(d.rows) * d.cols;
  for (int t = static_cast<int>(threadIdx.x); t < BM; t += NT) {
    const int64_t m = m_start + t;
    if (m < d.m) {
      const int64_t n = m / plane;
      const int64_t rem = m - n * plane;
      const int64_t i = rem / d.cols;
      const int64_t j = rem - i * d.cols;
      const int64_t h = d.a + args.sh * i;
      const int64_t x = d.b + args.sw * j;
      s_dx_off[t] = ((n * args.H + h) * args.W + x) * args.C + g * args.Cg;
      s_dy_off[t] = ((n * args.P + i) * args.Q + j) * args.K + g * args.Kg;
      s_i[t] = static_cast<int32_t>(i);
      s_j[t] = static_cast<int32_t>(j);
    } else {
      s_dx_off[t] = -1;
      s_dy_off[t] = 0;
      s_i[t] = kInvalidRow;
      s_j[t] = kInvalidRow;
    }
  }
  return d;
}

// Global -> register part of the main loop. Thread `tid` loads kALen
// consecutive k of one dy row (A) and kBLen consecutive k of one filter
// column (B); both runs are contiguous in memory (NHWC dy, HWIO filter).
// Values outside dy, past K_g or past C_g load as zero.
template <typename T, int BM, int BN, int BK, int NT>
struct Fetcher {
  static constexpr int kAThreadsPerRow = NT / BM;
  static constexpr int kALen = BK / kAThreadsPerRow;
  static constexpr int kBThreadsPerCol = NT / BN;
  static constexpr int kBLen = BK / kBThreadsPerCol;
  static_assert(NT % BM == 0 && BK % kAThreadsPerRow == 0, "A loader shape");
  static_assert(NT % BN == 0 && BK % kBThreadsPerCol == 0, "B loader shape");

  int a_row, a_k, b_col, b_k;
  int32_t a_i, a_j;
  int64_t a_base;  // dy offset of (n, i, j, g * K_g)
  bool b_ok;
  int64_t b_base;  // filter offset of (0, 0, c, g * K_g)
  // Position in the (row tap, col tap, k chunk) walk.
  int32_t k0, tc, off_r, off_c;
  int64_t w_row, w_tap;  // filter offsets of (r, s0) and (r, s)
  T a_reg[kALen];
  T b_reg[kBLen];

  __device__ __forceinline__ void Init(const GemmArgs<T>& args,
                                       const PhaseDesc& d, int tid,
                                       int32_t c_start,
                                       const int64_t* s_dy_off,
                                       const int32_t* s_i,
                                       const int32_t* s_j) {
    a_row = tid / kAThreadsPerRow;
    a_k = (tid - a_row * kAThreadsPerRow) * kALen;
    b_col = tid / kBThreadsPerCol;
    b_k = (tid - b_col * kBThreadsPerCol) * kBLen;
    a_i = s_i[a_row];
    a_j = s_j[a_row];
    a_base = s_dy_off[a_row];
    const int32_t c = c_start + b_col;
    const int64_t g = args.group_begin + static_cast<int64_t>(blockIdx.z);
    b_ok = c < args.Cg;
    b_base = static_cast<int64_t>(c) * args.K + g * args.Kg;
    k0 = 0;
    tc = 0;
    off_r = d.row_off0;
    off_c = d.col_off0;
    w_row = d.r0 * args.filter_row_stride + d.s0 * args.filter_col_stride;
    w_tap = w_row;
  }

  __device__ __forceinline__ void Fetch(const GemmArgs<T>& args) {
    const bool a_ok =
        static_cast<uint32_t>(a_i + off_r) < static_cast<uint32_t>(args.P) &&
        static_cast<uint32_t>(a_j + off_c) < static_cast<uint32_t>(args.Q);
    const int64_t a_off =
        a_ok ? a_base + (static_cast<int64_t>(off_r) * args.Q + off_c) * args.K
             : 0;
    const T* a_src = args.dy + a_off + k0 + a_k;
    const int32_t a_left = args.Kg - k0 - a_k;  // valid k in this run
    TFCO_UNROLL
    for (int e = 0; e < kALen; ++e) {
      a_reg[e] = (a_ok && e < a_left) ? a_src[e] : ZeroOf<T>();
    }
    const T* b_src = args.w + (b_ok ? w_tap + b_base : 0) + k0 + b_k;
    const int32_t b_left = args.Kg - k0 - b_k;
    TFCO_UNROLL
    for (int e = 0; e < kBLen; ++e) {
      b_reg[e] = (b_ok && e < b_left) ? b_src[e] : ZeroOf<T>();
    }
  }

  // Next k chunk; at the end of K_g the next column tap; at the end of the
  // column taps the next row tap. Increments only.
  __device__ __forceinline__ void Advance(const GemmArgs<T>& args,
                                          const PhaseDesc& d) {
    k0 += BK;
    if (k0 >= args.Kg) {
      k0 = 0;
      ++tc;
      off_c -= args.col_off_step;
      w_tap += args.col_tap_stride;
      if (tc == d.col_taps) {
        tc = 0;
        off_c = d.col_off0;
        off_r -= args.row_off_step;
        w_row += args.row_tap_stride;
        w_tap = w_row;
      }
    }
  }
};

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_TILE_LOADER_H_
