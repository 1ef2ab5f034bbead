// The SIMT GEMM kernel (float, double, int32): BM x BN block tile, BK deep K
// steps, TM x TN accumulators per thread in registers. The main loop is
// main_loop.h's; this header holds the kernel's shared-tile layout and
// per-step compute (SimtStep) and its epilogue.
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_SIMT_KERNEL_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_SIMT_KERNEL_H_

#include <cstdint>

#include "cc/kernels/gpu/device_math.h"
#include "cc/kernels/gpu/kernel_args.h"
#include "cc/kernels/gpu/main_loop.h"
#include "cc/kernels/gpu/tile_loader.h"

namespace tf_custom_op {
namespace gpu {

// Shared tiles As[buf][k][m] and Bs[buf][k][c], rows padded by kPad. Thread
// (tx, ty) owns rows ty + i*(BM/TM) and channels tx + j*(BN/TN): the strided
// ownership makes both shared reads conflict-free (broadcast for A,
// consecutive words for B) and the stores coalesced along channels.
template <typename T, int BM, int BN, int BK, int TM, int TN>
struct SimtStep {
  static constexpr int kPad = 4;
  static constexpr int kRowThreads = BM / TM;
  static constexpr int kColThreads = BN / TN;
  using ATiles = T[2][BK][BM + kPad];
  using BTiles = T[2][BK][BN + kPad];

  ATiles& As;
  BTiles& Bs;
  T acc[TM][TN];

  // This thread's (tx, ty), derived from threadIdx where needed rather than
  // held in registers through the main loop.
  __device__ __forceinline__ static int Tx() {
    return static_cast<int>(threadIdx.x) % kColThreads;
  }
  __device__ __forceinline__ static int Ty() {
    return static_cast<int>(threadIdx.x) / kColThreads;
  }

  __device__ __forceinline__ SimtStep(ATiles& as, BTiles& bs)
      : As(as), Bs(bs) {
    TFCO_UNROLL
    for (int i = 0; i < TM; ++i) {
      TFCO_UNROLL
      for (int j = 0; j < TN; ++j) acc[i][j] = T(0);
    }
  }

  template <typename Fetch>
  __device__ __forceinline__ void Stage(int buf, const Fetch& f) {
    TFCO_UNROLL
    for (int e = 0; e < Fetch::kALen; ++e) As[buf][f.a_k + e][f.a_row] = f.a_reg[e];
    TFCO_UNROLL
    for (int e = 0; e < Fetch::kBLen; ++e) Bs[buf][f.b_k + e][f.b_col] = f.b_reg[e];
  }

  __device__ __forceinline__ void Compute(int buf) {
    const int tx = Tx();
    const int ty = Ty();
    TFCO_UNROLL
    for (int k = 0; k < BK; ++k) {
      T a[TM], b[TN];
      TFCO_UNROLL
      for (int i = 0; i < TM; ++i) a[i] = As[buf][k][ty + i * kRowThreads];
      TFCO_UNROLL
      for (int j = 0; j < TN; ++j) b[j] = Bs[buf][k][tx + j * kColThreads];
      TFCO_UNROLL
      for (int i = 0; i < TM; ++i) {
        TFCO_UNROLL
        for (int j = 0; j < TN; ++j) acc[i][j] = MulAdd(a[i], b[j], acc[i][j]);
      }
    }
  }
};

template <typename T, int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    SimtGatherKernel(const GemmArgs<T> args) {
  // A whole block returns together, before any barrier (non_finite_guard.h).
  if (args.skip_if_flagged != nullptr && *args.skip_if_flagged != 0) return;
  constexpr int NT = (BM / TM) * (BN / TN);
  using Step = SimtStep<T, BM, BN, BK, TM, TN>;

  __shared__ T As[2][BK][BM + Step::kPad];
  __shared__ T Bs[2][BK][BN + Step::kPad];
  __shared__ int64_t s_dx_off[BM];
  __shared__ int64_t s_dy_off[BM];
  __shared__ int32_t s_i[BM];
  __shared__ int32_t s_j[BM];

  const PhaseDesc d =
      DecodeBlockRows<T, BM, NT>(args, s_dx_off, s_dy_off, s_i, s_j);
  const int32_t c_start = static_cast<int32_t>(blockIdx.y) * BN;
  __syncthreads();

  Step step(As, Bs);
  RunMainLoop<BM, BN, BK, NT>(args, d, c_start, s_dy_off, s_i, s_j, step);

  // Epilogue: each owned dx element written once.
  const int tx = Step::Tx();
  const int ty = Step::Ty();
  TFCO_UNROLL
  for (int i = 0; i < TM; ++i) {
    const int64_t off = s_dx_off[ty + i * Step::kRowThreads];
    if (off < 0) continue;
    TFCO_UNROLL
    for (int j = 0; j < TN; ++j) {
      const int32_t c = c_start + tx + j * Step::kColThreads;
      if (c < args.Cg) args.dx[off + c] = step.acc[i][j];
    }
  }
}

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_SIMT_KERNEL_H_
