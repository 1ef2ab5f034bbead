// The OpKernel of TfCustomOp>Conv2DBackpropInput, shared by every device:
// attribute checks, shape validation, allocation and the empty/zero cases.
// The arithmetic is delegated to BackpropInputLauncher<Device, T>.
#ifndef TF_CUSTOM_OP_CC_KERNELS_CONV2D_BACKPROP_INPUT_KERNEL_H_
#define TF_CUSTOM_OP_CC_KERNELS_CONV2D_BACKPROP_INPUT_KERNEL_H_

#include <unistd.h>

#include <cstdint>
#include <string>

#include "cc/kernels/conv_geometry.h"
#include "cc/kernels/conv_params.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/tensor.h"

namespace tf_custom_op {

// Specialised per device (in cpu_kernel.cc and gpu/gpu_kernel.cc). Called
// only for validated problems with every dimension > 0.
template <typename Device, typename T>
struct BackpropInputLauncher {
  static void Run(tensorflow::OpKernelContext* ctx, const ConvAttrs& attrs,
                  const ConvProblem& params,
                  const tensorflow::Tensor& filter,
                  const tensorflow::Tensor& out_backprop,
                  tensorflow::Tensor* in_backprop);
  // Fills `in_backprop` with zeros (empty out_backprop, zero-sized filter).
  static void SetZero(tensorflow::OpKernelContext* ctx,
                      tensorflow::Tensor* in_backprop);
};

// Physical memory of the host: an output larger than this cannot be
// materialised, and with overcommit a huge allocation could "succeed" and then
// kill the process when touched. Refuse it up front.
inline int64_t HostMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return INT64_MAX;
  return static_cast<int64_t>(pages) * page_size;
}

// ResourceExhausted where dx, of `element_bytes` per element, would not fit
// in the host's memory (or its size overflows int64).
inline absl::Status CheckOutputFitsMemory(const tensorflow::TensorShape& dx_shape,
                                          int64_t element_bytes) {
  const int64_t elements = dx_shape.num_elements();
  const bool overflows = elements > INT64_MAX / element_bytes;
  const int64_t bytes = overflows ? INT64_MAX : elements * element_bytes;
  if (!overflows && bytes <= HostMemoryBytes()) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "OOM when allocating tensor with shape ", dx_shape.DebugString(),
      ": the output of Conv2DBackpropInput would need ",
      overflows ? std::string("more than 2^63") : std::to_string(bytes),
      " bytes, more than this machine's memory"));
}

template <typename Device, typename T>
class Conv2DBackpropInputKernel : public tensorflow::OpKernel {
 public:
  explicit Conv2DBackpropInputKernel(tensorflow::OpKernelConstruction* ctx)
      : OpKernel(ctx) {
    OP_REQUIRES_OK(ctx, ParseConvAttrs(ctx, &attrs_));
  }

  void Compute(tensorflow::OpKernelContext* ctx) override {
    const tensorflow::Tensor& input_sizes = ctx->input(0);
    const tensorflow::Tensor& filter = ctx->input(1);
    const tensorflow::Tensor& out_backprop = ctx->input(2);

    tensorflow::TensorShape dx_shape;
    ConvProblem params;
    OP_REQUIRES_OK(ctx, ComputeBackpropInputGeometry(
                            attrs_, input_sizes, filter.shape(),
                            out_backprop.shape(), &dx_shape, &params));

    OP_REQUIRES_OK(ctx, CheckOutputFitsMemory(dx_shape, sizeof(T)));

    tensorflow::Tensor* dx = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(0, dx_shape, &dx));
    if (dx_shape.num_elements() == 0) return;
    if (out_backprop.NumElements() == 0 || filter.NumElements() == 0) {
      BackpropInputLauncher<Device, T>::SetZero(ctx, dx);
      return;
    }
    BackpropInputLauncher<Device, T>::Run(ctx, attrs_, params, filter,
                                          out_backprop, dx);
  }

 private:
  ConvAttrs attrs_;
};

}  // namespace tf_custom_op

#endif  // TF_CUSTOM_OP_CC_KERNELS_CONV2D_BACKPROP_INPUT_KERNEL_H_
