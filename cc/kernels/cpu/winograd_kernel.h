// The per-tier entry point of the Winograd transforms (winograd_tile.h
// instantiates it per tier; micro_kernel_select.cc keeps their table).
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_KERNEL_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_KERNEL_H_

#include <cstdint>

#include "cc/kernels/cpu/winograd_fixed.h"
#include "cc/kernels/cpu/winograd_transform.h"

namespace tf_custom_op {

// Applies `rows` along the first axis and `cols` along the second to a
// rows.inputs x cols.inputs grid of vectors of `depth` floats:
//   out[i * cols.rows + j][k] = sum_a sum_b rows(i, a) cols(j, b) in[a * cols.inputs + b][k]
// for k < depth, skipping outputs whose pointer is null. Every Winograd step
// is one: the data transform (BT on a tile's dy pixels, K values each), the
// filter transform (G on a channel's taps) and the output transform (AT on
// a tile's GEMM results, C values each). Returns false when an output is
// Inf or NaN: the engine then computes the tile directly (a transform mixes
// an Inf with its neighbours, where a direct sum keeps them finite) or, for
// the filter, leaves the layer to the direct engine.
using WinogradTransformFn = bool (*)(const float* const* in, int64_t depth,
                                     const SparseRows& rows, const SparseRows& cols,
                                     float* const* out);

struct WinogradKernel {
  const char* name;
  WinogradTransformFn transform;
  // The same for the matrices of kWinogradFixedKeys (winograd_fixed.h),
  // compiled for them; `rows` and `cols` are then not read.
  WinogradTransformFn fixed[kWinogradFixedCount];
};

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_WINOGRAD_KERNEL_H_
