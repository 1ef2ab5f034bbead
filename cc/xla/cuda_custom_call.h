// The CUDA custom call's work apart from XLA's FFI: what it launches for a
// problem, given device pointers, a workspace and a stream. Free of TF, XLA
// and CUDA headers, so that the GPU emulation test
// (tests/gpu_emulation/emulation_test.cc) runs it on every case, as the XLA
// handler (cuda_custom_call.cc) does on a GPU.
#ifndef TF_CUSTOM_OP_CC_XLA_CUDA_CUSTOM_CALL_H_
#define TF_CUSTOM_OP_CC_XLA_CUDA_CUSTOM_CALL_H_

#include <cstddef>
#include <cstdint>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/gpu/conv_backprop_input_gpu.h"

namespace tf_custom_op {
namespace xla_lowering {

// Whether the custom call has products to sum (else dx is all zeros).
inline bool CustomCallComputes(const ConvProblem& p) {
  return p.batch * p.out_rows * p.out_cols * p.out_depth > 0 &&
         p.filter_rows * p.filter_cols * p.filter_depth * p.out_depth > 0;
}

// Workspace bytes the call needs (none where it only zero-fills dx).
inline size_t CustomCallWorkspaceBytes(gpu::GpuDtype dtype, const ConvProblem& p, bool nchw) {
  return CustomCallComputes(p) ? gpu::ConvBackpropInputWorkspaceBytes(dtype, p, nchw) : 0;
}

// Computes dx (`dx_bytes` long) on `stream`, as the TF kernel does: zeros
// where there is nothing to sum, else the launcher. `workspace` holds
// CustomCallWorkspaceBytes() bytes.
inline gpu::GpuStatus LaunchForCustomCall(gpu::GpuDtype dtype, const ConvProblem& p, bool nchw,
                                          const void* filter, const void* dy, void* dx,
                                          size_t dx_bytes, void* workspace,
                                          size_t workspace_bytes, void* stream) {
  if (dx_bytes == 0) return gpu::GpuStatus{gpu::GpuError::kOk, nullptr};
  if (!CustomCallComputes(p)) return gpu::LaunchZeroFill(dx, dx_bytes, stream);
  return gpu::LaunchConvBackpropInput(dtype, p, nchw, filter, dy, dx, workspace,
                                      workspace_bytes, stream);
}

}  // namespace xla_lowering
}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_XLA_CUDA_CUSTOM_CALL_H_
