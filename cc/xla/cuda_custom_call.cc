// The XLA custom-call target for CUDA: XLA's device buffers, its stream and
// scratch allocator handed to the GPU launcher (conv_backprop_input_gpu.h),
// as the TF kernel (gpu/gpu_kernel.cc) hands it TF's; and the op's XLA
// kernel registered for the XLA GPU device. Built with the CUDA kernel only
// (op_build.py, Bazel), compiled by the host compiler: no CUDA header is
// needed.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "cc/kernels/conv_params.h"
#include "cc/kernels/gpu/conv_backprop_input_gpu.h"
#include "cc/kernels/gpu_dtype_of.h"
#include "cc/xla/custom_call_buffers.h"
#include "cc/xla/custom_call_contract.h"
#include "cc/xla/xla_ffi_api.h"
#include "cc/xla/xla_kernel_registration.h"
#include "xla/ffi/api/ffi.h"

namespace tf_custom_op {
namespace xla_lowering {
namespace {

namespace ffi = ::xla::ffi;

ffi::Error Compute(void* stream, ffi::ScratchAllocator scratch, ffi::AnyBuffer filter,
                   ffi::AnyBuffer out_backprop, ffi::Result<ffi::AnyBuffer> in_backprop,
                   ffi::Span<const int64_t> fields, int64_t nchw, int64_t algorithm) {
  ConvProblem p;
  if (ffi::Error error = CheckCall(filter, out_backprop, *in_backprop, fields, algorithm, &p);
      error.failure()) {
    return error;
  }
  gpu::GpuDtype dtype = gpu::GpuDtype::kFloat;
  if (!VisitOpDtype(filter.element_type(),
                    [&](auto tag) { dtype = gpu::GpuDtypeOf<decltype(tag)>::value; })) {
    return InvalidCall("tf_custom_op: unsupported element type in the custom call");
  }
  const size_t workspace_bytes = gpu::ConvBackpropInputWorkspaceBytes(dtype, p, nchw != 0);
  void* workspace = nullptr;
  if (workspace_bytes > 0) {
    // The launcher wants 256-byte aligned pieces.
    const std::optional<void*> allocated = scratch.Allocate(workspace_bytes, 256);
    if (!allocated.has_value()) {
      return ffi::Error(ffi::ErrorCode::kResourceExhausted,
                        "tf_custom_op: could not allocate the GPU workspace");
    }
    workspace = *allocated;
  }
  // The launcher also zero-fills dx where dy or the filter is empty.
  const gpu::GpuStatus status = gpu::LaunchConvBackpropInput(
      dtype, p, nchw != 0, filter.untyped_data(), out_backprop.untyped_data(),
      in_backprop->untyped_data(), workspace, workspace_bytes, stream);
  if (status.ok()) return ffi::Error::Success();
  // As the TF kernel: unsupported sizes are the caller's, the rest internal.
  return ffi::Error(status.code == gpu::GpuError::kTooLarge ? ffi::ErrorCode::kInvalidArgument
                                                            : ffi::ErrorCode::kInternal,
                    std::string("Conv2DBackpropInput (GPU): ") + status.message);
}

}  // namespace

XLA_FFI_DEFINE_HANDLER(kCudaHandler, Compute,
                       BindConvCall(ffi::Ffi::Bind()
                                        .Ctx<ffi::PlatformStream<void*>>()
                                        .Ctx<ffi::ScratchAllocator>()));

XLA_FFI_REGISTER_HANDLER(XlaFfiApi(), kCudaTarget, "CUDA", kCudaHandler);

namespace {
const bool kGpuKernelRegistered = RegisterXlaKernel(XlaDevice::kGpu);
}  // namespace

}  // namespace xla_lowering
}  // namespace tf_custom_op
