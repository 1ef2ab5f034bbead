// CPU device launcher and kernel registrations: the TF side of
// cpu_backprop_input.h, with TF's intra-op pool as the engine's workers.
#include <algorithm>
#include <cstring>

#include "cc/kernels/conv2d_backprop_input_kernel.h"
#include "cc/kernels/cpu_backprop_input.h"
#include "cc/kernels/op_dtypes.h"
#include "tensorflow/core/framework/register_types.h"
#include "tensorflow/core/framework/types.h"

namespace tf_custom_op {
namespace {

using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using CPUDevice = Eigen::ThreadPoolDevice;

// TF's intra-op pool as the engine's WorkerPool (parallel_rows.h).
WorkerPool PoolOf(OpKernelContext* ctx) {
  const auto* workers = ctx->device()->tensorflow_cpu_worker_threads();
  WorkerPool pool;
  pool.threads = std::max(1, workers->num_threads);
  pool.schedule = [workers](std::function<void()> task) { workers->workers->Schedule(std::move(task)); };
  return pool;
}

}  // namespace

template <typename T>
struct BackpropInputLauncher<CPUDevice, T> {
  static void Run(OpKernelContext* ctx, const ConvAttrs& attrs,
                  const ConvProblem& params, const Tensor& filter,
                  const Tensor& out_backprop, Tensor* in_backprop) {
    if (const char* problem = CpuSettingsProblem()) {
      ctx->CtxFailure(__FILE__, __LINE__, absl::InvalidArgumentError(problem));
      return;
    }
    const WorkerPool pool = PoolOf(ctx);
    const CpuCall<T> call{pool, attrs.data_format == tensorflow::FORMAT_NCHW, params,
                          filter.flat<T>().data(), out_backprop.flat<T>().data(),
                          in_backprop->flat<T>().data()};
    BackpropInputOnCpu<T>(call, attrs.algorithm);
  }
  static void SetZero(OpKernelContext* /*ctx*/, Tensor* in_backprop) {
    std::memset(static_cast<void*>(in_backprop->flat<T>().data()), 0,
                in_backprop->NumElements() * sizeof(T));
  }
};

#define TF_CUSTOM_OP_REGISTER_CPU(T)                               \
  REGISTER_KERNEL_BUILDER(Name("TfCustomOp>Conv2DBackpropInput")   \
                              .Device(tensorflow::DEVICE_CPU)      \
                              .TypeConstraint<T>("T"),             \
                          Conv2DBackpropInputKernel<CPUDevice, T>)

#define TFCO_REGISTER_CPU_DTYPE(tf_type, attr_name, py_name, code, cuda_type, bytes) \
  TF_CUSTOM_OP_REGISTER_CPU(tf_type);
TF_CUSTOM_OP_DTYPES(TFCO_REGISTER_CPU_DTYPE)
#undef TFCO_REGISTER_CPU_DTYPE

#undef TF_CUSTOM_OP_REGISTER_CPU

}  // namespace tf_custom_op
