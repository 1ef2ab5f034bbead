#include <algorithm>

#include "cc/kernels/cpu/float_transpose.h"

namespace tf_custom_op {

void TransposeFloatsPortable(const float* src, int64_t src_stride, int64_t rows, int64_t cols,
                             float* dst, int64_t dst_stride) {
  // Square blocks of 16 (a cache line of floats): both sides touch a few
  // lines at a time.
  constexpr int64_t kBlock = 16;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t r1 = std::min(rows, r0 + kBlock);
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      const int64_t c1 = std::min(cols, c0 + kBlock);
      for (int64_t c = c0; c < c1; ++c) {
        for (int64_t r = r0; r < r1; ++r) dst[c * dst_stride + r] = src[r * src_stride + c];
      }
    }
  }
}

}  // namespace tf_custom_op
