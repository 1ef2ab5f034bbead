// Choices between micro-kernels that only a measurement on this CPU can make.
//
// The AVX512_BF16 kernel (VDPBF16PS on pairs of k) does twice the work per
// instruction of the float FMA kernel, and on AMD Zen 4 and 5 it runs at
// about twice its speed. On an Intel Xeon of the Sapphire Rapids class
// (AVX512_BF16 without AMX in our VMs) it ran at 178 GFLOP/s where the float
// kernel, reading the same bfloat16 rows widened to float, ran at 288
// (r50_3x3_c128, 2 threads, tf_custom_op.benchmark). Which is faster is a
// property of the core, not of the feature flags, so it is measured once per
// process on operands that stay in L1.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_KERNEL_CALIBRATION_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_KERNEL_CALIBRATION_H_

#include "cc/kernels/cpu/element_types.h"
#include "cc/kernels/cpu/micro_kernel.h"

namespace tf_custom_op {

// Whether `bf16` computes a tile faster than `float_kernel` does on this
// core (per multiply-add, best of a few timings of a few hundred
// microseconds). TF_CUSTOM_OP_BF16_PATH=native or =float decides instead.
bool Bf16KernelBeatsFloat(const MicroKernel<float, BFloat16Bits>& bf16,
                          const MicroKernel<float>& float_kernel);

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_KERNEL_CALIBRATION_H_
