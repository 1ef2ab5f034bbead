// GPU device launcher and kernel registrations.
//
// Compiled by the host compiler with TensorFlow's flags and -DGOOGLE_CUDA=1;
// includes no CUDA header (tensorflow-cpu ships none). The arithmetic lives
// in conv_backprop_input.cu.cc behind the plain launcher of
// conv_backprop_input_gpu.h; this file finds the op's CUDA stream, allocates
// the NCHW workspace and turns the launcher's error codes into TF errors.
#if GOOGLE_CUDA

#include <cstdint>
#include <string>

#include "cc/kernels/conv2d_backprop_input_kernel.h"
#include "cc/kernels/gpu/conv_backprop_input_gpu.h"
#include "cc/kernels/gpu_dtype_of.h"
#include "tensorflow/core/framework/device_base.h"
#include "tensorflow/core/framework/register_types.h"
#include "tensorflow/core/framework/types.h"
#include "xla/stream_executor/stream.h"

namespace tf_custom_op {
namespace {

using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using GPUDevice = Eigen::GpuDevice;

// The op's cudaStream_t, or nullptr with an error set on ctx.
void* OpStream(OpKernelContext* ctx) {
  tensorflow::DeviceContext* device_context = ctx->op_device_context();
  stream_executor::Stream* stream =
      device_context != nullptr ? device_context->stream() : nullptr;
  void* handle =
      stream != nullptr ? stream->platform_specific_handle().stream : nullptr;
  if (handle == nullptr) {
    ctx->SetStatus(absl::InternalError(
        "Conv2DBackpropInput (GPU): no CUDA stream for this op"));
  }
  return handle;
}

// The TF error of a failed launcher call. Unsupported sizes are the caller's
// problem; anything else (a failed launch, a parameter the TF side should
// never pass) is internal.
absl::Status ToTfStatus(const gpu::GpuStatus& status) {
  const std::string message =
      absl::StrCat("Conv2DBackpropInput (GPU): ", status.message);
  return status.code == gpu::GpuError::kTooLarge
             ? absl::InvalidArgumentError(message)
             : absl::InternalError(message);
}

}  // namespace

template <typename T>
struct BackpropInputLauncher<GPUDevice, T> {
  static void Run(OpKernelContext* ctx, const ConvAttrs& attrs,
                  const ConvProblem& params, const Tensor& filter,
                  const Tensor& out_backprop, Tensor* in_backprop) {
    void* stream = OpStream(ctx);
    if (stream == nullptr) return;
    const bool nchw = attrs.data_format == tensorflow::FORMAT_NCHW;
    constexpr gpu::GpuDtype dtype = gpu::GpuDtypeOf<T>::value;
    const size_t workspace_bytes =
        gpu::ConvBackpropInputWorkspaceBytes(dtype, params, nchw);
    Tensor workspace;
    void* workspace_ptr = nullptr;
    if (workspace_bytes > 0) {
      OP_REQUIRES_OK(
          ctx, ctx->allocate_temp(
                   tensorflow::DT_UINT8,
                   tensorflow::TensorShape(
                       {static_cast<int64_t>(workspace_bytes)}),
                   &workspace));
      workspace_ptr = workspace.flat<uint8_t>().data();
    }
    const gpu::GpuStatus status = gpu::LaunchConvBackpropInput(
        dtype, params, nchw, filter.flat<T>().data(),
        out_backprop.flat<T>().data(), in_backprop->flat<T>().data(),
        workspace_ptr, workspace_bytes, stream);
    if (!status.ok()) ctx->SetStatus(ToTfStatus(status));
  }

  static void SetZero(OpKernelContext* ctx, Tensor* in_backprop) {
    void* stream = OpStream(ctx);
    if (stream == nullptr) return;
    const gpu::GpuStatus status = gpu::LaunchZeroFill(
        in_backprop->flat<T>().data(), in_backprop->NumElements() * sizeof(T),
        stream);
    if (!status.ok()) ctx->SetStatus(ToTfStatus(status));
  }
};

#define TF_CUSTOM_OP_REGISTER_GPU(T)                              \
  REGISTER_KERNEL_BUILDER(Name("TfCustomOp>Conv2DBackpropInput")  \
                              .Device(tensorflow::DEVICE_GPU)     \
                              .TypeConstraint<T>("T")             \
                              .HostMemory("input_sizes"),         \
                          Conv2DBackpropInputKernel<GPUDevice, T>)

#define TFCO_REGISTER_GPU_DTYPE(tf_type, attr_name, py_name, code, cuda_type, bytes) \
  TF_CUSTOM_OP_REGISTER_GPU(tf_type);
TF_CUSTOM_OP_DTYPES(TFCO_REGISTER_GPU_DTYPE)
#undef TFCO_REGISTER_GPU_DTYPE

#undef TF_CUSTOM_OP_REGISTER_GPU

}  // namespace tf_custom_op

#endif  // GOOGLE_CUDA
