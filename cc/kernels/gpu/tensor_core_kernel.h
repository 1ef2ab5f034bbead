// The tensor-core GEMM kernel (half, bfloat16): 128 x 64 block tile, BK 32,
// 8 warps in a 4 (rows) x 2 (channels) layout, each owning 32 x 32 = 2 x 2
// WMMA fragments (warp_tile.h) with fp32 accumulation. The main loop is
// main_loop.h's; this header holds the kernel's shared-tile layout and
// per-step compute (TensorCoreStep) and its staged epilogue.
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_TENSOR_CORE_KERNEL_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_TENSOR_CORE_KERNEL_H_

#include <cstdint>

#include "cc/kernels/gpu/device_math.h"
#include "cc/kernels/gpu/kernel_args.h"
#include "cc/kernels/gpu/main_loop.h"
#include "cc/kernels/gpu/tile_loader.h"
#include "cc/kernels/gpu/warp_tile.h"

namespace tf_custom_op {
namespace gpu {

constexpr int kTcBM = 128, kTcBN = 64, kTcBK = 32;
constexpr int kTcWarpsM = 4, kTcWarpsN = 2;
constexpr int kTcThreads = 32 * kTcWarpsM * kTcWarpsN;

// Shared tiles: As[buf][m][k] (row-major matrix_a) and Bs[buf][c][k]
// (col-major matrix_b), rows padded to kLd elements (8 more, 16 bytes) so
// that the 16 rows of a fragment spread over the banks.
template <typename T, int BM, int BN, int BK, int kLd, int kWarpM, int kWarpN,
          typename WarpTile>
struct TensorCoreStep {
  T* As;
  T* Bs;
  int wm, wn, lane;  // the warp's row and channel position, the thread's lane
  WarpTile tile;

  __device__ __forceinline__ TensorCoreStep(T* as, T* bs, int warp_m,
                                            int warp_n, int lane_id)
      : As(as), Bs(bs), wm(warp_m), wn(warp_n), lane(lane_id) {
    tile.Zero();
  }

  template <typename Fetch>
  __device__ __forceinline__ void Stage(int buf, const Fetch& f) {
    T* an = As + buf * BM * kLd;
    T* bn = Bs + buf * BN * kLd;
    TFCO_UNROLL
    for (int e = 0; e < Fetch::kALen; ++e) an[f.a_row * kLd + f.a_k + e] = f.a_reg[e];
    TFCO_UNROLL
    for (int e = 0; e < Fetch::kBLen; ++e) bn[f.b_col * kLd + f.b_k + e] = f.b_reg[e];
  }

  __device__ __forceinline__ void Compute(int buf) {
    const T* a = As + buf * BM * kLd + wm * kWarpM * kLd;
    const T* b = Bs + buf * BN * kLd + wn * kWarpN * kLd;
    tile.Mma(a, b, kLd, lane);
  }
};

template <typename T>
__global__ void __launch_bounds__(kTcThreads)
    TensorCoreGatherKernel(const GemmArgs<T> args) {
  // A whole block returns together, before any barrier (non_finite_guard.h).
  if (args.skip_if_flagged != nullptr && *args.skip_if_flagged != 0) return;
  constexpr int BM = kTcBM, BN = kTcBN, BK = kTcBK, NT = kTcThreads;
  constexpr int kWarpM = BM / kTcWarpsM;  // 32
  constexpr int kWarpN = BN / kTcWarpsN;  // 32
  constexpr int FM = kWarpM / 16, FN = kWarpN / 16;
  constexpr int kLd = BK + 8;  // elements; a multiple of 8 (16 bytes)
  constexpr int kABytes = 2 * BM * kLd * static_cast<int>(sizeof(T));
  constexpr int kBBytes = 2 * BN * kLd * static_cast<int>(sizeof(T));
  constexpr int kStageLd = 16 + 4;  // floats; a multiple of 4
  constexpr int kStageBytes = (NT / 32) * 16 * kStageLd * 4;
  constexpr int kSmemBytes =
      kABytes + kBBytes > kStageBytes ? kABytes + kBBytes : kStageBytes;
  using WarpTile = typename WarpTileFor<T, FM, FN, BK>::type;
  using Step = TensorCoreStep<T, BM, BN, BK, kLd, kWarpM, kWarpN, WarpTile>;
  struct alignas(128) Smem {
    unsigned char bytes[kSmemBytes];
  };

  __shared__ Smem smem;  // A and B tiles, then the epilogue's staging
  __shared__ int64_t s_dx_off[BM];
  __shared__ int64_t s_dy_off[BM];
  __shared__ int32_t s_i[BM];
  __shared__ int32_t s_j[BM];

  const int tid = static_cast<int>(threadIdx.x);
  const int warp = tid / 32;
  const int lane = tid % 32;
  const int wm = warp / kTcWarpsN;
  const int wn = warp % kTcWarpsN;
  const PhaseDesc d =
      DecodeBlockRows<T, BM, NT>(args, s_dx_off, s_dy_off, s_i, s_j);
  const int32_t c_start = static_cast<int32_t>(blockIdx.y) * BN;
  __syncthreads();

  Step step(reinterpret_cast<T*>(smem.bytes),
            reinterpret_cast<T*>(smem.bytes + kABytes), wm, wn, lane);
  RunMainLoop<BM, BN, BK, NT>(args, d, c_start, s_dy_off, s_i, s_j, step);

  // Epilogue: fragments go through a per-warp 16 x 16 float staging buffer
  // (aliasing the A/B tiles, hence the barrier) and out as T, once each.
  __syncthreads();
  float* stage = reinterpret_cast<float*>(smem.bytes) + warp * 16 * kStageLd;
  const int lr = lane >> 1;
  const int lc = (lane & 1) * 8;
  TFCO_UNROLL
  for (int i = 0; i < FM; ++i) {
    TFCO_UNROLL
    for (int j = 0; j < FN; ++j) {
      step.tile.Store(i, j, stage, kStageLd, lane);
      __syncwarp();
      const int64_t off = s_dx_off[wm * kWarpM + i * 16 + lr];
      const int32_t c0 = c_start + wn * kWarpN + j * 16 + lc;
      if (off >= 0) {
        TFCO_UNROLL
        for (int e = 0; e < 8; ++e) {
          if (c0 + e < args.Cg) {
            args.dx[off + c0 + e] = FromFloat<T>(stage[lr * kStageLd + lc + e]);
          }
        }
      }
      __syncwarp();
    }
  }
}

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_TENSOR_CORE_KERNEL_H_
