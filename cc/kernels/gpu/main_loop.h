// The double-buffered main loop of both GEMM kernels (SIMT and tensor-core):
// the one place that orders global loads, shared-memory stores, compute and
// barriers. Open this file to change the pipelining of the GPU main loop.
//
// The loop walks the phase's (row tap, col tap, k chunk) steps with a Fetcher
// (tile_loader.h). While step `it` computes from shared buffer `buf`, the
// global loads of step `it + 1` are in flight in registers; they are then
// stored into the other buffer and one barrier ends the step.
//
// What differs between the kernels is a `Step` policy object:
//   void Stage(int buf, const Fetch& f)  stores the Fetcher's registers
//                                        (f.a_reg at row f.a_row, k f.a_k;
//                                        f.b_reg at column f.b_col, k f.b_k)
//                                        into shared buffer `buf`, in the
//                                        kernel's own tile layout;
//   void Compute(int buf)                accumulates one BK-deep step from
//                                        shared buffer `buf` (registers only).
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_MAIN_LOOP_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_MAIN_LOOP_H_

#include <cstdint>

#include "cc/kernels/gpu/device_math.h"
#include "cc/kernels/gpu/kernel_args.h"
#include "cc/kernels/gpu/tile_loader.h"

namespace tf_custom_op {
namespace gpu {

// Runs the whole reduction of phase `d` for this block's BM x BN tile
// (channels from c_start), with the rows decoded by DecodeBlockRows into
// s_dy_off, s_i and s_j; the accumulators end up in `step`. Must be reached
// by every thread of the block (it has barriers), after the barrier that
// publishes the decoded rows.
template <int BM, int BN, int BK, int NT, typename T, typename Step>
__device__ __forceinline__ void RunMainLoop(const GemmArgs<T>& args,
                                            const PhaseDesc& d,
                                            int32_t c_start,
                                            const int64_t* s_dy_off,
                                            const int32_t* s_i,
                                            const int32_t* s_j, Step& step) {
  Fetcher<T, BM, BN, BK, NT> f;
  f.Init(args, d, static_cast<int>(threadIdx.x), c_start, s_dy_off, s_i, s_j);

  const int total = d.row_taps * d.col_taps * args.k_chunks;
  if (total > 0) {
    f.Fetch(args);
    step.Stage(0, f);
    __syncthreads();
  }
  int buf = 0;
  for (int it = 0; it < total; ++it) {
    const bool more = it + 1 < total;
    if (more) {
      f.Advance(args, d);
      f.Fetch(args);  // in flight while this step computes
    }
    step.Compute(buf);
    if (more) {
      // The other buffer was last read in the previous step, before the
      // barrier every thread passed since: one barrier per step suffices.
      const int nb = buf ^ 1;
      step.Stage(nb, f);
      __syncthreads();
      buf = nb;
    }
  }
}

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_MAIN_LOOP_H_
