// The op's C++ types (half and bfloat16 as Eigen's) -> the GPU launcher's
// GpuDtype, generated from op_dtypes.h: for the callers of the launcher that
// hold typed tensors (the TF kernel, gpu/gpu_kernel.cc, and the XLA CUDA
// custom call, cc/xla/cuda_custom_call.cc). Outside cc/kernels/gpu/, whose
// files include no Eigen.
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_DTYPE_OF_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_DTYPE_OF_H_

#include <cstdint>

#include "Eigen/Core"
#include "cc/kernels/gpu/conv_backprop_input_gpu.h"
#include "cc/kernels/op_dtypes.h"

namespace tf_custom_op {
namespace gpu {

template <typename T>
struct GpuDtypeOf;
#define TFCO_GPU_DTYPE_OF(tf_type, attr_name, py_name, code, cuda_type, bytes) \
  template <>                                                                 \
  struct GpuDtypeOf<tf_type> {                                                \
    static constexpr GpuDtype value = GpuDtype::code;                         \
  };
TF_CUSTOM_OP_DTYPES(TFCO_GPU_DTYPE_OF)
#undef TFCO_GPU_DTYPE_OF

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_DTYPE_OF_H_
