// Bulk IEEE half <-> float conversion for the row staging of float16 tensors.
// Rows are converted whole, so a vectorised converter (F16C) pays off; where
// the CPU has none the TF kernel falls back to Eigen's scalar conversion.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_HALF_CONVERT_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_HALF_CONVERT_H_

#include <cstdint>

namespace tf_custom_op {

struct HalfConverter {
  void (*to_float)(const uint16_t* src, float* dst, int64_t n);
  // Rounds to nearest even, like Eigen::half(float).
  void (*from_float)(const float* src, uint16_t* dst, int64_t n);
};

// The F16C converter when the CPU has it (and TF_CUSTOM_OP_ISA is not
// "portable"), else nullptr. Defined in micro_kernel_select.cc.
const HalfConverter* SelectHalfConverter();

#if defined(__x86_64__) || defined(_M_X64)
// half_convert_f16c.cc, compiled with -mavx2 -mf16c.
extern const HalfConverter kF16cHalfConverter;
#endif

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_HALF_CONVERT_H_
