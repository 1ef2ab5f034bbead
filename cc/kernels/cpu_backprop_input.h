// The CPU kernel's computation, apart from any framework: chooses the engine
// for a problem (Winograd, pixel-vector, few-channel or gather, per dtype and
// tier) and runs it on a worker pool. Its two callers hand in their own
// tensors and pool: the TensorFlow kernel (cpu_kernel.cc, TF's intra-op
// pool) and the XLA custom-call target (cc/xla/cpu_custom_call.cc, the pool
// XLA gives a handler), so the two compute the same bits.
//
// Free of TensorFlow headers; T is one of the op's dtypes (op_dtypes.h),
// half and bfloat16 as Eigen's types.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CPU_BACKPROP_INPUT_H_
#define TF_CUSTOM_OP_CC_KERNELS_CPU_BACKPROP_INPUT_H_

#include <cstdint>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/cpu/conv_algorithm.h"
#include "cc/kernels/cpu/parallel_rows.h"

namespace tf_custom_op {

// One call: a validated problem with every dimension > 0 (conv_geometry.h),
// the filter in HWIO, dy and dx in NCHW order when `nchw`, else NHWC.
template <typename T>
struct CpuCall {
  const WorkerPool& pool;
  bool nchw;
  const ConvProblem& problem;
  const T* filter;
  const T* out_backprop;
  T* in_backprop;
};

// nullptr, or why this process's settings forbid running the kernel
// (TF_CUSTOM_OP_ISA naming no tier, TF_CUSTOM_OP_ALGORITHM no algorithm): a
// graph may reach the kernel without the Python loader's check.
const char* CpuSettingsProblem();

// Computes dx; `algorithm` is the op's attribute (conv_algorithm.h).
// Instantiated for every dtype of op_dtypes.h.
template <typename T>
void BackpropInputOnCpu(const CpuCall<T>& call, ConvAlgorithm algorithm);

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CPU_BACKPROP_INPUT_H_
