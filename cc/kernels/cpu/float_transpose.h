// Transposition of float matrices with arbitrary row strides:
//   dst[c * dst_stride + r] = src[r * src_stride + c]  (r < rows, c < cols)
// The pixel-vector engine (pixel_engine.h) transposes every dy row it reads
// to [k][column] and every tile it computes back to [pixel][channel]; done
// element by element, those two took more time than the tiles' FMAs.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_FLOAT_TRANSPOSE_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_FLOAT_TRANSPOSE_H_

#include <cstdint>

namespace tf_custom_op {

using FloatTransposeFn = void (*)(const float* src, int64_t src_stride, int64_t rows,
                                  int64_t cols, float* dst, int64_t dst_stride);

// Square blocks, element by element (any CPU).
void TransposeFloatsPortable(const float* src, int64_t src_stride, int64_t rows, int64_t cols,
                             float* dst, int64_t dst_stride);

#if defined(__x86_64__) || defined(_M_X64)
// 8 x 8 blocks in AVX registers (float_transpose_avx2.cc, compiled with -mavx2).
void TransposeFloatsAvx2(const float* src, int64_t src_stride, int64_t rows, int64_t cols,
                         float* dst, int64_t dst_stride);
#endif

// The AVX2 transpose where the CPU has it (and TF_CUSTOM_OP_ISA allows it),
// else the portable one. Defined in micro_kernel_select.cc.
FloatTransposeFn SelectFloatTranspose();

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_FLOAT_TRANSPOSE_H_
