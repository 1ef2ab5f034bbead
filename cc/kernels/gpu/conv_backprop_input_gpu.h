// Launcher of the CUDA conv2d_backprop_input kernel.
//
// This header is the whole interface between the CUDA translation unit
// (conv_backprop_input.cu.cc, compiled by nvcc, or by g++ through
// cuda_emulation.h) and its callers (the TensorFlow kernel in gpu_kernel.cc,
// the emulation test driver, the standalone GPU check's C shim). It includes
// no CUDA, TensorFlow, Eigen or absl header: pointers are raw device
// pointers, the stream is a cudaStream_t passed as void*.
#ifndef TF_CUSTOM_OP_CC_KERNELS_GPU_CONV_BACKPROP_INPUT_GPU_H_
#define TF_CUSTOM_OP_CC_KERNELS_GPU_CONV_BACKPROP_INPUT_GPU_H_

#include <cstddef>
#include <cstdint>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/op_dtypes.h"

namespace tf_custom_op {
namespace gpu {

// Element type of filter, out_backprop and the result. half and bfloat16 are
// the 16-bit IEEE / brain formats (bit-compatible with Eigen's and CUDA's).
// One enumerator per line of TF_CUSTOM_OP_DTYPES (op_dtypes.h), numbered
// from 0 in its order.
enum class GpuDtype : int {
#define TFCO_GPU_DTYPE(tf_type, attr_name, py_name, code, cuda_type, bytes) code,
  TF_CUSTOM_OP_DTYPES(TFCO_GPU_DTYPE)
#undef TFCO_GPU_DTYPE
};

// What went wrong, for the caller to choose its error class.
enum class GpuError : int {
  kOk = 0,
  kTooLarge = 1,      // a size or offset beyond the kernel's 32-bit indexing
  kBadArgument = 2,   // inconsistent parameters, unsupported dtype, workspace
                      // too small: the caller's bug, not the user's input
  kLaunchFailed = 3,  // a CUDA call failed (the message is CUDA's)
};

// A launcher's result: a code and a static message (nullptr when ok).
struct GpuStatus {
  GpuError code;
  const char* message;

  bool ok() const { return code == GpuError::kOk; }
};

// Device scratch the launcher needs (bytes, 256-byte aligned pieces): for the
// floating dtypes a flag saying the filter holds Inf or NaN
// (non_finite_guard.h), and for NCHW a NHWC copy of out_backprop plus a NHWC
// result. Zero for int32 NHWC.
size_t ConvBackpropInputWorkspaceBytes(GpuDtype dtype,
                                       const ConvProblem& params,
                                       bool nchw);

// Computes dx from filter (HWIO) and dy on `stream` (a cudaStream_t, or
// nullptr for the legacy default stream). `dy` and `dx` are in NCHW order when
// `nchw`, else NHWC; `params` is always in NHWC terms (conv_params.h).
// `workspace` must hold ConvBackpropInputWorkspaceBytes() bytes (may be null
// when that is zero). Every element of dx is written exactly once, without
// atomics: the result is deterministic.
//
// Returns kOk, kTooLarge (unsupported sizes), kBadArgument or kLaunchFailed
// (the CUDA error of a failed launch), with a static message. Kernel
// execution errors surface asynchronously on the stream, as with any CUDA
// kernel.
GpuStatus LaunchConvBackpropInput(GpuDtype dtype,
                                  const ConvProblem& params,
                                  bool nchw, const void* filter,
                                  const void* out_backprop, void* in_backprop,
                                  void* workspace, size_t workspace_bytes,
                                  void* stream);

// Fills `bytes` bytes at `ptr` with zeros on `stream` (kOk or kLaunchFailed).
GpuStatus LaunchZeroFill(void* ptr, size_t bytes, void* stream);

}  // namespace gpu
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_GPU_CONV_BACKPROP_INPUT_GPU_H_
