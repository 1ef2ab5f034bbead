// The NCHW <-> NHWC transpose kernel. The GEMM kernels work on NHWC only; for
// NCHW the launcher transposes dy into the workspace before them and the
// NHWC result back into dx after them.
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_TRANSPOSE_KERNEL_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_TRANSPOSE_KERNEL_H_

#include <cstdint>

#include "cc/kernels/gpu/device_math.h"

namespace tf_custom_op {
namespace gpu {

// Batched 2-D transpose for NCHW <-> NHWC: per image, src [rows][cols] ->
// dst [cols][rows], through a padded 32 x 33 shared tile. Works on the raw
// bits (U has the element's size). Block (32, 8).
template <typename U>
__global__ void __launch_bounds__(256)
    TransposeKernel(const U* src, U* dst, int64_t rows, int64_t cols,
                    int64_t batch) {
  __shared__ U tile[32][33];
  const int tx = static_cast<int>(threadIdx.x);
  const int ty = static_cast<int>(threadIdx.y);
  const int64_t image = rows * cols;
  for (int64_t n = blockIdx.z; n < batch; n += gridDim.z) {
    const U* s = src + n * image;
    U* t = dst + n * image;
    for (int64_t r0 = static_cast<int64_t>(blockIdx.y) * 32; r0 < rows;
         r0 += static_cast<int64_t>(gridDim.y) * 32) {
      for (int64_t c0 = static_cast<int64_t>(blockIdx.x) * 32; c0 < cols;
           c0 += static_cast<int64_t>(gridDim.x) * 32) {
        for (int k = ty; k < 32; k += 8) {
          const int64_t r = r0 + k, c = c0 + tx;
          if (r < rows && c < cols) tile[k][tx] = s[r * cols + c];
        }
        __syncthreads();
        for (int k = ty; k < 32; k += 8) {
          const int64_t c = c0 + k, r = r0 + tx;
          if (r < rows && c < cols) t[c * rows + r] = tile[tx][k];
        }
        __syncthreads();
      }
    }
  }
}

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_TRANSPOSE_KERNEL_H_
